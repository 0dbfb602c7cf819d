"""`lucid-exporter doctor` against the sim, as a new user runs it, under both personalities (each with
the API profile of its name): what it cannot see is said as such, and a fault names the guide problem
its page names."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lucid_exporter import catalogue

from ..conftest import Sim
from ..support import EXPORTER

pytestmark = pytest.mark.integration


@pytest.fixture
def sim(sim_any: Sim) -> Sim:
    return sim_any


def _doctor(tmp: Path, config: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    path = tmp / "doctor.yml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run([*EXPORTER, "doctor", "--config", str(path), *extra], capture_output=True, text=True,
                          timeout=120)


def test_docker_enabled_without_a_socket_is_not_a_system_failure(sim: Sim, tmp_path: Path) -> None:
    """The default docker.enabled with no socket mounted, every service up: exit 0 or 1, no Complete
    System Failure, no destructive step; the docker engine is listed under what it cannot see."""
    sim.clear()
    cfg = {**sim.config, "docker": {"enabled": True, "base_url": f"unix://{tmp_path}/no-docker.sock"},
           "logs": {"enabled": True}}
    res = _doctor(tmp_path, cfg)
    assert res.returncode in (0, 1), res.stderr
    assert "Complete System Failure" not in res.stdout
    assert "DESTRUCTIVE" not in res.stdout
    assert "Cannot see" in res.stdout and "docker" in res.stdout
    assert "Traceback" not in res.stderr


def test_a_service_down_names_the_problem_its_page_names(sim: Sim, tmp_path: Path) -> None:
    service = catalogue.services()["session-recorder"]
    sim.fault(service.name, "down")
    try:
        res = _doctor(tmp_path, sim.config, "--json")
    finally:
        sim.clear()
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)
    finding = next(f for f in report["findings"] if service.name in f["services"])
    assert finding["problem"] == service.problem
    assert any(a["alert"] == "LucidServiceDown" for a in finding["alerts"])
    assert finding["runbook"].endswith(f"/{catalogue.problems()[service.problem].cluster}.md#{service.problem}")
