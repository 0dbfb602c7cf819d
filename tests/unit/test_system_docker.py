"""`docker ps`, `docker inspect`, `docker stats`, `docker network inspect` and `docker system df`
replies (recorded from a real engine) turned into samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lucid_exporter.probes.docker import (
    container_samples,
    disk_usage_samples,
    network_samples,
    parse_docker_time,
    select_containers,
    stats_samples,
    tron_violations,
)

from ..servers_docker import val

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "docker"


def _load(name: str) -> Any:
    return json.loads((FIX / name).read_text())


def test_oom_killed_container_from_a_recorded_inspect() -> None:
    s = container_samples("lucid-chunk-processor", _load("inspect_oom.json"))
    assert val(s, "lucid_container_oom_killed", container="lucid-chunk-processor") == 1
    assert val(s, "lucid_container_running", container="lucid-chunk-processor") == 0
    assert val(s, "lucid_container_exit_code", container="lucid-chunk-processor") == 137
    assert val(s, "lucid_container_health_status", container="lucid-chunk-processor", status="none") == 1


def test_unhealthy_container_from_a_recorded_inspect() -> None:
    s = container_samples("lucid-api-gateway", _load("inspect_unhealthy.json"))
    assert val(s, "lucid_container_health_status", container="lucid-api-gateway", status="unhealthy") == 1
    assert val(s, "lucid_container_health_status", container="lucid-api-gateway", status="healthy") == 0
    assert val(s, "lucid_container_running", container="lucid-api-gateway") == 1


def test_restart_loop_from_a_recorded_inspect() -> None:
    s = container_samples("lucid-rdp-manager", _load("inspect_crashloop.json"))
    assert val(s, "lucid_container_restart_count", container="lucid-rdp-manager") == 6
    assert val(s, "lucid_container_started_at_seconds", container="lucid-rdp-manager") > 1.7e9  # type: ignore[operator]


def test_memory_limit_is_the_configured_one_and_zero_without_one() -> None:
    """docker stats gives an unlimited container the host's memory as its "limit": a container using
    most of the host would look 90 % full. The limit is docker run --memory (HostConfig.Memory), 0
    without one, which LucidContainerMemoryNearLimit excludes from its ratio."""
    inspect = _load("inspect_oom.json")
    s = container_samples("lucid-session-recorder", inspect)
    assert val(s, "lucid_container_memory_limit_bytes", container="lucid-session-recorder") == 16 * 1024 * 1024
    inspect["HostConfig"]["Memory"] = 0
    s = container_samples("lucid-session-recorder", inspect)
    assert val(s, "lucid_container_memory_limit_bytes", container="lucid-session-recorder") == 0


def test_missing_container_is_present_zero_and_nothing_else() -> None:
    s = container_samples("lucid-mongodb", None)
    assert {x.name: x.value for x in s} == {"lucid_container_present": 0, "lucid_container_running": 0}


def test_stats_give_cpu_seconds_and_memory_without_page_cache() -> None:
    stats = _load("stats_running.json")
    s = stats_samples("c", stats)
    assert val(s, "lucid_container_cpu_seconds_total", container="c") == stats["cpu_stats"]["cpu_usage"][
        "total_usage"] / 1e9
    # The limit comes from docker inspect, not from the stats' "limit" (the host's memory when unlimited).
    assert val(s, "lucid_container_memory_limit_bytes", container="c") is None
    stats["memory_stats"]["stats"]["total_inactive_file"] = 4096
    assert val(stats_samples("c", stats), "lucid_container_memory_usage_bytes", container="c") == (
        stats["memory_stats"]["usage"] - 4096)
    assert stats_samples("c", {}) == []  # a stopping container: no numbers, no error


def test_system_df_sums_bytes_per_type() -> None:
    df = _load("system_df.json")
    s = disk_usage_samples(df)
    assert val(s, "lucid_docker_disk_usage_bytes", type="images") == sum(i["Size"] for i in df["Images"])
    df["Volumes"] = [{"Name": "lucid-mongo-data", "UsageData": {"Size": 1000}}, {"UsageData": {"Size": -1}}]
    df["BuildCache"] = [{"Size": 5}, {"Size": 7}]
    s = disk_usage_samples(df)
    assert val(s, "lucid_docker_disk_usage_bytes", type="volumes") == 1000  # -1: size not computed
    assert val(s, "lucid_docker_disk_usage_bytes", type="build_cache") == 12


def test_network_inspect_lists_attached_containers_and_tron_violations() -> None:
    net = _load("network_tron.json")
    s = network_samples("lucid-tron-network", net)
    assert val(s, "lucid_docker_network_present", network="lucid-tron-network") == 1
    assert val(s, "lucid_docker_network_containers", network="lucid-tron-network") == 1
    assert tron_violations(["lucid-tron-client", "lucid-api-gateway"], ["lucid-tron-client"]) == ["lucid-api-gateway"]
    assert val(network_samples("lucid-network", None), "lucid_docker_network_present", network="lucid-network") == 0


def test_catalogue_and_pattern_selection() -> None:
    listing = [{"Id": "a", "Names": ["/lucid-redis"]}, {"Id": "b", "Names": ["/lucid-extra-worker"]},
               {"Id": "c", "Names": ["/unrelated"]}]
    sel = select_containers(listing, ["lucid-redis", "lucid-mongodb"], ["lucid-*"])
    assert list(sel) == ["lucid-extra-worker", "lucid-mongodb", "lucid-redis"]
    assert sel["lucid-mongodb"] is None


def test_docker_times() -> None:
    assert parse_docker_time("0001-01-01T00:00:00Z") == 0
    assert parse_docker_time("2026-11-28T09:00:00.5Z") == 1795856400.5
    assert parse_docker_time("garbage") == 0
