"""Copies of the shipped alert rules with every ``for:`` shortened, for fire drills and the demo.

Thresholds, labels and annotations stay exactly as shipped (alerts/*.rules.yml); the wait before
firing is cut, so a fault pages in seconds instead of minutes. Optionally (``--window-scale``) the
time windows of the expressions (``rate(...[5m])``, ``increase(...[30m])``, subqueries ``[1h:]``,
``offset 1h``) are scaled down too, never below ``--min-window``: ``for:`` is not the only wait in
real time (Prometheus cannot be made to skip time), and a burst in a 30-minute window would keep
its alert firing for 30 minutes after the fault is cleared. Expressions without a window are
unchanged.

    .venv/bin/python scripts/drill_rules.py DEST_DIR [--for SECONDS] [--window-scale 0.05 --min-window 20]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml

RULES_DIR = Path(__file__).resolve().parent.parent / "alerts"
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_RANGE = re.compile(rf"\[(?P<range>{_DURATION})(?P<step>:(?:{_DURATION})?)?\]")
_OFFSET = re.compile(rf"\boffset (?P<offset>{_DURATION})")


def seconds(duration: str) -> float:
    return sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+)(ms|[smhdwy])", duration))


def scale_windows(expr: str, scale: float, min_window: float) -> str:
    """``expr`` with every range and offset multiplied by ``scale`` (at least ``min_window`` seconds)."""
    if scale == 1:
        return expr

    def scaled(duration: str) -> str:
        return f"{max(min_window, round(seconds(duration) * scale)):g}s"

    expr = _RANGE.sub(lambda m: f"[{scaled(m['range'])}{m['step'] or ''}]", expr)
    return _OFFSET.sub(lambda m: f"offset {scaled(m['offset'])}", expr)


def shortened_rules(dest: Path, for_seconds: int = 2, evaluation_seconds: int = 1, window_scale: float = 1.0,
                    min_window_seconds: float = 20.0) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for f in sorted(RULES_DIR.glob("*.rules.yml")):
        data = yaml.safe_load(f.read_text())
        for group in data.get("groups", []):
            group["interval"] = f"{evaluation_seconds}s"
            for rule in group.get("rules", []):
                if "for" in rule:
                    rule["for"] = f"{for_seconds}s"
                if "keep_firing_for" in rule:
                    rule["keep_firing_for"] = "0s"
                rule["expr"] = scale_windows(rule["expr"], window_scale, min_window_seconds)
        path = dest / f.name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        out.append(path)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dest", type=Path)
    ap.add_argument("--for", dest="for_seconds", type=int, default=15)
    ap.add_argument("--evaluation", type=int, default=5, help="rule evaluation interval in seconds")
    ap.add_argument("--window-scale", type=float, default=1.0,
                    help="multiply every range and offset of the expressions by this (default 1: as shipped)")
    ap.add_argument("--min-window", type=float, default=20.0,
                    help="shortest scaled window in seconds (at least 4 scrape intervals)")
    a = ap.parse_args()
    for p in shortened_rules(a.dest, a.for_seconds, a.evaluation, a.window_scale, a.min_window):
        print(p)
