"""Copies of the shipped alert rules with every ``for:`` shortened, for fire drills and the demo.

Expressions, thresholds, labels and annotations stay exactly as shipped (alerts/*.rules.yml);
only the wait before firing is cut, so a fault pages in seconds instead of minutes.

    .venv/bin/python scripts/drill_rules.py DEST_DIR [--for SECONDS]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

RULES_DIR = Path(__file__).resolve().parent.parent / "alerts"


def shortened_rules(dest: Path, for_seconds: int = 2, evaluation_seconds: int = 1) -> list[Path]:
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
        path = dest / f.name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        out.append(path)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dest", type=Path)
    ap.add_argument("--for", dest="for_seconds", type=int, default=15)
    ap.add_argument("--evaluation", type=int, default=5, help="rule evaluation interval in seconds")
    a = ap.parse_args()
    for p in shortened_rules(a.dest, a.for_seconds, a.evaluation):
        print(p)
