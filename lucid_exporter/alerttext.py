"""Alert annotation templates rendered as Prometheus renders them, for ``doctor``.

The shipped descriptions use ``{{ $labels.x }}``, ``{{ $value }}`` and the humanize functions; doctor
prints the same sentence the page would carry. The functions follow Prometheus' template functions
(``humanize``, ``humanize1024``, ``humanizePercentage``, ``humanizeDuration``, ``humanizeTimestamp``)
and Go's ``%v`` for a bare value; the tests compare them with the descriptions promtool expects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

_TEMPLATE = re.compile(r"\{\{\s*(\$labels\.(\w+)|\$value)\s*(?:\|\s*(\w+)\s*)?\}\}")


def go_value(v: float) -> str:
    """Go's ``%v`` of a float64: the shortest digits, exponent form from 1e+06 and below 1e-04."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    sign, digits, exp = Decimal(repr(v)).normalize().as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits))
    point = exp + len(text) - 1  # decimal exponent of the first digit
    minus = "-" if sign else ""
    if point < -4 or point >= 6:  # strconv's 'g' with the shortest digits decides at precision 6
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'+' if point >= 0 else '-'}{abs(point):02d}"
    if point < 0:
        return f"{minus}0.{'0' * (-point - 1)}{text}"
    whole, frac = text[: point + 1].ljust(point + 1, "0"), text[point + 1:]
    return f"{minus}{whole}{'.' + frac if frac else ''}"


def _g4(v: float) -> str:
    return f"{v:.4g}"


def _scaled(v: float, prefixes: tuple[str, ...], factor: float, until: Callable[[float], bool]) -> str:
    """``v`` scaled by ``factor`` per prefix until ``until(v)``, as Prometheus' humanize functions do."""
    prefix = ""
    for p in prefixes:
        if until(abs(v)):
            break
        prefix, v = p, v * factor
    return f"{_g4(v)}{prefix}"


_BIG = ("k", "M", "G", "T", "P", "E", "Z", "Y")
_SMALL = ("m", "u", "n", "p", "f", "a", "z", "y")


def _small(v: float) -> str:
    return _scaled(v, _SMALL, 1000, lambda x: x >= 1)


def humanize(v: float) -> str:
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        return _scaled(v, _BIG, 1 / 1000, lambda x: x < 1000)
    return _small(v)


def humanize1024(v: float) -> str:
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    return _scaled(v, ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"), 1 / 1024, lambda x: x < 1024)


def humanize_percentage(v: float) -> str:
    return f"{_g4(v * 100)}%"


def humanize_duration(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return f"{_g4(v)}s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        d = int(v)
        seconds, minutes, hours, days = d % 60, (d // 60) % 60, (d // 3600) % 24, d // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    return f"{_small(v)}s"


def humanize_timestamp(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    t = datetime.fromtimestamp(v, UTC)
    frac = f"{t.microsecond:06d}".rstrip("0")
    return t.strftime("%Y-%m-%d %H:%M:%S") + (f".{frac}" if frac else "") + " +0000 UTC"


FUNCTIONS: dict[str, Callable[[float], str]] = {
    "humanize": humanize, "humanize1024": humanize1024, "humanizePercentage": humanize_percentage,
    "humanizeDuration": humanize_duration, "humanizeTimestamp": humanize_timestamp,
}


def render(template: str, labels: Mapping[str, str], value: float) -> str:
    """The template with ``$labels.x``, ``$value`` and the humanize functions filled in."""

    def sub(m: re.Match[str]) -> str:
        if m.group(2) is not None:
            return labels.get(m.group(2), "")
        fn = m.group(3)
        return FUNCTIONS[fn](value) if fn in FUNCTIONS else go_value(value)

    return _TEMPLATE.sub(sub, template)
