"""Rate Limiting Not Working, drilled against the real gateway's behaviour: a working gateway that sends
X-RateLimit-* only on its 429 does not page; one whose start-up line says its limiter is disabled pages.

The gateway's HTTP side is ``lucid-sim --profile lucid``; its container (whose log holds the start-up line
``RateLimitMiddleware initialized (enabled=..., rpm=...)``, as the real middleware logs it) runs on a
real Docker engine. Run under the shared docker lock:
``flock /tmp/lucid-docker.lock .venv/bin/python -m pytest -q tests/integration/test_lucid_rate_limit_drill.py``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lucid_exporter import catalogue, config
from lucid_exporter.doctor import diagnose
from lucid_exporter.engine import ProbeResult
from lucid_exporter.inventory import Service
from lucid_exporter.probes.docker import shared_access
from lucid_exporter.probes.gateway import RateLimiterStartupProbe

from ..conftest import Sim, start_sim
from ..servers_docker import DockerEnv, docker_env, run_probe, val  # noqa: F401 - fixture
from ..support import EXPORTER

# The docker engine is shared: one xdist worker runs every test that uses it (see tests/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("docker")]

CHECK = next(c for c in catalogue.profile("lucid").checks if c.name == "gateway_rate_limit")


def startup_line(enabled: bool, rpm: int = 100) -> str:
    """The line the gateway's JSON logging writes for the middleware's start."""
    return json.dumps({"timestamp": "2026-03-30 08:00:01,123", "level": "INFO",
                       "logger": "api.app.middleware.rate_limit",
                       "msg": f"RateLimitMiddleware initialized (enabled={enabled}, rpm={rpm})"})


def run_gateway(env: DockerEnv, suffix: str, line: str | None) -> str:
    lines = ["echo 'INFO:     Started server process [1]'"]
    if line is not None:
        lines.append(f"echo '{line}'")
    lines += ["echo 'INFO:     Uvicorn running on http://api-gateway:8080'", "sleep 3600"]
    env.run(suffix, "; ".join(lines))
    env.wait_state(suffix, lambda s: s["State"]["Running"])
    return env.name(suffix)


@pytest.fixture(scope="module")
def lucid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    sim = start_sim(tmp_path_factory.mktemp("drill-sim"), profile="lucid")
    yield sim
    sim.proc.stop()


def _probe(env: DockerEnv, container: str) -> tuple[RateLimiterStartupProbe, config.Settings]:
    settings = config.load(None, {"status": {"profile": "lucid"}, "docker": {"base_url": env.base_url}})
    service = Service("api-gateway", "gateway", container, "http://127.0.0.1:1", "/health", "http")
    return RateLimiterStartupProbe(CHECK, service, shared_access(settings.docker)), settings


def _problems(probe: RateLimiterStartupProbe, samples: list[Any], settings: config.Settings) -> set[str]:
    import time

    result = ProbeResult(probe, samples, True, 0.01, time.time(), time.monotonic())
    return {f.problem.slug for f in diagnose([result], settings).findings}


def test_the_start_up_line_enabled_false_is_evidence_and_pages(docker_env: DockerEnv) -> None:  # noqa: F811
    probe, settings = _probe(docker_env, run_gateway(docker_env, "gw-off", startup_line(False)))
    samples = asyncio.run(run_probe(probe, settings))
    assert val(samples, "lucid_gateway_rate_limiter_enabled") == 0
    assert val(samples, "lucid_gateway_rate_limiter_requests_per_minute") == 100
    assert "rate-limiting-not-working" in _problems(probe, samples, settings)
    # Read once per container start: the next run answers from what it read.
    assert asyncio.run(run_probe(probe, settings)) == samples


def test_a_working_gateway_logs_enabled_true_and_does_not_page(docker_env: DockerEnv) -> None:  # noqa: F811
    probe, settings = _probe(docker_env, run_gateway(docker_env, "gw-on", startup_line(True, 1000)))
    samples = asyncio.run(run_probe(probe, settings))
    assert val(samples, "lucid_gateway_rate_limiter_enabled") == 1
    assert val(samples, "lucid_gateway_rate_limiter_requests_per_minute") == 1000
    assert "rate-limiting-not-working" not in _problems(probe, samples, settings)


def test_without_the_line_there_is_no_evidence_and_no_page(docker_env: DockerEnv) -> None:  # noqa: F811
    """At the code's HEAD the gateway's logging setup fails and its INFO lines are not printed."""
    probe, settings = _probe(docker_env, run_gateway(docker_env, "gw-silent", None))
    samples = asyncio.run(run_probe(probe, settings))
    assert samples == []
    assert "rate-limiting-not-working" not in _problems(probe, samples, settings)


def test_a_restart_with_the_limiter_switched_off_is_read_again(docker_env: DockerEnv) -> None:  # noqa: F811
    """The container's command prints enabled=True on its first start and enabled=False after."""
    env = docker_env
    script = (f"if [ -e /tmp/started ]; then echo '{startup_line(False)}'; else touch /tmp/started; "
              f"echo '{startup_line(True)}'; fi; sleep 3600")
    env.run("gw-restart", script)
    env.wait_state("gw-restart", lambda s: s["State"]["Running"])
    probe, settings = _probe(env, env.name("gw-restart"))
    assert val(asyncio.run(run_probe(probe, settings)), "lucid_gateway_rate_limiter_enabled") == 1
    env.client.containers.get(env.name("gw-restart")).restart(timeout=1)
    env.wait_state("gw-restart", lambda s: s["State"]["Running"] and s["RestartCount"] == 0)
    assert val(asyncio.run(run_probe(probe, settings)), "lucid_gateway_rate_limiter_enabled") == 0


def _doctor(tmp: Path, cfg: dict[str, Any]) -> dict[str, Any]:
    path = tmp / "doctor.yml"
    path.write_text(yaml.safe_dump(cfg))
    r = subprocess.run([*EXPORTER, "doctor", "--json", "--target", "api-gateway", "--config", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_drill_through_the_exporter_working_then_limiter_off(docker_env: DockerEnv, lucid: Sim,  # noqa: F811
                                                             tmp_path: Path) -> None:
    """The whole exporter (doctor --target api-gateway), the gateway's HTTP side on the lucid sim and its
    log in a real container: headers only on 429 and enabled=True -> nothing; enabled=False -> the page."""
    for suffix, enabled, expected in (("drill-on", True, False), ("drill-off", False, True)):
        container = run_gateway(docker_env, suffix, startup_line(enabled))
        cfg = dict(lucid.config)
        gateway = {"url": lucid.config["services"]["api-gateway"]["url"], "container": container}
        cfg["services"] = {**lucid.config["services"], "api-gateway": gateway}
        cfg["docker"] = {"base_url": docker_env.base_url}
        cfg["logs"] = {"enabled": True}
        report = _doctor(tmp_path, cfg)
        found = {f["problem"]: f for f in report["findings"]}
        assert ("rate-limiting-not-working" in found) is expected, report
        if expected:
            assert [a["alert"] for a in found["rate-limiting-not-working"]["alerts"]] == [
                "LucidGatewayRateLimitNotEnforced"]
