"""Compares the Lucid troubleshooting guide with its problems as package data (catalogue/problems.yaml).

problems.yaml holds each problem of the guide (title, part, section, symptoms, the diagnostic and
solution steps verbatim) plus what the guide does not say (which steps destroy data or reveal a
secret, which metrics observe a step): doctor and the runbooks read it, so the installed exporter
does not need the guide. When the guide changes, this lists what to update:
    .venv/bin/python scripts/guide_check.py [path/to/lucid-troubleshooting-guide.md]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from lucid_exporter import catalogue  # noqa: E402

GUIDE_NAME = Path("shared") / "seed" / "lucid-troubleshooting-guide.md"
# A clone in CI has shared/ beside it; a worktree of the development machine sits one level deeper.
CANDIDATES = (ROOT.parent / GUIDE_NAME, ROOT.parent.parent / GUIDE_NAME)

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
    cluster = section = part_title = ""
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
            part_title = line[3:].strip()
            part = part_title.replace("Troubleshooting", "").strip()
            cluster = CLUSTER_BY_PART.get(part, "")
            current = None
            if part in ("Monitoring and Alerting", "References"):
                cluster = ""
        elif line.startswith("### "):
            section = line[4:].strip()
        elif line.startswith("#### Problem:") and cluster:
            title = line.split(":", 1)[1].strip()
            current = {"slug": slug(title), "title": title, "cluster": cluster, "part": part_title,
                       "section": section, "symptoms": [], "diagnostics": [], "solutions": []}
            problems.append(current)
        elif m := re.match(r"\*\*(.+):\*\*$", line.strip()):
            block = BLOCKS.get(m.group(1), "")
        elif current is not None and block == "symptoms" and line.startswith("- "):
            current["symptoms"].append(line[2:].strip())
    return problems


def find_guide() -> Path | None:
    return next((p for p in CANDIDATES if p.exists()), None)


def differences(text: str) -> list[str]:
    """Where the guide and problems.yaml disagree (titles, parts, sections, symptoms, steps)."""
    parsed = parse(text)
    data = [p for p in catalogue.problems().values() if catalogue.clusters()[p.cluster].kind == "lucid"]
    out: list[str] = []
    if [p["slug"] for p in parsed] != [p.slug for p in data]:
        return [f"problems differ: guide {[p['slug'] for p in parsed]} != data {[p.slug for p in data]}"]
    for g, d in zip(parsed, data, strict=True):
        for key in ("title", "cluster", "part", "section", "symptoms"):
            if g[key] != getattr(d, key):
                out.append(f"{d.slug}: {key}: guide {g[key]!r} != data {getattr(d, key)!r}")
        for key in ("diagnostics", "solutions"):
            steps = [{"what": s.what, "command": s.command} for s in getattr(d, key)]
            if g[key] != steps:
                out.append(f"{d.slug}: {key} differ from the guide's")
    return out


def main() -> int:
    guide = Path(sys.argv[1]) if len(sys.argv) > 1 else find_guide()
    if guide is None:
        print(f"guide not found (looked for {', '.join(map(str, CANDIDATES))})", file=sys.stderr)
        return 2
    diffs = differences(guide.read_text(encoding="utf-8"))
    for d in diffs:
        print(d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
