"""The product is the exporter alone: its wheel holds no simulator, and serve, check and doctor
never import one. The simulated stack is its own distribution (sim/, ``lucid-sim``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ..support import ROOT

# What a checkout holds besides the sources: the copy the wheel is built from leaves them out.
_NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", ".demo", ".tmp", "build", "dist", "*.egg-info",
                                      "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache")


def _is_sim(module_or_path: str) -> bool:
    parts = module_or_path.replace("/", ".").split(".")
    return parts[0] == "lucid_sim" or parts[:2] == ["lucid_exporter", "sim"]


def test_the_exporters_wheel_holds_no_simulator(tmp_path: Path) -> None:
    # Built from a copy: pip builds in the source tree (build/, *.egg-info), the checkout stays clean.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=_NOT_SOURCES)
    out = tmp_path / "wheels"
    # Offline: the build backend is the one `make setup` installed (pyproject's dev extra).
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "--no-index",
                        "-q", "-w", str(out)], cwd=src, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    (wheel,) = out.glob("lucid_exporter-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "lucid_exporter/cli.py" in names
    assert {"lucid_exporter/catalogue/services.yaml", "lucid_exporter/catalogue/alerts/system.yaml"} <= set(names)
    assert [n for n in names if _is_sim(n)] == []
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "lucid-exporter = lucid_exporter.cli:main" in scripts and "lucid-sim" not in scripts


# One interpreter per command: run the CLI as the console script would, then list what it imported.
_RUN_AND_LIST_MODULES = """
import sys
from lucid_exporter import cli
try:
    code = cli.main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print("EXIT", code)
print("MODULES", " ".join(sorted(sys.modules)))
"""


@pytest.mark.parametrize("command", [
    ["serve", "--help"],
    ["check", "--help"],
    ["doctor", "--help"],
    ["check", "--target", "auth-service"],
    ["doctor", "--target", "auth-service"],
    ["config"],
])
def test_serve_check_and_doctor_import_no_simulator(command: list[str], tmp_path: Path) -> None:
    config = tmp_path / "lucid.yml"
    # A closed port: check and doctor run their whole round (a refused connection) in milliseconds.
    config.write_text("services:\n  auth-service:\n    url: http://127.0.0.1:1\n")
    args = command if "--help" in command else [*command, "--config", str(config)]
    p = subprocess.run([sys.executable, "-c", _RUN_AND_LIST_MODULES, *args], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    lines = dict(line.split(" ", 1) for line in p.stdout.splitlines() if line.startswith(("EXIT ", "MODULES ")))
    # The command ran (a help page exits 0; the failing probe makes check exit 1).
    assert lines["EXIT"] in ("0", "1"), p.stdout + p.stderr
    modules = lines["MODULES"].split()
    assert "lucid_exporter.cli" in modules
    assert [m for m in modules if _is_sim(m)] == []


def test_lucid_exporter_sim_points_at_lucid_sim_in_one_line() -> None:
    p = subprocess.run([sys.executable, "-m", "lucid_exporter", "sim", "--fault", "auth-service=down"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stdout == "" and len(p.stderr.splitlines()) == 1 and "lucid-sim" in p.stderr
