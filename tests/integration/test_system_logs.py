"""The guide's log analysis (`docker logs ... | grep -E "(ERROR|WARN|CRITICAL)"`, `grep -o LUCID_ERR_*`,
`grep -E "slow|timeout|duration"`, auth lines) against real container logs of a real engine."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from lucid_exporter.config import Settings
from lucid_exporter.probes.docker import DockerAccess
from lucid_exporter.probes.logs import LogsProbe

from ..servers_docker import DockerEnv, docker_env, run_probe, val  # noqa: F401 - fixture
from ..support import wait_until

# The docker engine is shared: one xdist worker runs every test that uses it (see tests/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("docker")]
FIX = Path(__file__).resolve().parent.parent / "fixtures" / "logs"


def _probe(d: DockerEnv, pattern: str, **logs: Any) -> tuple[LogsProbe, Settings]:
    settings = Settings(docker={"base_url": d.base_url, "container_patterns": [d.name(pattern)]},  # type: ignore[arg-type]
                        logs=logs)  # type: ignore[arg-type]
    return LogsProbe(settings.logs, settings.docker.container_patterns, {}, DockerAccess(settings.docker)), settings


def _wait_lines(d: DockerEnv, suffix: str, n: int) -> None:
    wait_until(lambda: len(d.client.api.logs(d.name(suffix)).splitlines()) >= n, timeout=30,
               what=f"{n} log lines in {suffix}")


async def test_errors_and_lucid_err_codes_counted_in_plain_and_json_logs(docker_env: DockerEnv) -> None:  # noqa: F811
    d = docker_env
    mount = {str(FIX): {"bind": "/feed", "mode": "ro"}}
    d.run("fmt-plain", "cat /feed/plain.log; sleep 3600", volumes=mount)
    d.run("fmt-json", "cat /feed/gateway.jsonl; sleep 3600", volumes=mount)
    _wait_lines(d, "fmt-plain", 10)
    _wait_lines(d, "fmt-json", 8)
    probe, settings = _probe(d, "fmt-*")
    try:
        s = await run_probe(probe, settings)
    finally:
        await probe.close()
    p, j = d.name("fmt-plain"), d.name("fmt-json")
    assert [val(s, "lucid_log_lines_total", container=p, level=lv) for lv in ("ERROR", "WARN", "CRITICAL")] == [3, 2, 1]
    assert [val(s, "lucid_log_lines_total", container=j, level=lv) for lv in ("ERROR", "WARN", "CRITICAL")] == [2, 2, 1]
    assert val(s, "lucid_log_error_codes_total", container=p, code="LUCID_ERR_1003") == 2
    assert val(s, "lucid_log_error_codes_total", container=j, code="LUCID_ERR_3001") == 2
    assert val(s, "lucid_log_error_codes_total", container=j, code="LUCID_ERR_1101") == 1
    assert val(s, "lucid_log_slow_lines_total", container=p) == 2
    assert val(s, "lucid_log_slow_lines_total", container=j) == 2
    assert val(s, "lucid_log_auth_failure_lines_total", container=p) == 2
    assert val(s, "lucid_log_auth_failure_lines_total", container=j) == 1
    assert val(s, "lucid_log_topic_lines_total", container=p, topic="hardware_wallet") == 1
    assert val(s, "lucid_log_topic_lines_total", container=j, topic="cors") == 1


async def test_log_growth_between_scrapes_is_counted_exactly_once(docker_env: DockerEnv, tmp_path: Path) -> None:  # noqa: F811
    d = docker_env
    feed = tmp_path / "log"
    feed.write_text("".join(f"2026-11-28 09:00:00,000 - lucid.gateway - ERROR - boot {i} LUCID_ERR_4000\n"
                            for i in range(5)))
    d.run("grow", "tail -n +1 -f /feed/log", volumes={str(tmp_path): {"bind": "/feed", "mode": "ro"}})
    _wait_lines(d, "grow", 5)
    probe, settings = _probe(d, "grow")
    c = d.name("grow")
    try:
        s1 = await run_probe(probe, settings)
        assert val(s1, "lucid_log_lines_total", container=c, level="ERROR") == 5
        assert val(s1, "lucid_log_read_lines_total", container=c) == 5
        for batch in range(3):
            with feed.open("a") as f:
                for i in range(100):
                    lvl = "ERROR" if i % 2 else "INFO"
                    f.write(f"2026-11-28 09:00:01,000 - lucid.gateway - {lvl} - b{batch} line {i} LUCID_ERR_4242\n")
            _wait_lines(d, "grow", 5 + 100 * (batch + 1))
            s = await run_probe(probe, settings)
            assert val(s, "lucid_log_read_lines_total", container=c) == 5 + 100 * (batch + 1)
            assert val(s, "lucid_log_lines_total", container=c, level="ERROR") == 5 + 50 * (batch + 1)
            assert val(s, "lucid_log_error_codes_total", container=c, code="LUCID_ERR_4242") == 100 * (batch + 1)
        quiet = await run_probe(probe, settings)  # nothing new: nothing counted again
        assert val(quiet, "lucid_log_read_lines_total", container=c) == 305
        assert val(quiet, "lucid_log_error_codes_total", container=c, code="LUCID_ERR_4000") == 5
    finally:
        await probe.close()


async def test_restarted_and_recreated_containers_are_read_without_double_counting(docker_env: DockerEnv) -> None:  # noqa: F811
    d = docker_env
    mount = {str(FIX): {"bind": "/feed", "mode": "ro"}}
    ctr = d.run("again", "cat /feed/plain.log", volumes=mount)
    ctr.wait(timeout=30)
    _wait_lines(d, "again", 10)
    probe, settings = _probe(d, "again")
    c = d.name("again")
    try:
        s = await run_probe(probe, settings)
        assert val(s, "lucid_log_lines_total", container=c, level="ERROR") == 3
        ctr.start()  # restarted: same container, same log file, the lines are written once more
        ctr.wait(timeout=30)
        _wait_lines(d, "again", 20)
        s = await run_probe(probe, settings)
        assert val(s, "lucid_log_lines_total", container=c, level="ERROR") == 6
        assert val(s, "lucid_log_read_lines_total", container=c) == 20
        ctr.remove(force=True)  # recreated under the same name: a new log, read from its start
        d.run("again", "cat /feed/gateway.jsonl; sleep 3600", volumes=mount)
        _wait_lines(d, "again", 8)
        s = await run_probe(probe, settings)
        assert val(s, "lucid_log_lines_total", container=c, level="ERROR") == 8
        assert val(s, "lucid_log_read_lines_total", container=c) == 28
    finally:
        await probe.close()


async def test_first_read_is_bounded_and_error_codes_are_capped(docker_env: DockerEnv) -> None:  # noqa: F811
    d = docker_env
    d.run("big", "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo \"x - y - ERROR - line $i LUCID_ERR_$((i % 7))\"; "
                 "done; sleep 3600")
    _wait_lines(d, "big", 3000)
    probe, settings = _probe(d, "big", first_read_max_lines=1000, max_error_codes=3)
    c = d.name("big")
    try:
        s = await run_probe(probe, settings)
    finally:
        await probe.close()
    assert val(s, "lucid_log_read_lines_total", container=c) == 1000
    codes = {dict(x.labels)["code"]: x.value for x in s if x.name == "lucid_log_error_codes_total"}
    assert len(codes) == 4 and "other" in codes
    assert sum(codes.values()) == 1000


async def test_log_probe_without_engine_fails_with_a_clear_reason(tmp_path: Path) -> None:
    from lucid_exporter.errors import ProbeError

    settings = Settings(docker={"base_url": f"unix://{tmp_path}/none.sock"})  # type: ignore[arg-type]
    probe = LogsProbe(settings.logs, ["lucid-*"], {}, DockerAccess(settings.docker))
    start = time.monotonic()
    with pytest.raises(ProbeError) as e:
        await run_probe(probe, settings)
    await probe.close()
    assert e.value.reason == "refused" and time.monotonic() - start < 5
