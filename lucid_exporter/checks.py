"""The Lucid status checks: the pure functions that turn a JSON reply into samples, and the merge of
the shipped checks (catalogue/checks/<profile>.yaml) with the config's ``checks:`` overrides.

A check is one read-only HTTP request to one service and a list of extractions, each turning one
field of the reply into one metric. Field paths are JMESPath expressions (https://jmespath.org), the
documented path language json_exporter-style exporters use: ``block_header.raw_data.timestamp``,
``scores[0].score``, ``length(values(active_pipelines))``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import jmespath
import jmespath.exceptions
import jmespath.parser

from . import catalogue
from .catalogue.models import CheckSpec, Extraction
from .metrics import Sample

if TYPE_CHECKING:
    from .config import CheckConfig

Check = CheckSpec

# Strings read as true by the ``bool`` aggregation (case-insensitive); anything else is false.
TRUTHY = frozenset({"true", "yes", "ok", "up", "healthy", "connected", "active", "enabled", "running", "pass",
                    "passed", "success", "valid", "1", "synced", "online", "operational"})


class ShapeError(ValueError):
    """The reply does not have the shape the check expects (reason ``parse``)."""


# -- extraction (pure) ------------------------------------------------------------------------
@lru_cache(maxsize=1024)
def compile_path(path: str) -> jmespath.parser.ParsedResult:
    """A JMESPath expression, compiled once; ValueError with the parser's message when malformed."""
    try:
        return jmespath.compile(path)
    except jmespath.exceptions.JMESPathError as e:
        raise ValueError(f"{path!r} is not a JMESPath expression: {e}") from None


def get_path(data: Any, path: str) -> Any:
    """The value at a JMESPath; ShapeError when it is not there (JMESPath's null)."""
    if not path:
        return data
    try:
        value = compile_path(path).search(data)
    except jmespath.exceptions.JMESPathError as e:  # a function applied to the wrong type
        raise ShapeError(f"field {path!r}: {e}") from None
    if value is None:
        raise ShapeError(f"field {path!r} missing")
    return value


def to_number(v: Any, where: str) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            raise ShapeError(f"{where}: not a finite number")
        return f
    if isinstance(v, str):
        try:
            return to_number(float(v.strip()), where)
        except ValueError:
            pass
    raise ShapeError(f"{where}: expected a number, got {type(v).__name__}")


def to_bool(v: Any) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return 1.0 if v else 0.0
    if isinstance(v, str):
        return 1.0 if v.strip().lower() in TRUTHY else 0.0
    return 0.0


def to_timestamp(v: Any, where: str) -> float:
    """ISO-8601 (``Z`` or offset; naive means UTC) or Unix time in s, ms or µs -> Unix seconds."""
    if isinstance(v, str):
        s = v.strip()
        try:
            return to_timestamp(float(s), where)
        except (ValueError, ShapeError):
            pass
        try:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ShapeError(f"{where}: not an ISO-8601 time or a Unix timestamp") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ShapeError(f"{where}: expected a time, got {type(v).__name__}")
    f = float(v)
    if f > 1e14:  # microseconds
        return f / 1e6
    if f > 1e11:  # milliseconds (TronGrid block timestamps)
        return f / 1e3
    return f


def _items(data: Any, ex: Extraction) -> list[Any]:
    """The items of a list, or the values of an object (e.g. a map keyed by session id)."""
    value = get_path(data, ex.field)
    if isinstance(value, dict):
        return list(value.values())
    if not isinstance(value, list):
        raise ShapeError(f"field {ex.field or '(root)'!r}: expected a list or an object, got {type(value).__name__}")
    return value


def _item_value(it: Any, ex: Extraction) -> Any:
    return get_path(it, ex.item)


def _label(ex: Extraction, raw: Any) -> str:
    s = str(raw) if not isinstance(raw, bool) else str(raw).lower()
    return ex.map.get(s, s)


