"""`lucid-sim --docker`: the simulated stack runs the Lucid containers on a real Docker
engine, and the exporter's docker, network and log metrics see a healthy stack, then each
container fault of the drill (stopped, error burst, restart loop, TRON isolation breach).

The sim's containers have the catalogue's fixed names: one module-scoped sim. The healthy stack is
read once, when the module's fixture has started it and before any test injects a fault, so that
the tests hold in any order."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lucid_sim import containers as csim
from lucid_sim.catalogue import Service, default_catalogue
from lucid_sim.stack import SimStack

from ..conftest import Exporter, Sim, start_exporter
from ..servers_docker import DockerEnv, docker_env, run_probe, start_docker_sim, val  # noqa: F401 - fixture
from ..support import SIM, Series, scrape, sim_ports, value, wait_until

# The docker engine is shared: one xdist worker runs every test that uses it (see tests/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("docker")]

CATALOGUE = default_catalogue()
CONTAINERS = sorted(s.container for s in CATALOGUE.values())
TRON = sorted(s.container for s in CATALOGUE.values() if s.cluster == "tron")
CODES = {name: p.code for name, p in csim.profiles(CATALOGUE).items()}


@dataclass
class Stack:
    env: DockerEnv
    sim: Sim
    exporter: Exporter
    stale_id: str
    healthy: Series = dataclasses.field(default_factory=dict)  # /metrics before any fault

    @property
    def metrics(self) -> str:
        return f"{self.exporter.url}/metrics"

    def scrape(self) -> Series:
        return scrape(self.metrics)

    def value(self, name: str, **labels: str) -> float | None:
        return value(self.scrape(), name, **labels)

    def until(self, name: str, predicate: Any, what: str, timeout: float = 40.0, **labels: str) -> float:
        found: list[float | None] = []

        def check() -> bool:
            v = self.value(name, **labels)
            found.append(v)
            return v is not None and bool(predicate(v))

        wait_until(check, timeout=timeout, interval=0.5, what=what)
        v = found[-1]
        assert v is not None
        return v


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture(scope="module")
def stack(docker_env: DockerEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:  # noqa: F811
    tmp: Path = tmp_path_factory.mktemp("sim-containers")
    client = docker_env.client
    csim.ensure_image(client)
    # What a sim killed with SIGKILL leaves behind: a labelled container of a process gone.
    stale = client.api.create_container(
        csim.IMAGE, ["sleep", "3600"], name=f"lucid-{docker_env.prefix}leftover",
        labels={csim.LABEL: "1", csim.OWNER_LABEL: f"{socket.gethostname()}:{_dead_pid()}"})
    sim = start_docker_sim(tmp, docker_env)
    exporter = None
    try:
        config = copy.deepcopy(sim.config)
        config["docker"].update(min_interval_seconds=0.5, disk_usage_min_interval_seconds=0.5)
        config["logs"] = {**config["logs"], "min_interval_seconds": 0.5}
        exporter = start_exporter(tmp, config)
        stack = Stack(docker_env, sim, exporter, stale["Id"])
        stack.until("lucid_containers_watched", lambda v: v == len(CONTAINERS), "every container watched")
        stack.until("lucid_log_slow_lines_total", lambda v: v >= 1, "start-up lines read",
                    container="lucid-admin-interface")
        stack.healthy = stack.scrape()
        yield stack
    finally:
        if exporter is not None:
            exporter.proc.stop()
        sim.proc.stop(timeout=60)


# --- the healthy stack ---------------------------------------------------------------------------


def test_sim_with_docker_writes_an_exporter_config_with_the_docker_and_log_probes(stack: Stack) -> None:
    assert stack.sim.config["docker"] == {"enabled": True, "base_url": stack.env.base_url, "workers": 16}
    assert stack.sim.config["logs"] == {"enabled": True}
    assert "containers on the docker engine" in stack.sim.proc.output()


def test_a_crashed_sims_leftover_container_is_removed(stack: Stack) -> None:
    left = stack.env.client.api.containers(all=True, filters={"id": stack.stale_id})
    assert left == []
    mongodb = stack.env.client.api.inspect_container("lucid-mongodb")
    assert mongodb["Config"]["Labels"][csim.OWNER_LABEL].endswith(f":{stack.sim.proc.p.pid}")


def test_healthy_sim_runs_every_catalogue_container(stack: Stack) -> None:
    series = stack.healthy
    for name in CONTAINERS:
        assert value(series, "lucid_container_present", container=name) == 1, name
        assert value(series, "lucid_container_running", container=name) == 1, name
        assert value(series, "lucid_container_restart_count", container=name) == 0, name
        assert value(series, "lucid_container_memory_limit_bytes", container=name) == csim.MEMORY_LIMIT, name
        assert (value(series, "lucid_container_memory_usage_bytes", container=name) or 0) > 0, name
        assert value(series, "lucid_container_health_status", container=name, status="unhealthy") == 0, name
    labels = stack.env.client.api.inspect_container("lucid-auth-service")["Config"]["Labels"]
    assert labels[csim.LABEL] == "1" and labels[csim.SERVICE_LABEL] == "auth-service"


def test_healthy_sim_has_both_networks_and_tron_isolated(stack: Stack) -> None:
    series = stack.healthy
    assert value(series, "lucid_docker_network_present", network="lucid-network") == 1
    assert value(series, "lucid_docker_network_present", network="lucid-tron-network") == 1
    assert value(series, "lucid_tron_isolation_violations") == 0
    assert value(series, "lucid_docker_network_containers", network="lucid-network") == len(CONTAINERS)
    assert value(series, "lucid_docker_network_containers", network="lucid-tron-network") == len(TRON)
    for name in TRON:
        assert value(series, "lucid_docker_network_attached", network="lucid-tron-network", container=name) == 1


def test_healthy_sim_logs_every_log_metric_but_stays_under_the_alert_thresholds(stack: Stack) -> None:
    series = stack.healthy
    for name in CONTAINERS:
        for level in ("ERROR", "WARN", "CRITICAL"):
            assert (value(series, "lucid_log_lines_total", container=name, level=level) or 0) >= 1, (name, level)
        # At most a handful: LucidAuthServiceErrorLogs needs > 5 ERROR/CRITICAL lines in 15 minutes.
        errors = sum(value(series, "lucid_log_lines_total", container=name, level=lv) or 0
                     for lv in ("ERROR", "CRITICAL"))
        assert errors <= 3, name
        codes = [v for (n, lbl), v in series.items()
                 if n == "lucid_log_error_codes_total" and ("container", name) in lbl]
        assert codes and sum(codes) <= 3, (name, codes)  # LucidErrorCodeBurst: > 20
        assert (value(series, "lucid_log_slow_lines_total", container=name) or 0) >= 1, name
    assert CODES["auth-service"] == "LUCID_ERR_2001"
    for service in ("auth-service", "admin-interface", "api-gateway"):
        assert value(series, "lucid_log_error_codes_total", container=f"lucid-{service}", code=CODES[service]) == 1
    for name in ("lucid-auth-service", "lucid-api-gateway", "lucid-admin-interface"):
        assert (value(series, "lucid_log_auth_failure_lines_total", container=name) or 0) >= 1, name
    assert value(series, "lucid_log_containers_failed") == 0


def _sim_args(url: str) -> list[str]:
    base, control = sim_ports()
    return [*SIM, "--docker", "--docker-url", url, "--base-port", str(base),
            "--control-port", str(control)]


def test_a_second_docker_sim_on_the_same_engine_refuses_in_one_line(stack: Stack) -> None:
    p = subprocess.run(_sim_args(stack.env.base_url), capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "another sim" in lines[0], p.stderr
    assert stack.value("lucid_container_running", container="lucid-api-gateway") == 1


def test_a_foreign_container_with_a_lucid_name_is_refused_and_left_alone(stack: Stack) -> None:
    env = stack.env
    name = env.name("foreign")
    foreign = env.client.api.create_container(env.image, ["sleep", "3600"], name=name)
    services = {"foreign": Service("foreign", "system", name, "", "", "none")}
    sim = csim.ContainerSim(SimStack(services=services), env.base_url)
    with pytest.raises(csim.SimRefused, match=f"container {name} exists .* not the sim's"):
        sim._start()  # the blocking start, without an event loop
    assert env.client.api.inspect_container(foreign["Id"])["Name"] == f"/{name}"


def test_no_docker_engine_is_refused_in_one_line(tmp_path: Path) -> None:
    p = subprocess.run(_sim_args(f"unix://{tmp_path}/none.sock"), capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert p.stderr.strip().count("\n") == 0 and "no docker engine answers" in p.stderr, p.stderr


async def test_a_run_without_time_to_wait_reports_state_now_and_stats_of_the_last_refresh(stack: Stack) -> None:
    from lucid_exporter.config import Settings
    from lucid_exporter.probes.docker import ContainersProbe, DockerAccess

    settings = Settings(docker={"base_url": stack.env.base_url, "workers": 16})  # type: ignore[arg-type]
    probe = ContainersProbe(settings.docker, CATALOGUE, DockerAccess(settings.docker))
    try:
        first = await run_probe(probe, settings, timeout=0.0)  # the deadline has passed: no wait for stats
        assert val(first, "lucid_container_running", container="lucid-redis") == 1
        # The limit is docker inspect's (there at once); the usage is docker stats' (not yet).
        assert val(first, "lucid_container_memory_limit_bytes", container="lucid-redis") == csim.MEMORY_LIMIT
        assert val(first, "lucid_container_memory_usage_bytes", container="lucid-redis") is None
        assert probe._stats_task is not None  # the refresh goes on in the background
        await asyncio.wait_for(asyncio.shield(probe._stats_task), timeout=30)
        second = await run_probe(probe, settings, timeout=0.0)
        assert val(second, "lucid_container_memory_usage_bytes", container="lucid-redis") is not None
        # With time to wait, a run has its own fresh stats (what a first scrape with a normal budget gets).
        fresh = ContainersProbe(settings.docker, CATALOGUE, DockerAccess(settings.docker))
        try:
            third = await run_probe(fresh, settings, timeout=30.0)
            assert val(third, "lucid_container_memory_usage_bytes", container="lucid-redis") is not None
        finally:
            await fresh.close()
    finally:
        await probe.close()


# --- the container faults ----------------------------------------------------------------------


def test_container_stopped_shows_running_0_and_clearing_starts_it(stack: Stack) -> None:
    lbl = {"container": "lucid-admin-interface"}
    stack.sim.fault("admin-interface", "container_stopped")
    stack.until("lucid_container_running", lambda v: v == 0, "admin-interface stopped", **lbl)
    assert stack.value("lucid_container_present", **lbl) == 1
    stack.sim.clear("admin-interface")
    stack.until("lucid_container_running", lambda v: v == 1, "admin-interface running again", **lbl)


def test_error_burst_makes_the_error_and_code_counters_jump(stack: Stack) -> None:
    lbl = {"container": "lucid-session-api"}
    before = stack.value("lucid_log_lines_total", level="ERROR", **lbl) or 0
    stack.sim.fault("session-api", "error_burst")
    # LucidErrorLogRateHigh: > 10 ERROR/CRITICAL lines a minute; LucidErrorCodeBurst: > 20 of a code in 15m.
    stack.until("lucid_log_lines_total", lambda v: v >= before + 25, "an error burst", level="ERROR", **lbl)
    code = stack.until("lucid_log_error_codes_total", lambda v: v > 20, "a code burst",
                       code=CODES["session-api"], **lbl)
    stack.sim.clear("session-api")
    wait_until(lambda: "error_burst" not in _fault_file(stack, "lucid-session-api"), what="fault file cleared")
    settled = _settle(stack, "lucid_log_error_codes_total", code=CODES["session-api"], **lbl)
    assert settled >= code


def test_restart_loop_makes_the_restart_count_climb_and_clearing_stops_it(stack: Stack) -> None:
    lbl = {"container": "lucid-elasticsearch"}
    stack.sim.fault("elasticsearch", "restart_loop")
    stack.until("lucid_container_restart_count", lambda v: v >= 3, "restarts", timeout=60, **lbl)
    stack.sim.clear("elasticsearch")
    # The next start reads the cleared fault file and runs on (docker's back-off may delay it).
    stack.until("lucid_container_running", lambda v: v == 1, "elasticsearch up again", timeout=60, **lbl)
    settled = _settle(stack, "lucid_container_restart_count", **lbl)
    assert settled >= 3


def test_tron_isolation_breach_shows_one_violation_and_clears(stack: Stack) -> None:
    stack.sim.fault("api-gateway", "tron_isolation_breach")
    stack.until("lucid_tron_isolation_violations", lambda v: v == 1, "one violation")
    assert stack.value("lucid_tron_isolation_violation", container="lucid-api-gateway") == 1
    stack.sim.clear("api-gateway")
    stack.until("lucid_tron_isolation_violations", lambda v: v == 0, "no violation")


def test_every_container_ends_healthy_by_its_health_check(stack: Stack) -> None:
    def healthy() -> bool:
        series = stack.scrape()
        return all(value(series, "lucid_container_health_status", container=n, status="healthy") == 1
                   for n in CONTAINERS)

    wait_until(healthy, timeout=60, interval=1, what="every container healthy")


# --- helpers --------------------------------------------------------------------------------------


def _fault_file(stack: Stack, container: str) -> str:
    import io
    import tarfile

    stream, _ = stack.env.client.api.get_archive(container, csim.FAULT_FILE)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.extractfile(os.path.basename(csim.FAULT_FILE))
        assert member is not None
        return member.read().decode()


def _settle(stack: Stack, name: str, **labels: str) -> float:
    """The value once it stopped changing for 5 s (the fault's effect is over)."""
    last: list[float | None] = [None]
    stable_since = [0.0]

    def stable() -> bool:
        import time

        v = stack.value(name, **labels)
        now = time.monotonic()
        if v != last[0]:
            last[0], stable_since[0] = v, now
            return False
        return now - stable_since[0] >= 5

    wait_until(stable, timeout=60, interval=0.5, what=f"{name} settled")
    assert last[0] is not None
    return last[0]
