"""Panel queries of a Grafana dashboard, with their variables substituted, ready for Prometheus.

    from queries import panel_queries           # (tests load it with tests/dashboards_support.py)
    for q in panel_queries(json.load(f), rate_interval="1m"):
        GET {prometheus}/api/v1/query?query={q.expr}

Grafana substitutes variables before it sends a query; this does the same for a test that
sends every panel query to a live Prometheus:
- built-ins: ``$__rate_interval``, ``$__interval``, ``$__interval_ms``, ``$__range``,
  ``$__range_s``, ``$__range_ms`` (values given by the caller);
- template variables in every syntax (``$var``, ``${var}``, ``${var:format}``, ``[[var]]``):
  a value given by the caller (a string, or a list for a multi-value variable: ``(a|b)``),
  else the variable's "All" value (``allValue``, ``.*`` when unset) when it has one, else its
  current value; a variable the dashboard does not define raises ``KeyError``.
Values of multi-value / All variables are regex-escaped like Grafana's Prometheus data source
does, except the All value itself. Stdlib only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_VAR = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]|\$(\w+)")
_REGEX_META = re.compile(r"([\^$.|?*+()\[\]{}'])")

Value = str | Sequence[str]


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str  # dashboard uid
    panel_id: int
    panel: str  # panel title
    ref_id: str
    expr: str  # with every variable substituted
    raw: str  # as written in the dashboard

    def __str__(self) -> str:
        return f"{self.dashboard} #{self.panel_id} {self.panel!r} {self.ref_id}: {self.expr}"


def iter_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, the nested panels of (collapsed) rows included."""
    for p in panels:
        yield p
        yield from iter_panels(p.get("panels", []))


def _duration_seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", text)
    if not m:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}[m.group(2)]
    return float(m.group(1)) * mult


def _builtins(interval: str, rate_interval: str, range_: str) -> dict[str, str]:
    rng = _duration_seconds(range_)
    return {
        "__rate_interval": rate_interval, "__interval": interval,
        "__interval_ms": str(int(_duration_seconds(interval) * 1000)),
        "__rate_interval_ms": str(int(_duration_seconds(rate_interval) * 1000)),
        "__range": range_, "__range_s": str(int(rng)), "__range_ms": str(int(rng * 1000)),
    }


def _escape(v: str) -> str:
    """Regex-escape inside a PromQL double-quoted string, as Grafana does: ``a.b`` -> ``a\\\\.b``."""
    return _REGEX_META.sub(lambda m: "\\\\" + m.group(1), v.replace("\\", "\\\\\\\\"))


def _current(var: dict[str, Any]) -> list[str]:
    cur = (var.get("current") or {}).get("value")
    if cur is None and var.get("type") in ("constant", "textbox"):
        cur = var.get("query")
    if cur is None:
        return []
    return [str(v) for v in cur] if isinstance(cur, list) else [str(cur)]


def variable_values(dashboard: dict[str, Any], values: Mapping[str, Value] | None = None) -> dict[str, str]:
    """Each template variable of the dashboard -> the text that replaces it (datasource excluded)."""
    values = values or {}
    out: dict[str, str] = {}
    for var in dashboard.get("templating", {}).get("list", []):
        name = var["name"]
        if var.get("type") == "datasource":
            continue
        multi = bool(var.get("multi") or var.get("includeAll"))
        all_value = var.get("allValue") or ".*"
        given = values.get(name)
        if given is not None:
            vals = [given] if isinstance(given, str) else list(given)
        elif var.get("includeAll"):
            out[name] = all_value
            continue
        else:
            vals = _current(var)
            if vals in ([], ["$__all"]):
                raise KeyError(f"{dashboard.get('uid')}: variable {name!r} has no value; pass one")
        if vals == ["$__all"] or (var.get("includeAll") and vals == [all_value]):
            out[name] = all_value
        elif multi:
            escaped = [_escape(v) for v in vals]
            out[name] = escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        else:
            out[name] = vals[0] if vals else ""
    return out


def substitute(expr: str, variables: Mapping[str, str], *, interval: str = "1m", rate_interval: str = "1m",
               range_: str = "1h") -> str:
    """``expr`` with built-ins and the given variables replaced; unknown variables raise KeyError."""
    table = {**_builtins(interval, rate_interval, range_), **variables}

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3) or m.group(5)
        if name not in table:
            raise KeyError(f"unknown variable ${name} in {expr!r}")
        return table[name]

    return _VAR.sub(repl, expr)


def panel_queries(dashboard: dict[str, Any], values: Mapping[str, Value] | None = None, *,
                  interval: str = "1m", rate_interval: str = "1m", range_: str = "1h") -> list[PanelQuery]:
    """Every (not hidden) panel query of ``dashboard``, substituted. ``values`` picks variable values:
    by default every multi/All variable matches all (``.*``)."""
    variables = variable_values(dashboard, values)
    uid = str(dashboard.get("uid", ""))
    out: list[PanelQuery] = []
    for p in iter_panels(dashboard.get("panels", [])):
        for t in p.get("targets", []):
            if t.get("hide") or not t.get("expr"):
                continue
            out.append(PanelQuery(uid, int(p.get("id", 0)), str(p.get("title", "")), str(t.get("refId", "")),
                                  substitute(t["expr"], variables, interval=interval,
                                             rate_interval=rate_interval, range_=range_), t["expr"]))
    return out