def extract(ex: Extraction, data: Any, *, default_cap: int = 50, wallets: Iterable[str] = ()) -> list[Sample]:
    """Samples of one extraction; ShapeError on a reply of the wrong shape."""
    help_ = ex.help
    base = dict(ex.labels)

    def s(value: float, **extra: str) -> Sample:
        return Sample(ex.metric, value * ex.scale if ex.agg not in ("bool", "timestamp") else value,
                      {**base, **extra}, help_, ex.type)

    where = f"field {ex.field or '(root)'!r}"
    if ex.agg == "value":
        return [s(to_number(get_path(data, ex.field), where))]
    if ex.agg == "bool":
        return [s(to_bool(get_path(data, ex.field)))]
    if ex.agg == "timestamp":
        return [s(to_timestamp(get_path(data, ex.field), where))]
    if ex.agg == "len":
        value = get_path(data, ex.field)
        if not isinstance(value, list | dict):
            raise ShapeError(f"{where}: expected a list or an object, got {type(value).__name__}")
        return [s(len(value))]
    if ex.agg == "map":
        value = get_path(data, ex.field)
        if not isinstance(value, dict):
            raise ShapeError(f"{where}: expected an object, got {type(value).__name__}")
        counts = {v: 0.0 for v in ex.values}
        for k, v in value.items():
            counts[_label(ex, k)] = counts.get(_label(ex, k), 0.0) + to_number(v, f"{where}.{k}")
        return [s(v, **{ex.label: k}) for k, v in counts.items()]
    items = _items(data, ex)
    if ex.agg == "count_by":
        counts = {v: 0.0 for v in ex.values}
        for it in items:
            k = _label(ex, get_path(it, ex.by))
            counts[k] = counts.get(k, 0.0) + 1
        return [s(v, **{ex.label: k}) for k, v in counts.items()]
    if ex.agg == "per_item":
        allowed = set(wallets) if ex.only == "wallets" else None
        pairs: list[tuple[float, str]] = []
        for it in items:
            key = _label(ex, get_path(it, ex.by))
            if allowed is not None and key not in allowed:
                continue
            pairs.append((to_number(_item_value(it, ex), f"{where} item {ex.item!r}"), key))
        pairs.sort(key=lambda p: (-p[0], p[1]))
        cap = ex.cap if ex.cap is not None else default_cap
        kept = [s(v, **{ex.label: k}) for v, k in pairs[:cap]]
        if allowed is not None:  # the operator's own list (wallets) is bounded already
            return kept
        # Per-item series are capped (highest first); how many were left out is itself a series,
        # so that a cap hit is visible rather than silent.
        return [*kept, Sample(f"{ex.metric}_omitted_series", float(max(0, len(pairs) - cap)), dict(ex.labels),
                              f"Items past the series cap of {ex.metric} (not exposed per {ex.label})")]
    numbers = [to_number(_item_value(it, ex), f"{where} item {ex.item!r}") for it in items]
    if not numbers:
        return [] if ex.agg != "sum" else [s(0.0)]
    if ex.agg == "min":
        return [s(min(numbers))]
    if ex.agg == "max":
        return [s(max(numbers))]
    if ex.agg == "sum":
        return [s(sum(numbers))]
    if ex.agg == "avg":
        return [s(sum(numbers) / len(numbers))]
    raise ShapeError(f"unknown aggregation {ex.agg!r}")


def extract_all(check: Check, data: Any, *, default_cap: int = 50,
                wallets: Iterable[str] = ()) -> tuple[list[Sample], list[str]]:
    """All extractions of a check: (samples, problems). A missing optional field is no problem."""
    samples: list[Sample] = []
    problems: list[str] = []
    wallets = tuple(wallets)
    for ex in check.metrics:
        try:
            samples.extend(extract(ex, data, default_cap=default_cap, wallets=wallets))
        except ShapeError as e:
            if not ex.optional:
                problems.append(f"{ex.metric}: {e}")
    return samples, problems


# -- the shipped checks and the config merge -------------------------------------------------------
@cache
def profile_checks(profile: str = "guide") -> tuple[Check, ...]:
    """The checks shipped for an API profile (catalogue/checks/<profile>.yaml)."""
    data = catalogue.read(f"checks/{profile}.yaml")
    return tuple(CheckSpec.model_validate(row) for row in data["checks"])


def path_problems(check: Check) -> list[str]:
    """JMESPath expressions of a check that do not compile."""
    out = []
    for e in check.metrics:
        for p in (e.field, e.item, e.by):
            if p:
                try:
                    compile_path(p)
                except ValueError as err:
                    out.append(f"metric {e.metric!r}: {err}")
    return out


def merge(defaults: Sequence[Check], overrides: Mapping[str, CheckConfig]) -> tuple[list[Check], list[str]]:
    """Defaults with the config's ``checks:`` applied: (checks, problems). Disabled checks are dropped."""
    by_name = {c.name: c for c in defaults}
    problems: list[str] = []
    for name, o in overrides.items():
        base = by_name.get(name)
        if base is None:
            if not o.enabled:
                continue
            if not o.service or not (o.path or o.url):
                problems.append(f"checks.{name}: a new check needs `service` and `path` (or `url`)")
                continue
            base = Check(name=name, service=o.service, path=o.path or "/")
        if not o.enabled:
            by_name.pop(name, None)
            continue
        extractions = list(base.metrics)
        if o.metrics is not None:
            extractions = list(o.metrics)
        if o.fields:
            known = {e.metric for e in extractions}
            for metric in o.fields:
                if metric not in known:
                    problems.append(f"checks.{name}.fields.{metric}: the check has no such metric")
            extractions = [e.model_copy(update={"field": o.fields.get(e.metric, e.field)}) for e in extractions]
        if o.items:
            extractions = [e.model_copy(update={"item": o.items.get(e.metric, e.item)}) for e in extractions]
        merged = base.model_copy(update={
            "service": o.service or base.service,
            "path": o.path if o.path is not None else base.path,
            "url": o.url.public if o.url is not None else base.url,
            "method": o.method or base.method,
            "headers": {**base.headers, **{k: v.get_secret_value() for k, v in o.headers.items()}},
            "auth": o.auth or base.auth,
            "ok_metric": o.ok_metric if o.ok_metric is not None else base.ok_metric,
            "metrics": extractions,
        })
        problems.extend(f"checks.{name}: {p}" for p in path_problems(merged))
        by_name[name] = merged
    return list(by_name.values()), problems
