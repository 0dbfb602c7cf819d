"""Extracts the 27 problems of the Lucid troubleshooting guide into lucid_exporter/guide.json.

The doctor command prints each problem's diagnostic steps and solutions from this file, so
the installed exporter does not need the guide. Run again when the guide changes:
    .venv/bin/python scripts/extract_guide.py [path/to/lucid-troubleshooting-guide.md]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GUIDE = ROOT.parent / "shared" / "seed" / "lucid-troubleshooting-guide.md"
OUT = ROOT / "lucid_exporter" / "guide.json"

CLUSTER_BY_PART = {
    "Foundation Services": "foundation", "Authentication Service": "auth", "API Gateway": "gateway",
    "Blockchain Core": "blockchain", "Session Management": "sessions", "RDP Services": "rdp",
    "Node Management": "nodes", "Admin Interface": "admin", "TRON Payment": "tron",
    "System-Wide": "system", "Emergency Procedures": "system",
}
BLOCKS = {"Symptoms": "symptoms", "Diagnostic Steps": "diagnostics", "Emergency Steps": "solutions",
          "Recovery Steps": "solutions", "Solutions": "solutions"}


def slug(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def _steps(code: list[str]) -> list[dict[str, str]]:
    """Group a bash block into steps: a comment line names the commands below it."""
    steps: list[dict[str, str]] = []
    comment = ""
    buf: list[str] = []

    def flush() -> None:
        if buf:
            steps.append({"what": comment, "command": "\n".join(buf).strip()})

    for line in code:
        if line.startswith("#") and not line.startswith("#!"):
            flush()
            comment, buf = line.lstrip("# ").strip(), []
        elif line.strip() or buf:
            buf.append(line)
    flush()
    return [s for s in steps if s["command"]]


def parse(text: str) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    cluster = section = ""
    current: dict[str, Any] | None = None
    block = ""
    code: list[str] | None = None
    for line in text.splitlines():
        if code is not None:
            if line.startswith("```"):
                if current is not None and block in ("diagnostics", "solutions"):
                    current[block].extend(_steps(code))
                code = None
            else:
                code.append(line)
            continue
        if line.startswith("```"):
            code = []
            continue
        if line.startswith("## "):
            part = line[3:].replace("Troubleshooting", "").strip()
            cluster = CLUSTER_BY_PART.get(part, "")
            current = None
            if part in ("Monitoring and Alerting", "References"):
                cluster = ""
        elif line.startswith("### "):
            section = line[4:].strip()
        elif line.startswith("#### Problem:") and cluster:
            title = line.split(":", 1)[1].strip()
            current = {"slug": slug(title), "title": title, "cluster": cluster, "section": section,
                       "symptoms": [], "diagnostics": [], "solutions": []}
            problems.append(current)
        elif m := re.match(r"\*\*(.+):\*\*$", line.strip()):
            block = BLOCKS.get(m.group(1), "")
        elif current is not None and block == "symptoms" and line.startswith("- "):
            current["symptoms"].append(line[2:].strip())
    return problems


def main() -> None:
    guide = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_GUIDE
    problems = parse(guide.read_text(encoding="utf-8"))
    if len(problems) != 27:
        raise SystemExit(f"expected the guide's 27 problems, found {len(problems)}")
    OUT.write_text(json.dumps(problems, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(problems)} problems to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
