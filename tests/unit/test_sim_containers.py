"""The sim's containers, without an engine: what they log, the fault file, ownership, the config."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import tarfile
from pathlib import Path

import pytest

from lucid_exporter.probes.logs import parse_line
from lucid_sim import cli as sim_cli
from lucid_sim import containers as csim
from lucid_sim.catalogue import default_catalogue

CATALOGUE = default_catalogue()
PROFILES = csim.profiles(CATALOGUE)


def test_every_catalogue_service_gets_a_container_and_a_code_of_its_cluster() -> None:
    assert sorted(PROFILES) == sorted(CATALOGUE)
    assert PROFILES["auth-service"].code == "LUCID_ERR_2001"
    assert PROFILES["api-gateway"].code == "LUCID_ERR_3001"
    assert PROFILES["rate-limiter"].code == "LUCID_ERR_3002"
    assert len({p.code for p in PROFILES.values()}) == len(PROFILES)
    assert [n for n, p in PROFILES.items() if p.json] == ["api-gateway"]


@pytest.mark.parametrize("service", ["auth-service", "api-gateway", "admin-interface", "mongodb", "tron-client"])
def test_start_up_lines_feed_every_log_metric_the_dashboards_read(service: str) -> None:
    p = PROFILES[service]
    slow = parse_line(f"2026-11-29 05:00:00,001 - {p.logger} - WARNING - {p.slow}")
    assert slow.level == "WARN" and slow.slow
    error = parse_line(f"2026-11-29 05:00:00,002 - {p.logger} - ERROR - {p.error}")
    assert error.level == "ERROR" and error.codes == (p.code,) and not error.slow
    critical = parse_line(f"2026-11-29 05:00:00,003 - {p.logger} - CRITICAL - {p.critical}")
    assert critical.level == "CRITICAL" and not critical.codes
    if service in ("auth-service", "api-gateway", "admin-interface"):
        assert p.auth_failure is not None and parse_line(f"x - y - WARNING - {p.auth_failure}").auth_failure
    for info in p.infos:  # routine lines count for nothing (the alerts stay quiet)
        line = parse_line(f"2026-11-29 05:00:00,004 - {p.logger} - INFO - {info}")
        assert line.level is None and not line.codes and not line.slow and not line.auth_failure, info


def _run_script(service: str, tmp: Path, seconds: float = 2.5) -> list[str]:
    """The container's script under the host's busybox, with /tmp mapped to ``tmp``."""
    busybox = shutil.which("busybox")
    assert busybox, "busybox-static is installed by scripts/setup.sh"
    script = csim.log_script(CATALOGUE[service], PROFILES[service]).replace("/tmp/", f"{tmp}/")
    p = subprocess.run(["timeout", "-s", "TERM", str(seconds), busybox, "sh", "-c", script],
                       capture_output=True, text=True, timeout=30)
    return p.stdout.splitlines()


def test_the_script_logs_plain_lines_the_log_probe_parses(tmp_path: Path) -> None:
    lines = _run_script("auth-service", tmp_path)
    infos = [parse_line(line) for line in lines]
    assert [i.level for i in infos[:5]] == [None, "WARN", "ERROR", "CRITICAL", "WARN"]
    assert infos[2].codes == ("LUCID_ERR_2001",)
    assert lines[0].split(" - ")[1:] == ["lucid.auth-service", "INFO", "Starting auth-service"]
    assert lines[-1].endswith("INFO - Received SIGTERM, shutting down")
    # A restart (the marker file is there): no start-up errors again.
    again = [parse_line(line).level for line in _run_script("auth-service", tmp_path, 1.0)]
    assert "ERROR" not in again and "CRITICAL" not in again


def test_the_gateway_script_logs_json_and_bursts_errors_from_the_fault_file(tmp_path: Path) -> None:
    (tmp_path / "lucid-sim-fault").write_text("error_burst\n")
    lines = _run_script("api-gateway", tmp_path)
    assert all(line.startswith('{"timestamp": "') for line in lines)
    errors = [parse_line(line) for line in lines if parse_line(line).level == "ERROR"]
    assert len(errors) >= 11 and all(e.codes == ("LUCID_ERR_3001",) for e in errors)


def test_restart_loop_makes_the_script_exit_1(tmp_path: Path) -> None:
    busybox = shutil.which("busybox")
    assert busybox
    (tmp_path / "lucid-sim-fault").write_text("restart_loop\n")
    script = csim.log_script(CATALOGUE["redis"], PROFILES["redis"]).replace("/tmp/", f"{tmp_path}/")
    p = subprocess.run([busybox, "sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert parse_line(p.stdout.splitlines()[-1]).level == "CRITICAL"


def test_the_fault_file_tarball_holds_the_modes() -> None:
    with tarfile.open(fileobj=io.BytesIO(csim.fault_file_tar("error_burst restart_loop"))) as tar:
        (member,) = tar.getmembers()
        assert member.name == "lucid-sim-fault"
        f = tar.extractfile(member)
        assert f is not None and f.read() == b"error_burst restart_loop\n"


def test_the_busybox_rootfs_has_the_applets_the_scripts_use() -> None:
    with tarfile.open(fileobj=io.BytesIO(csim.busybox_rootfs_tar())) as tar:
        names = set(tar.getnames())
    assert {"bin/busybox", "bin/sh", "bin/date", "bin/sleep", "tmp"} <= names


def test_a_sim_that_is_gone_owns_nothing_and_another_hosts_sim_is_assumed_alive() -> None:
    p = subprocess.Popen(["true"])
    p.wait()
    host = socket.gethostname()
    assert not csim.owner_alive(f"{host}:{p.pid}")
    assert not csim.owner_alive(f"{host}:{os.getpid()}")  # ourselves: leftovers of this process
    assert not csim.owner_alive("garbage")
    assert csim.owner_alive("some-other-host:1")


def _args(*extra: str, tmp: Path) -> argparse.Namespace:
    return sim_cli.parser().parse_args(["--data-dir", str(tmp), *extra])


def test_without_docker_the_config_keeps_the_docker_and_log_probes_off(tmp_path: Path) -> None:
    stack, _, containers = sim_cli.build_stack(_args(tmp=tmp_path))
    assert containers is None
    cfg = stack.exporter_config()
    assert cfg["docker"] == {"enabled": False} and cfg["logs"] == {"enabled": False}
    assert "container_stopped" not in stack.faults.kinds()


def test_with_docker_the_config_enables_them_on_that_engine(tmp_path: Path) -> None:
    stack, _, containers = sim_cli.build_stack(_args("--docker", "--docker-url", "tcp://10.0.0.1:2375",
                                                     tmp=tmp_path))
    assert containers is not None
    cfg = stack.exporter_config()
    assert cfg["docker"]["enabled"] is True and cfg["docker"]["base_url"] == "tcp://10.0.0.1:2375"
    assert cfg["logs"] == {"enabled": True}
    assert set(csim.FAULT_KINDS) <= set(stack.faults.kinds())
