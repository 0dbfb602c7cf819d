"""The guide's `docker ps | grep lucid-...`, `docker stats --no-stream`, `docker network inspect`
and `docker system df`, against a real Docker engine with real containers in each state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lucid_exporter.config import Settings
from lucid_exporter.inventory import Service
from lucid_exporter.probes import docker as dprobe

from ..conftest import start_exporter
from ..servers_docker import DockerEnv, docker_env, run_probe, val  # noqa: F401 - fixture
from ..support import scrape, value, wait_until

# The docker engine is shared: one xdist worker runs every test that uses it (see tests/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("docker")]


def _svc(name: str, cluster: str, container: str) -> Service:
    return Service(name, cluster, container, "", "", "none")


@pytest.fixture(scope="module")
def stack(docker_env: DockerEnv) -> Iterator[dict[str, Any]]:  # noqa: F811
    d = docker_env
    d.run("running", "echo up; sleep 3600")
    d.run("exited", "echo bye; exit 7")
    d.run("crashloop", "echo crash; exit 3", restart_policy={"Name": "always"})
    d.run("unhealthy", "sleep 3600",
          healthcheck={"test": ["CMD-SHELL", "false"], "interval": 1_000_000_000, "retries": 1})
    d.run("oom", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived", mem_limit="16m",
          memswap_limit="16m")
    lucid_net = d.network(d.name("lucid-net"))
    tron_net = d.network(d.name("tron-net"))
    d.run("tron-client", "sleep 3600", network=tron_net.name)
    d.run("api-gateway", "sleep 3600", network=lucid_net.name)
    tron_net.connect(d.name("api-gateway"))  # a non-TRON service on the TRON network

    d.wait_state("exited", lambda s: s["State"]["Status"] == "exited")
    # The engine records the exit before it has handled the kernel's OOM event: on a busy host a test
    # could read the container exited with OOMKilled still false (failed once in a full run).
    d.wait_state("oom", lambda s: s["State"]["Status"] == "exited" and s["State"]["OOMKilled"])
    d.wait_state("crashloop", lambda s: s["RestartCount"] >= 2)
    d.wait_state("unhealthy", lambda s: s["State"].get("Health", {}).get("Status") == "unhealthy")

    services = {
        "tron-client": _svc("tron-client", "tron", d.name("tron-client")),
        "api-gateway": _svc("api-gateway", "gateway", d.name("api-gateway")),
        "mongodb": _svc("mongodb", "foundation", d.name("mongodb")),  # expected, never created
    }
    settings = Settings(docker={  # type: ignore[arg-type]
        "base_url": d.base_url, "container_patterns": [d.name("*")],
        "networks": [d.name("lucid-net"), d.name("tron-net"), d.name("absent-net")],
        "tron_network": d.name("tron-net"),
    })
    yield {"env": d, "services": services, "settings": settings}


async def _containers(stack: dict[str, Any]) -> list[Any]:
    access = dprobe.DockerAccess(stack["settings"].docker)
    probe = dprobe.ContainersProbe(stack["settings"].docker, stack["services"], access)
    try:
        return await run_probe(probe, stack["settings"])
    finally:
        await probe.close()


async def test_running_container_is_present_running_with_cpu_and_memory(stack: dict[str, Any]) -> None:
    s = await _containers(stack)
    c = stack["env"].name("running")
    assert val(s, "lucid_container_present", container=c) == 1
    assert val(s, "lucid_container_running", container=c) == 1
    assert val(s, "lucid_container_health_status", container=c, status="none") == 1
    assert val(s, "lucid_container_started_at_seconds", container=c) > 1.7e9  # type: ignore[operator]
    assert val(s, "lucid_container_cpu_seconds_total", container=c) is not None
    assert 0 < val(s, "lucid_container_memory_usage_bytes", container=c) < 64e6  # type: ignore[operator]
    # Started without --memory: no limit (docker stats would report the host's memory as its limit).
    assert val(s, "lucid_container_memory_limit_bytes", container=c) == 0
    assert val(s, "lucid_container_memory_limit_bytes", container=stack["env"].name("oom")) == 16 * 1024 * 1024


async def test_service_down_container_exited_shows_its_exit_code(stack: dict[str, Any]) -> None:
    s = await _containers(stack)
    c = stack["env"].name("exited")
    assert val(s, "lucid_container_present", container=c) == 1
    assert val(s, "lucid_container_running", container=c) == 0
    assert val(s, "lucid_container_exit_code", container=c) == 7
    assert val(s, "lucid_container_memory_usage_bytes", container=c) is None  # no stats when stopped


async def test_container_restart_loop_shows_a_growing_restart_count(stack: dict[str, Any]) -> None:
    first = val(await _containers(stack), "lucid_container_restart_count", container=stack["env"].name("crashloop"))
    assert first is not None and first >= 2
    stack["env"].wait_state("crashloop", lambda st: st["RestartCount"] > first)
    again = val(await _containers(stack), "lucid_container_restart_count", container=stack["env"].name("crashloop"))
    assert again is not None and again > first


async def test_unhealthy_container_health_check_is_one_hot(stack: dict[str, Any]) -> None:
    s = await _containers(stack)
    c = stack["env"].name("unhealthy")
    assert val(s, "lucid_container_running", container=c) == 1
    states = {st: val(s, "lucid_container_health_status", container=c, status=st)
              for st in ("healthy", "unhealthy", "starting", "none")}
    assert states == {"healthy": 0, "unhealthy": 1, "starting": 0, "none": 0}


async def test_memory_exhausted_container_is_oom_killed(stack: dict[str, Any]) -> None:
    s = await _containers(stack)
    c = stack["env"].name("oom")
    assert val(s, "lucid_container_oom_killed", container=c) == 1
    assert val(s, "lucid_container_exit_code", container=c) == 137
    assert val(s, "lucid_container_oom_killed", container=stack["env"].name("exited")) == 0


async def test_expected_container_missing_reports_present_zero(stack: dict[str, Any]) -> None:
    s = await _containers(stack)
    c = stack["env"].name("mongodb")
    assert val(s, "lucid_container_present", container=c) == 0
    assert val(s, "lucid_container_running", container=c) == 0


async def test_tron_network_with_a_non_tron_container_is_an_isolation_violation(stack: dict[str, Any]) -> None:
    cfg = stack["settings"].docker
    access = dprobe.DockerAccess(cfg)
    probe = dprobe.NetworksProbe(cfg, stack["services"], access)
    try:
        s = await run_probe(probe, stack["settings"])
    finally:
        await probe.close()
    d = stack["env"]
    assert val(s, "lucid_docker_network_present", network=d.name("tron-net")) == 1
    assert val(s, "lucid_docker_network_present", network=d.name("lucid-net")) == 1
    assert val(s, "lucid_docker_network_present", network=d.name("absent-net")) == 0
    assert val(s, "lucid_docker_network_containers", network=d.name("tron-net")) == 2
    assert val(s, "lucid_docker_network_attached", network=d.name("tron-net"), container=d.name("tron-client")) == 1
    assert val(s, "lucid_tron_isolation_violations") == 1
    assert val(s, "lucid_tron_isolation_violation", container=d.name("api-gateway")) == 1
    assert val(s, "lucid_tron_isolation_violation", container=d.name("tron-client")) is None


async def test_docker_system_df_reports_bytes_per_type(stack: dict[str, Any]) -> None:
    cfg = stack["settings"].docker
    probe = dprobe.DiskUsageProbe(cfg, dprobe.DockerAccess(cfg))
    try:
        s = await run_probe(probe, stack["settings"])
    finally:
        await probe.close()
    assert val(s, "lucid_docker_disk_usage_bytes", type="images") > 0  # type: ignore[operator]
    for t in ("containers", "volumes", "build_cache"):
        assert val(s, "lucid_docker_disk_usage_bytes", type=t) is not None


async def test_docker_engine_not_running_fails_with_a_clear_reason(tmp_path: Path) -> None:
    from lucid_exporter.errors import ProbeError

    settings = Settings(docker={"base_url": f"unix://{tmp_path}/nothing.sock"})  # type: ignore[arg-type]
    probe = dprobe.ContainersProbe(settings.docker, {}, dprobe.DockerAccess(settings.docker))
    with pytest.raises(ProbeError) as e:
        await run_probe(probe, settings)
    await probe.close()
    assert e.value.reason == "refused"
    assert "docker engine not reachable" in e.value.message


def test_exporter_serves_container_metrics_and_survives_a_missing_engine(stack: dict[str, Any],
                                                                          tmp_path: Path) -> None:
    d = stack["env"]
    base = {"network": {"enabled": False}, "host": {"paths": [str(tmp_path)], "backup_dirs": {}},
            "services": {n: {"enabled": False} for n in
                         ("mongodb", "redis", "elasticsearch", "auth-service", "api-gateway", "rate-limiter",
                          "blockchain-engine", "session-anchoring", "session-pipeline", "session-recorder",
                          "chunk-processor", "session-storage", "session-api", "rdp-manager", "xrdp",
                          "session-controller", "resource-monitor", "node-management", "admin-interface",
                          "tron-client", "payout-router", "wallet-manager", "usdt-manager", "trx-staking",
                          "payment-gateway")}}
    good = start_exporter(tmp_path, {**base, "docker": {"base_url": d.base_url, "container_patterns": [d.name("*")]},
                                     "logs": {"enabled": False}}, name="good")
    bad = start_exporter(tmp_path, {**base, "docker": {"base_url": f"unix://{tmp_path}/none.sock"}}, name="bad")
    try:
        series = wait_until(lambda: (lambda s: s if value(s, "lucid_container_running",
                                                          container=d.name("running")) is not None else None)(
            scrape(f"{good.url}/metrics")), timeout=30, what="container metrics")
        assert value(series, "lucid_container_running", container=d.name("running")) == 1
        s = scrape(f"{bad.url}/metrics")
        assert value(s, "lucid_probe_success", probe="docker", target="containers") == 0
        assert value(s, "lucid_probe_errors_total", probe="docker", target="containers", reason="refused") == 1
        assert value(s, "lucid_probe_success", probe="logs", target="containers") == 0
        assert value(s, "lucid_probe_success", probe="host", target="host") == 1
        assert value(s, "lucid_host_filesystem_size_bytes", path=str(tmp_path)) > 0  # type: ignore[operator]
        assert "docker engine not reachable" in bad.log()
    finally:
        good.proc.stop()
        bad.proc.stop()
