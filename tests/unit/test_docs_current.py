"""Generated documentation matches the code it is generated from."""

from __future__ import annotations

from pathlib import Path

from ..support import load_script

ROOT = Path(__file__).resolve().parents[2]


def _load(script: str):  # type: ignore[no-untyped-def]
    return load_script(ROOT / "scripts" / f"{script}.py")


def test_configuration_reference_lists_every_key_with_its_default() -> None:
    module = _load("config_reference")
    assert (ROOT / "docs" / "configuration.md").read_text() == module.render(), (
        "docs/configuration.md is stale: run .venv/bin/python scripts/config_reference.py")
