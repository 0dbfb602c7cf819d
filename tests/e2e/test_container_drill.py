"""Container fire drill: the sim with its containers on a real Docker engine (``sim --docker``), the
exporter, a real Prometheus with the drill rules (tests/e2e/drill.py: shipped thresholds, ``for:``
and windows shortened) and a real Alertmanager paging a webhook.

The healthy stack's start-up log lines (one ERROR, one CRITICAL, one code per container) page
nothing; each container fault of the drill table pages its alert and resolves once cleared: the
state alerts at once, the log and restart alerts when the burst has left their (scaled) window.
Run under the docker lock (container names are fixed).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from ..conftest import start_exporter
from ..servers_docker import DockerEnv, docker_env, start_docker_sim  # noqa: F401 - fixture
from ..support import wait_until
from . import drill
from .monitoring import shortened_rules, start_monitoring

# The docker engine is shared: one xdist worker runs every test that uses it (see tests/conftest.py).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("docker")]


@pytest.fixture(scope="module")
def drill_stack(docker_env: DockerEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[drill.SimStack]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("container-drill")
    sim = start_docker_sim(tmp, docker_env)
    exp = mon = None
    try:
        config = copy.deepcopy(sim.config)
        config["probes"] = dict(drill.EXPORTER_PROBES)
        config["docker"].update(min_interval_seconds=1, disk_usage_min_interval_seconds=60)
        config["logs"] = {**config["logs"], "min_interval_seconds": 1}
        exp = start_exporter(tmp, config)
        rules = shortened_rules(tmp / "rules", drill.FOR_SECONDS, drill.WINDOW_SCALE, drill.MIN_WINDOW_SECONDS)
        scrape = f"{drill.SCRAPE_SECONDS}s"
        mon = start_monitoring(tmp / "mon", exp.url, rules, scrape_timeout=scrape, scrape_interval=scrape)
        mon.wait_scraped(timeout=60)
        wait_until(lambda: mon.query("lucid_log_lines_total"), timeout=60, what="log counters scraped")
        yield drill.SimStack(sim, exp, mon, drill.healthy_window(mon))
    finally:
        if mon is not None:
            mon.stop()
        if exp is not None:
            exp.proc.stop()
        sim.proc.stop(timeout=60)
        drill.print_table("container drill (sim --docker)", [o for o in drill.RESULTS if o.row.stack == "docker"])


def test_the_healthy_container_stack_pages_nothing(drill_stack: drill.SimStack) -> None:
    """Taken by the fixture before any fault: nothing pending or firing while every drill rule passes its
    for: twice over, the containers' start-up ERROR and CRITICAL lines included."""
    assert drill_stack.healthy_active == [], f"alerts on a healthy stack: {drill_stack.healthy_active}"
    mon = drill_stack.mon
    assert mon.query('lucid_container_running{container="lucid-auth-service"} == 1')
    assert mon.query('lucid_log_lines_total{container="lucid-auth-service",level="ERROR"} >= 1')
    assert mon.query("lucid_tron_isolation_violations == 0")
    # Every sim container has a memory limit; docker stats' host memory is not taken for one.
    assert not mon.query("lucid_container_memory_limit_bytes > 1e9")


@pytest.mark.parametrize("batch", drill.batches("docker"))
def test_each_container_fault_pages_its_alert_and_resolves(drill_stack: drill.SimStack, batch: str) -> None:
    sim = drill_stack.sim
    rows = drill.rows_of(batch)
    outcomes = drill.run_batch(drill_stack.mon, rows, lambda r: sim.fault(r.target, r.fault),
                               lambda r: sim.clear(r.target), timeout=180)
    for o in outcomes:
        assert set(o.fired) == set(o.resolved) == {e.alert for e in o.row.expect}
