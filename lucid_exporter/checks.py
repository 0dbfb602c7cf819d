"""The Lucid status checks: the pure functions that turn a JSON reply into samples, and the merge of
the shipped checks (catalogue/checks/<profile>.yaml) with the config's ``checks:`` overrides.

A check is one read-only HTTP request to one service and a list of extractions, each turning one
field of the reply into one metric. Field paths are JMESPath expressions (https://jmespath.org), the
documented path language json_exporter-style exporters use: ``block_header.raw_data.timestamp``,
``scores[0].score``, ``length(values(active_pipelines))``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
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


# A timestamp is accepted only as a plausible Unix time: from 2001-09-09T01:46:40Z (1e9 s) to one day
# after the exporter's own clock. Below: a monotonic or uptime clock (an event loop's time() is seconds
# since boot, which would need 31 years of uptime to reach 1e9), a 0 for "never", a duration; read as
# Unix time they would be a date in 1970 and every staleness alert would fire on a healthy service.
# The bound is fixed rather than "now minus N years" so that a genuinely old time (a backup, a stalled
# chain) stays a time and its staleness alert still sees it. Above: a unit error (nanoseconds, or
# milliseconds beyond what the s/ms/µs guess accepts); a day of margin covers clock skew and a naive
# local time read as UTC (at most 14 hours off).
PLAUSIBLE_SINCE = 1_000_000_000.0
PLAUSIBLE_AHEAD_SECONDS = 86_400.0


def _epoch(v: float) -> float:
    if v > 1e14:  # microseconds
        return v / 1e6
    if v > 1e11:  # milliseconds (TronGrid block timestamps)
        return v / 1e3
    return v


def _plausible(seconds: float, raw: Any, where: str, now: float | None) -> float:
    if seconds < PLAUSIBLE_SINCE:
        raise ShapeError(f"{where}: {str(raw)[:40]!r} is not a Unix time (before 2001-09-09: a monotonic or "
                         "uptime clock, or a duration?)")
    limit = (time.time() if now is None else now) + PLAUSIBLE_AHEAD_SECONDS
    if seconds > limit:
        raise ShapeError(f"{where}: {str(raw)[:40]!r} is more than a day in the future (a unit error?)")
    return seconds


def to_timestamp(v: Any, where: str, now: float | None = None) -> float:
    """ISO-8601 (``Z`` or offset; naive means UTC) or Unix time in s, ms or µs -> Unix seconds.

    ShapeError unless the result is a plausible Unix time (PLAUSIBLE_SINCE to a day after ``now``,
    default the exporter's clock): an event loop's monotonic time is a reply of the wrong shape,
    never a date in 1970.
    """
    if isinstance(v, str):
        s = v.strip()
        try:
            number = float(s)
        except ValueError:
            pass
        else:
            if not math.isfinite(number):
                raise ShapeError(f"{where}: not a finite number")
            return _plausible(_epoch(number), v, where, now)
        try:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ShapeError(f"{where}: not an ISO-8601 time or a Unix timestamp") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return _plausible(dt.timestamp(), v, where, now)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ShapeError(f"{where}: expected a time, got {type(v).__name__}")
    if not math.isfinite(float(v)):
        raise ShapeError(f"{where}: not a finite number")
    return _plausible(_epoch(float(v)), v, where, now)


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


def extract(ex: Extraction, data: Any, *, default_cap: int = 50, wallets: Iterable[str] = (),
            now: float | None = None) -> list[Sample]:
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
        return [s(to_timestamp(get_path(data, ex.field), where, now))]
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


def extract_all(check: Check, data: Any, *, default_cap: int = 50, wallets: Iterable[str] = (),
                now: float | None = None) -> tuple[list[Sample], list[str]]:
    """All extractions of a check: (samples, problems). A missing optional field is no problem."""
    samples: list[Sample] = []
    problems: list[str] = []
    wallets = tuple(wallets)
    for ex in check.metrics:
        try:
            samples.extend(extract(ex, data, default_cap=default_cap, wallets=wallets, now=now))
        except ShapeError as e:
            if not ex.optional:
                problems.append(f"{ex.metric}: {e}")
    return samples, problems


# -- the shipped checks and the config merge -------------------------------------------------------
def profile_checks(profile: str = "guide") -> tuple[Check, ...]:
    """The checks shipped for an API profile (catalogue/checks/<profile>.yaml), the unavailable
    rows included (they are not run; ``runnable`` in probes/status.py skips them)."""
    return tuple(catalogue.profile(profile).checks)


# The metrics a check of a special kind writes besides its extractions.
KIND_METRICS: dict[str, tuple[str, ...]] = {
    "rate_limit": ("lucid_gateway_rate_limit_headers_present", "lucid_gateway_rate_limit_limit",
                   "lucid_gateway_rate_limit_remaining", "lucid_gateway_rate_limited",
                   "lucid_gateway_rate_limit_enforced"),
    "cors": ("lucid_gateway_cors_preflight_ok",),
    "auth_verify": ("lucid_auth_token_verify_ok", "lucid_auth_probe_token_expiry_timestamp_seconds"),
}
STARTUP_LOG_METRICS = ("lucid_gateway_rate_limiter_enabled", "lucid_gateway_rate_limiter_requests_per_minute")
LOCAL_TOKEN_METRICS = ("lucid_auth_probe_token_expiry_timestamp_seconds",)


def check_metrics(check: Check) -> set[str]:
    """Every metric name a check writes when it runs; for an unavailable check, what it still writes
    (the monitoring token's expiry is read locally even when no service verifies it)."""
    if check.unavailable:
        return set(LOCAL_TOKEN_METRICS) if check.kind == "auth_verify" else set()
    out = {e.metric for e in check.metrics}
    out |= {f"{e.metric}_omitted_series" for e in check.metrics if e.agg == "per_item" and e.only != "wallets"}
    out |= set(KIND_METRICS.get(check.kind, ()))
    if check.startup_log:
        out |= set(STARTUP_LOG_METRICS)
    if check.ok_metric:
        out.add(check.ok_metric)
    return out


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
        remapped = o.path is not None or o.url is not None
        if base.unavailable and not remapped:
            if o.model_fields_set - {"enabled"}:
                problems.append(f"checks.{name}: the profile has no endpoint for it ({base.unavailable}); "
                                "give `path` (and `metrics`) if this deployment has one")
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
            # A remap gives an unavailable check the endpoint this deployment has: it runs again.
            "unavailable": "",
            "replaced_by": [],
            "service": o.service or base.service,
            "path": o.path if o.path is not None else base.path,
            "url": o.url.public if o.url is not None else base.url,
            "method": o.method or base.method,
            "headers": {**base.headers, **{k: v.get_secret_value() for k, v in o.headers.items()}},
            "auth": o.auth or base.auth,
            "ok_metric": o.ok_metric if o.ok_metric is not None else base.ok_metric,
            "metrics": extractions,
        })
        if not merged.path and not merged.url:
            problems.append(f"checks.{name}: needs `path` (or `url`)")
        elif merged.kind == "json" and not merged.metrics and not merged.ok_metric:
            problems.append(f"checks.{name}: a JSON check needs `metrics` (or `ok_metric`)")
        problems.extend(f"checks.{name}: {p}" for p in path_problems(merged))
        by_name[name] = merged
    return list(by_name.values()), problems


def profile_gaps(profile: str, overrides: Mapping[str, CheckConfig]) -> list[tuple[str, str, str]]:
    """(alert, check, note) for each alert the profile says a check it cannot run leaves blind, after
    the config's remaps (a remapped check runs again and leaves no gap)."""
    checks, _ = merge(profile_checks(profile), overrides)
    return [(alert, c.name, note) for c in checks if c.unavailable for alert, note in c.alerts.items()]
