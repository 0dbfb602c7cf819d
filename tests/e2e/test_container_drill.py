"""Container fire drill: the sim with its containers on a real Docker engine (``sim --docker``),
the exporter, a real Prometheus with the shipped rules (``for:`` shortened to 2 s) and a real
Alertmanager paging a webhook. The healthy stack's start-up log lines (one ERROR, one CRITICAL,
one code per container) page nothing; each container fault pages its alert.

State alerts (a container stopped, the TRON network breached) resolve once the fault is cleared.
The log and restart alerts are over windows (5 m, 15 m, 30 m): they resolve when the burst has
left the window, longer than this drill waits.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ..conftest import Exporter, Sim, start_exporter
from ..servers_docker import DockerEnv, docker_env, start_docker_sim  # noqa: F401 - fixture
from ..support import wait_until
from .monitoring import Drill, Monitoring, page_and_resolve, shortened_rules, start_monitoring

# The docker engine is shared: one xdist worker runs every test that uses it (see tests/conftest.py).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("docker")]


DRILLS = (
    Drill("admin-interface", "container_stopped", "LucidAdminInterfaceNotRunning", "admin",
          "admin-dashboard-not-loading", True),
    Drill("rate-limiter", "container_stopped", "LucidRateLimiterNotRunning", "gateway", "rate-limiting-not-working",
          True),
    Drill("api-gateway", "tron_isolation_breach", "LucidTronIsolationViolated", "tron",
          "tron-network-connection-failures", True),
    Drill("session-api", "error_burst", "LucidErrorLogRateHigh", "system", "log-analysis-and-error-detection",
          False),
    Drill("session-api", "error_burst", "LucidErrorCodeBurst", "system", "log-analysis-and-error-detection", False),
    Drill("elasticsearch", "restart_loop", "LucidContainerRestarting", "system", "log-analysis-and-error-detection",
          False),
)


@dataclass
class DrillStack:
    sim: Sim
    exporter: Exporter
    mon: Monitoring
    healthy_firing: list[str]  # alerts seen over the healthy window, before any fault


def _healthy_window(mon: Monitoring, seconds: float = 12) -> list[str]:
    """Alerts that fire (or reach the webhook) over a window on the healthy stack. Run by the fixture
    before any fault, so the test that reads it holds whatever order the tests run in."""
    wait_until(lambda: mon.query("lucid_log_lines_total"), timeout=30, what="log counters scraped")
    wait_until(lambda: not mon.firing(), timeout=30,
               what=f"start-up alerts cleared: {sorted(a['labels']['alertname'] for a in mon.firing())}")
    start = time.time()
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen |= {a["labels"]["alertname"] for a in mon.firing()}
        time.sleep(1)
    return sorted(seen | set(mon.webhook.alerts_since(start, "firing")))


@pytest.fixture(scope="module")
def drill_stack(docker_env: DockerEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillStack]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("container-drill")
    sim = start_docker_sim(tmp, docker_env)
    exp = mon = None
    try:
        config = copy.deepcopy(sim.config)
        # Prometheus scrapes every second with a 1 s timeout: 0.9 s for the probes.
        config["probes"] = {"min_interval_seconds": 0, "timeout_seconds": 0.8, "scrape_timeout_offset_seconds": 0.1}
        config["docker"].update(min_interval_seconds=1, disk_usage_min_interval_seconds=60)
        config["logs"] = {**config["logs"], "min_interval_seconds": 1}
        exp = start_exporter(tmp, config)
        mon = start_monitoring(tmp / "mon", exp.url, shortened_rules(tmp / "rules"))
        mon.wait_scraped()
        yield DrillStack(sim, exp, mon, _healthy_window(mon))
    finally:
        if mon is not None:
            mon.stop()
        if exp is not None:
            exp.proc.stop()
        sim.proc.stop(timeout=60)


def _firing(stack: DrillStack) -> list[str]:
    return sorted(a["labels"]["alertname"] for a in stack.mon.firing())


def test_the_healthy_container_stack_pages_nothing(drill_stack: DrillStack) -> None:
    assert drill_stack.healthy_firing == [], f"alerts firing on a healthy stack: {drill_stack.healthy_firing}"
    mon = drill_stack.mon
    assert mon.query('lucid_container_running{container="lucid-auth-service"} == 1')
    assert mon.query('lucid_log_lines_total{container="lucid-auth-service",level="ERROR"} >= 1')


def test_each_container_fault_pages_its_alert(drill_stack: DrillStack) -> None:
    sim = drill_stack.sim
    page_and_resolve(drill_stack.mon, DRILLS, lambda d: sim.fault(d.service, d.fault), sim.clear, timeout=90)
