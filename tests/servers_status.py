"""Helpers for the status-check integration tests: the sim with a fast slot, the exporter on it, under
each of the sim's personalities paired with the exporter's API profile of the same name (guide sim +
``profile: guide``, lucid sim + ``profile: lucid``).

A scenario that the real Lucid code cannot show is not skipped under ``lucid``: its test asserts why
(``Stack.refused``: the sim refuses the fault with its reason; ``Stack.blind``: the profile has no
endpoint for the check, the exporter does not ask, and the alerts that read it are reported blind)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lucid_exporter import catalogue
from lucid_exporter.catalogue.models import CheckSpec
from lucid_exporter.checks import check_metrics, profile_gaps
from lucid_sim.real import faults as lucid_faults

from .conftest import PROFILES, Exporter, Sim, start_exporter, start_sim
from .support import EXPORTER, Series, scrape, value

SLOT = 1.0  # seconds per Lucid slot in the tests' sim


def start_status_sim(tmp: Path, slot: float = SLOT, token_ttl: float | None = None, profile: str = "guide") -> Sim:
    args = ["--slot-seconds", str(slot)] + (["--token-ttl", str(token_ttl)] if token_ttl is not None else [])
    return start_sim(tmp, profile=profile, args=args)


def exporter_config(sim: Sim, **status: Any) -> dict[str, Any]:
    cfg = dict(sim.config)
    cfg["status"] = {**cfg.get("status", {}), **status}
    cfg["probes"] = {"min_interval_seconds": 0, "timeout_seconds": 3}
    return cfg


class Stack:
    def __init__(self, sim: Sim, exporter: Exporter, tmp: Path) -> None:
        self.sim = sim
        self.exporter = exporter
        self.tmp = tmp

    @property
    def profile(self) -> str:
        return self.sim.profile

    @property
    def lucid(self) -> bool:
        return self.sim.lucid

    def stop(self) -> None:
        self.exporter.proc.stop()
        self.sim.proc.stop()

    def probe(self, target: str) -> Series:
        return scrape(f"{self.exporter.url}/probe?target={target}")

    def metrics(self) -> Series:
        return scrape(f"{self.exporter.url}/metrics")

    def doctor(self, *args: str, config: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """``lucid-exporter doctor --json`` on this stack's config (or ``config``): (exit code, report)."""
        path = self.tmp / "doctor.yml"
        path.write_text(yaml.safe_dump(config or exporter_config(self.sim)))
        r = subprocess.run([*EXPORTER, "doctor", "--json", "--config", str(path), *args], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode in (0, 1), r.stderr
        return r.returncode, json.loads(r.stdout)

    def check(self, name: str) -> CheckSpec:
        """The running API profile's check ``name``."""
        return next(c for c in catalogue.profile(self.profile).checks if c.name == name)

    def refused(self, service: str, kind: str) -> str:
        """The lucid personality refuses ``kind`` on ``service`` (the real code's answers cannot show it):
        400 with the reason its fault data gives, nothing set. Returns the reason."""
        assert self.lucid, "only the lucid personality refuses faults"
        reason = lucid_faults.refusal(service, kind)
        assert reason, f"{kind} on {service} is expressible under the lucid personality"
        assert self.sim.refuses(service, kind) == f"{kind} on {service}: {reason}"
        return reason

    def blind(self, check: str, *metrics: str) -> set[str]:
        """Under the running profile ``check`` has no endpoint: the profile says why, the exporter does
        not request it (no probe series for it, unless it still reads something locally) nor writes
        ``metrics``. Returns the alerts the profile reports blind for want of it (what ``doctor`` lists
        as unable to fire)."""
        spec = self.check(check)
        assert spec.unavailable, f"{check} has an endpoint under the {self.profile} profile"
        series = self.probe(spec.service)
        if not check_metrics(spec):
            assert value(series, "lucid_probe_success", target=f"{spec.service}/{check}") is None
        for metric in metrics:
            assert not [n for n, _ in series if n == metric], f"{metric} written without {check}"
        return {alert for alert, name, _ in profile_gaps(self.profile, {}) if name == check}


def start_stack(tmp: Path, profile: str, slot: float = SLOT) -> Stack:
    """The sim under ``profile``'s personality and the exporter on it with that API profile."""
    sim = start_status_sim(tmp, slot=slot, profile=profile)
    try:
        exporter = start_exporter(tmp, exporter_config(sim), name=f"exporter-{profile}")
    except BaseException:
        sim.proc.stop()
        raise
    return Stack(sim, exporter, tmp)


@pytest.fixture(scope="module", name="stack", params=PROFILES)
def stack_fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The sim under each personality in turn, the exporter on it with the matching API profile."""
    stack = start_stack(tmp_path_factory.mktemp(f"status-{request.param}"), request.param)
    yield stack
    stack.stop()


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "stack" in request.fixturenames:
        request.getfixturevalue("stack").sim.clear()
