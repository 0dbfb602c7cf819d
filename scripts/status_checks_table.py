#!/usr/bin/env python3
"""Writes the table of docs/status-checks.md that shows each status check under both API profiles.

The table is generated from ``lucid_exporter/catalogue/checks/{guide,lucid}.yaml`` between the markers
``<!-- checks:profiles -->`` and ``<!-- /checks -->``; the prose around it is written by hand.

Usage::

    python scripts/status_checks_table.py          # rewrite the table
    python scripts/status_checks_table.py --check  # exit 1 when docs/status-checks.md is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lucid_exporter import catalogue  # noqa: E402
from lucid_exporter.catalogue.models import CheckSpec  # noqa: E402
from lucid_exporter.checks import check_metrics  # noqa: E402

DOC = ROOT / "docs" / "status-checks.md"
MARK = re.compile(r"(<!-- checks:profiles -->\n).*?(<!-- /checks -->)", re.S)
AUTH = {"token": " (token)", "blockchain": " (blockchain key)", "none": ""}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _endpoint(c: CheckSpec, port: int | None) -> str:
    if c.base == "trongrid":
        return f"`{c.method} https://api.trongrid.io{c.path}`"
    where = f":{port}" if port else ""
    return f"`{c.method} {where}{c.path}`{AUTH[c.auth]}"


def table() -> str:
    guide = catalogue.profile("guide")
    lucid = catalogue.profile("lucid")
    real_checks = {c.name: c for c in lucid.checks}
    lines = ["| check | guide path | lucid path, or no real endpoint: replacement | metrics |", "|---|---|---|---|"]
    for g in guide.checks:
        r = real_checks[g.name]
        service = catalogue.services()[g.service]
        override = lucid.services.get(g.service)
        real_port = override.port if override is not None and override.port else service.port
        if r.unavailable:
            replaced = f"; replaced by {', '.join(f'`{m}`' for m in r.replaced_by)}" if r.replaced_by else ""
            real = f"no real endpoint: {_cell(r.unavailable)}{replaced}"
        else:
            real = _endpoint(r, real_port)
            if r.help:
                real += f": {_cell(r.help)}"
        metrics = sorted(check_metrics(g) | check_metrics(r))
        lines.append(f"| `{g.name}` | {_endpoint(g, service.port)} | {real} | "
                     f"{', '.join(f'`{m}`' for m in metrics)} |")
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    if not MARK.search(text):
        raise SystemExit(f"{DOC}: no <!-- checks:profiles --> ... <!-- /checks --> markers")
    return MARK.sub(lambda m: m.group(1) + table() + m.group(2), text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail when docs/status-checks.md is stale")
    args = ap.parse_args(argv)
    text = DOC.read_text()
    new = render(text)
    if args.check:
        if new != text:
            print("docs/status-checks.md is stale: run python scripts/status_checks_table.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
