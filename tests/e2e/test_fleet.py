"""A fleet of three Lucid stacks watched from one place, through each shipped topology of
deploy/fleet/ with real binaries (tests/servers_fleet.py): Prometheus agents remote-writing to a
central Prometheus; vmagent, victoria-metrics and vmalert with the same, unchanged rule files; two
Prometheus replicas sharing the exporters by hashmod.

Every series carries the ``stack`` target label its agent (or the shards' target list) sets; a
healthy fleet pages nothing; a fault injected into one stack pages exactly its alerts, each
labelled with that stack alone, and they resolve once it is cleared.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from ..servers_fleet import TOPOLOGIES, Engine, FleetStack, hashmod, stack_names, start_stacks
from ..support import wait_until

pytestmark = pytest.mark.e2e

SHARDS = 2  # deploy/fleet/sharding has two replicas
# auth-service refusing connections in one stack: the alerts the shipped rules raise for it, each
# identified by the labels that tell it from the others (all of them also carry the stack's label).
# The token check fails too, but LucidAuthTokenVerificationFailing waits for the auth service of the
# same stack to be up (the outage pages once, as LucidAuthServiceDown; the probe failures are tickets the
# example Alertmanager configuration inhibits under it).
FAULT = ("auth-service", "down")
EXPECTED: tuple[dict[str, str], ...] = (
    {"alertname": "LucidAuthServiceDown", "service": "auth-service"},
    {"alertname": "LucidProbeFailing", "probe": "health", "target": "auth-service"},
    {"alertname": "LucidProbeFailing", "probe": "lucid_status", "target": "auth-service/auth_verify"},
)


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[FleetStack]]:
    fleet = start_stacks(tmp_path_factory.mktemp("fleet"), stack_names())
    yield fleet
    for s in fleet:
        s.stop()


@pytest.fixture(scope="module", params=list(TOPOLOGIES))
def engine(request: pytest.FixtureRequest, stacks: list[FleetStack],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = TOPOLOGIES[request.param](tmp_path_factory.mktemp(request.param), stacks)
    try:
        def every_stack_arrived() -> bool:
            try:
                return {r["metric"].get("stack") for r in eng.query('lucid_service_up{service="auth-service"}')} \
                    == {s.name for s in stacks}
            except AssertionError:  # the store answers 503 while it starts
                return False

        wait_until(every_stack_arrived, timeout=60, interval=0.5, what="every stack's series in the store")
        yield eng
    finally:
        eng.stop()


def _stacks_on(eng: Engine, url: str) -> set[str]:
    return {r["metric"].get("stack", "") for r in eng.query("count by (stack) (lucid_service_up)", url)}


def test_every_series_carries_its_stack_and_each_stack_is_collected_once(engine: Engine,
                                                                         stacks: list[FleetStack]) -> None:
    names = {s.name for s in stacks}
    per_store = {url: _stacks_on(engine, url) for url in engine.query_urls}
    assert set().union(*per_store.values()) == names, per_store
    assert sum(len(v) for v in per_store.values()) == len(names), f"a stack collected twice: {per_store}"
    # No series without a stack: the exporter's own and the scrape's (up) alike.
    assert not engine.query('{__name__=~"lucid_.+|up", stack=""}')
    if engine.topology == "sharded":
        for n, url in enumerate(engine.query_urls):
            assert per_store[url] == {s for s in names if hashmod(s, SHARDS) == n}, (n, per_store)
        assert all(per_store.values()), "the shipped stack names spread over both replicas"


def test_a_healthy_fleet_pages_nothing(engine: Engine) -> None:
    # Until the first samples arrive the store has no exporter at all (LucidExporterAbsent, with
    # the shortened for:); the window starts once that start-up state has cleared.
    wait_until(lambda: not engine.firing(), timeout=60, what="start-up alerts cleared")
    start = time.time()
    deadline = time.monotonic() + 12  # every shortened rule passes its for: several times over
    while time.monotonic() < deadline:
        assert not engine.firing(), f"alerts firing on a healthy fleet: {engine.firing()}"
        time.sleep(1)
    assert not engine.webhook.alerts_since(start, "firing")


def _matches(labels: dict[str, str], want: dict[str, str]) -> bool:
    return want.items() <= labels.items()


def _paged(engine: Engine, status: str, since: float) -> list[dict[str, Any]]:
    """Every alert of ``status`` in the notifications received since ``since``."""
    return [a["labels"] for at, n in zip(list(engine.webhook.received_at), list(engine.webhook.notifications),
                                         strict=True) if at >= since for a in n["alerts"] if a["status"] == status]


def test_a_fault_in_one_stack_pages_that_stack_alone_then_resolves(engine: Engine, stacks: list[FleetStack]) -> None:
    wait_until(lambda: not engine.firing(), timeout=60, what="no alert firing before the fault")
    faulty = stacks[1]
    service, kind = FAULT
    injected = time.time()
    faulty.sim.fault(service, kind)
    try:
        def all_paged() -> bool:
            paged = _paged(engine, "firing", injected)
            return all(any(_matches(p, want) for p in paged) for want in EXPECTED)

        wait_until(all_paged, timeout=60, interval=0.5, what=f"{[w['alertname'] for w in EXPECTED]} paged")
        arrived = time.time() - injected
        time.sleep(3)  # anything else the fault raises has as long to arrive
        paged = _paged(engine, "firing", injected)
        firing = engine.firing()
    finally:
        cleared = time.time()
        faulty.sim.clear()

    for labels in paged + firing:
        assert labels.get("stack") == faulty.name, f"an alert not labelled with {faulty.name} alone: {labels}"
        assert sum(_matches(labels, want) for want in EXPECTED) == 1, f"unexpected alert: {labels}"
    assert len({frozenset(a.items()) for a in firing}) == len(EXPECTED), firing
    if engine.topology == "sharded":
        # Paged by the one replica that scrapes the stack (its `shard` external label).
        assert {a["shard"] for a in paged} == {str(hashmod(faulty.name, SHARDS))}, paged

    def all_resolved() -> bool:
        resolved = _paged(engine, "resolved", cleared)
        return all(any(_matches(r, want) and r.get("stack") == faulty.name for r in resolved) for want in EXPECTED)

    wait_until(all_resolved, timeout=60, interval=0.5, what="every alert resolved")
    wait_until(lambda: not engine.firing(), timeout=30, what="nothing firing after the fault is cleared")
    print(f"\n{engine.topology}: {len(EXPECTED)} alerts of {faulty.name} at the webhook {arrived:.1f} s after "
          f"the fault, resolved {time.time() - cleared:.1f} s after it was cleared")
