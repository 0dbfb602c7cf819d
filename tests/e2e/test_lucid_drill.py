"""Fire drill under the sim's lucid personality (``lucid-sim --profile lucid``: the real Lucid code's
answers, read by the exporter's ``lucid`` API profile): the fault kinds only the real code makes possible
(a dependency down inside a health map, a tuple body, a process up but not initialised, a hardware
wallet unavailable or switched off, ...) each page their alert, or nothing, and resolve once cleared.
The kinds both personalities share are drilled under the guide's (test_fire_drill.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..conftest import Sim, start_exporter, start_sim
from ..support import http_send
from . import drill
from .monitoring import shortened_rules, start_monitoring

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lucid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[drill.SimStack]:
    tmp = tmp_path_factory.mktemp("lucid-drill")
    sim = start_sim(tmp, profile="lucid")
    exp = mon = None
    try:
        cfg = {**sim.config,
               "probes": dict(drill.EXPORTER_PROBES)}
        exp = start_exporter(tmp, cfg)
        rules = shortened_rules(tmp / "rules", drill.FOR_SECONDS, drill.WINDOW_SCALE, drill.MIN_WINDOW_SECONDS)
        scrape = f"{drill.SCRAPE_SECONDS}s"
        mon = start_monitoring(tmp / "mon", exp.url, rules, scrape_timeout=scrape, scrape_interval=scrape)
        mon.wait_scraped(timeout=60)
        yield drill.SimStack(sim, exp, mon, drill.healthy_window(mon))
    finally:
        if mon is not None:
            mon.stop()
        if exp is not None:
            exp.proc.stop()
        sim.proc.stop()
        drill.print_table("lucid personality drill (lucid-sim --profile lucid)",
                          [o for o in drill.RESULTS if o.row.stack == "lucid"])


def test_the_healthy_lucid_stack_pages_nothing_with_the_drill_rules(lucid: drill.SimStack) -> None:
    assert lucid.healthy_active == [], f"alerts pending or firing on a healthy stack: {lucid.healthy_active}"
    assert lucid.mon.query('lucid_service_up{service="auth-service"} == 1')


def _clear(sim: Sim, row: drill.Row) -> None:
    status, body = http_send(f"{sim.control}/faults/{row.target}/{row.fault}", "DELETE")
    assert status == 200, body


@pytest.mark.parametrize("batch", drill.batches("lucid"))
def test_each_fault_of_the_real_code_pages_its_alert_once_and_resolves(lucid: drill.SimStack, batch: str) -> None:
    rows = drill.rows_of(batch)
    outcomes = drill.run_batch(lucid.mon, rows, lambda r: lucid.sim.fault(r.target, r.fault),
                               lambda r: _clear(lucid.sim, r))
    for o in outcomes:
        assert set(o.fired) == set(o.resolved) == {e.alert for e in o.row.expect}
