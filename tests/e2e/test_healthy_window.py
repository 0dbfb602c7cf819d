"""The healthy stack pages nothing: the whole stack (the sim with its containers on a real Docker engine,
the real foundation stores, the exporter with its default probe settings) watched by a real Prometheus
with the SHIPPED rules, ``for:`` and windows as they are (alerts/*.rules.yml), scraping every 15 s with
a 10 s timeout like a production Prometheus, and a real Alertmanager paging a webhook.

For HEALTHY_WINDOW_SECONDS (10 minutes) no alert may be pending or firing, and nothing may reach the
webhook, except the one alert the test servers raise by a quirk of their own: SecantusDB reports
``connections.available`` as 0 (it has no connection limit), so LucidMongoDBConnectionsNearLimit
sees 100 % of its slots used (tests/fullstack.py, TEST_SERVER_ALERTS). Pending counts: an alert
whose ``for:`` is longer than the window would fire if the window were longer.

Marked ``drill`` (``-m "not drill"`` leaves it out of a quick run). ``make test`` runs it on the docker
worker while the other workers run the rest (the whole suite took 17.5 minutes on 2 cores with it);
``make drill`` runs it with the fault drills and prints its result (docs/alerts.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ..conftest import Exporter, Sim, start_exporter
from ..fullstack import TEST_SERVER_ALERTS, Foundation, start_foundation
from ..servers_docker import DockerEnv, docker_env, start_docker_sim  # noqa: F401 - fixture
from ..support import wait_until
from .monitoring import Monitoring, shipped_rules, start_monitoring

# The docker engine is shared: one xdist worker runs every test that uses it (see tests/conftest.py).
pytestmark = [pytest.mark.e2e, pytest.mark.drill, pytest.mark.xdist_group("docker")]

HEALTHY_WINDOW_SECONDS = 600
SCRAPE_INTERVAL, SCRAPE_TIMEOUT, EVALUATION_INTERVAL = "15s", "10s", "15s"


@dataclass
class HealthyStack:
    sim: Sim
    foundation: Foundation
    exporter: Exporter
    mon: Monitoring


@pytest.fixture(scope="module")
def healthy(docker_env: DockerEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HealthyStack]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("healthy-window")
    sim = start_docker_sim(tmp, docker_env)
    found = exp = mon = None
    try:
        found = start_foundation(tmp / "foundation")
        exp = start_exporter(tmp, found.config(sim.config))  # the exporter's defaults: timeouts, caches
        mon = start_monitoring(tmp / "mon", exp.url, shipped_rules(), scrape_timeout=SCRAPE_TIMEOUT,
                               scrape_interval=SCRAPE_INTERVAL, evaluation_interval=EVALUATION_INTERVAL)
        mon.wait_scraped(timeout=120)
        yield HealthyStack(sim, found, exp, mon)
    finally:
        if mon is not None:
            mon.stop()
        if exp is not None:
            exp.proc.stop()
        if found is not None:
            found.stop()
        sim.proc.stop(timeout=60)


def _active(mon: Monitoring) -> dict[str, str]:
    return {a["labels"]["alertname"]: a["state"] for a in mon.alerts("pending", "firing")}


def test_the_healthy_stack_pages_nothing_for_ten_minutes_with_the_shipped_rules(healthy: HealthyStack) -> None:
    mon = healthy.mon
    t0 = time.monotonic()
    # Before its first scrape Prometheus sees no exporter (LucidExporterAbsent goes pending): the window
    # starts once the start-up has settled, and says how long that took.
    wait_until(lambda: not set(_active(mon)) - set(TEST_SERVER_ALERTS), timeout=120, interval=2,
               what=f"start-up settled (still: {_active(mon)})")
    settled = time.monotonic() - t0
    start, deadline = time.time(), time.monotonic() + HEALTHY_WINDOW_SECONDS
    polls, quirks = 0, {}
    while time.monotonic() < deadline:
        active = _active(mon)
        unexpected = {k: v for k, v in active.items() if k not in TEST_SERVER_ALERTS}
        assert not unexpected, f"alerts on a healthy stack after {time.time() - start:.0f} s: {unexpected}"
        quirks.update({k: v for k, v in active.items() if k in TEST_SERVER_ALERTS})
        polls += 1
        time.sleep(5)
    window = time.time() - start
    paged = sorted({a["labels"]["alertname"] for _, a in mon.webhook.alerts_between(start, time.time(), "firing")})
    assert not set(paged) - set(TEST_SERVER_ALERTS), f"paged on a healthy stack: {paged}"
    # The stack was healthy and watched the whole time: every scrape succeeded, every service was up.
    minutes = f"{int(window // 60)}m"
    assert mon.query(f'min_over_time(up{{job="lucid-exporter"}}[{minutes}]) == 1')
    assert not mon.query(f"min_over_time(lucid_service_up[{minutes}]) == 0")
    assert not mon.query(f"min_over_time(lucid_probe_success[{minutes}]) == 0")
    scrapes = mon.query(f'count_over_time(up{{job="lucid-exporter"}}[{minutes}])')
    print(f"\nhealthy window (shipped rules, scrape {SCRAPE_INTERVAL}/{SCRAPE_TIMEOUT}, evaluation "
          f"{EVALUATION_INTERVAL}): start-up settled in {settled:.0f} s; {window:.0f} s watched, {polls} polls, "
          f"{scrapes[0]['value'][1] if scrapes else '?'} scrapes in the last {minutes}; pending or firing: none; "
          f"webhook: {', '.join(paged) or 'nothing'}; test-server quirk seen: "
          f"{', '.join(f'{k} ({v})' for k, v in sorted(quirks.items())) or 'none'}", flush=True)
