"""Helpers for the status-check integration tests: the sim with a fast slot, the exporter on it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import Exporter, Sim, start_exporter
from .support import SIM, Proc, Series, scrape, sim_ports, wait_port

SLOT = 1.0  # seconds per Lucid slot in the tests' sim


def start_status_sim(tmp: Path, slot: float = SLOT, token_ttl: float | None = None, profile: str = "guide") -> Sim:
    base, control = sim_ports()
    cfg = tmp / "sim-exporter.yml"
    args = [*SIM, "--profile", profile, "--base-port", str(base), "--control-port", str(control),
            "--write-config", str(cfg), "--slot-seconds", str(slot)]
    if token_ttl is not None:
        args += ["--token-ttl", str(token_ttl)]
    proc = Proc(args, tmp / "sim.log")
    wait_port(control, proc=proc.p)
    for _ in range(100):
        if cfg.exists() and cfg.stat().st_size:
            break
        time.sleep(0.05)
    return Sim(proc, f"http://127.0.0.1:{control}", yaml.safe_load(cfg.read_text()), cfg, profile)


def exporter_config(sim: Sim, **status: Any) -> dict[str, Any]:
    cfg = dict(sim.config)
    cfg["status"] = {**cfg.get("status", {}), **status}
    cfg["probes"] = {"min_interval_seconds": 0, "timeout_seconds": 3}
    return cfg


class Stack:
    def __init__(self, sim: Sim, exporter: Exporter) -> None:
        self.sim = sim
        self.exporter = exporter

    def probe(self, target: str) -> Series:
        return scrape(f"{self.exporter.url}/probe?target={target}")

    def metrics(self) -> Series:
        return scrape(f"{self.exporter.url}/metrics")


@pytest.fixture(scope="module", name="stack")
def stack_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("status")
    sim = start_status_sim(tmp)
    exporter = start_exporter(tmp, exporter_config(sim))
    try:
        yield Stack(sim, exporter)
    finally:
        exporter.proc.stop()
        sim.proc.stop()


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "stack" in request.fixturenames:
        request.getfixturevalue("stack").sim.clear()
