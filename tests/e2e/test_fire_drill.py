"""Fire drill: the sim, the exporter, a real Prometheus with the shipped rules and a real
Alertmanager paging a webhook. No alert on a healthy stack; for one fault per cluster the
expected alert reaches the webhook with its labels and runbook, and resolves once cleared.

The rules' ``for:`` are shortened to 2 s (tests/e2e/monitoring.py); everything else is as shipped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lucid_exporter import catalogue

from ..conftest import Exporter, Sim, start_exporter, start_sim
from ..fullstack import TEST_SERVER_ALERTS, Foundation, start_foundation
from ..support import wait_until
from .monitoring import Drill, Monitoring, page_and_resolve, shortened_rules, start_monitoring

pytestmark = pytest.mark.e2e

DRILLS = (
    Drill("auth-service", "token_verification_failing", "LucidAuthTokenVerificationFailing", "auth",
          "jwt-token-validation-failures"),
    Drill("api-gateway", "cors_origin_rejected", "LucidGatewayCORSPreflightFailing", "gateway", "cors-errors"),
    Drill("blockchain-engine", "consensus_stall", "LucidConsensusNotReached", "blockchain", "consensus-failures"),
    Drill("chunk-processor", "encryption_failure", "LucidChunkEncryptionFailing", "sessions",
          "chunk-processing-failures"),
    Drill("rdp-manager", "port_pool_exhausted", "LucidRDPPortPoolExhausted", "rdp", "rdp-connection-failures"),
    Drill("node-management", "poot_missing", "LucidPoOTScoresMissing", "nodes", "poot-score-calculation-failures"),
    Drill("admin-interface", "rbac_roles_missing", "LucidAdminRBACNoRoles", "admin", "rbac-permission-errors"),
    Drill("tron-client", "tron_unreachable", "LucidTronNetworkDisconnected", "tron",
          "tron-network-connection-failures"),
    Drill("payout-router", "degraded", "LucidServiceDegraded", "tron", "system-performance-degradation"),
    Drill("session-storage", "down", "LucidServiceDown", "sessions", catalogue.services()["session-storage"].problem),
    Drill("mongodb", "backup_stale", "LucidBackupStale", "system", "data-loss-or-corruption"),
    Drill("xrdp", "down", "LucidRDPPortUnreachable", "rdp", "rdp-connection-failures"),
)


@dataclass
class DrillStack:
    sim: Sim
    foundation: Foundation
    exporter: Exporter
    mon: Monitoring
    healthy_firing: list[str]  # alerts seen over the healthy window, before any fault


@pytest.fixture(scope="module")
def drill_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillStack]:
    tmp = tmp_path_factory.mktemp("drill")
    sim = start_sim(tmp)
    found = exp = mon = None
    try:
        found = start_foundation(tmp / "foundation")
        cfg = found.config({**sim.config, "probes": {"min_interval_seconds": 0, "timeout_seconds": 0.8}})
        exp = start_exporter(tmp, cfg)
        mon = start_monitoring(tmp / "mon", exp.url, shortened_rules(tmp / "rules"))
        mon.wait_scraped()
        yield DrillStack(sim, found, exp, mon, _healthy_window(mon))
    finally:
        if mon is not None:
            mon.stop()
        if exp is not None:
            exp.proc.stop()
        if found is not None:
            found.stop()
        sim.proc.stop()


def _healthy_window(mon: Monitoring, seconds: float = 12) -> list[str]:
    """Alerts seen over a window on the healthy stack, run by the fixture before any fault so that the
    test reading it holds in any order. Before the first scrape Prometheus sees no exporter at all
    (LucidExporterAbsent, with the shortened for:); the window starts once that has cleared. It is long
    enough for every shortened rule to pass its for: twice over."""
    def firing() -> list[str]:
        return sorted(a["labels"]["alertname"] for a in mon.firing()
                      if a["labels"]["alertname"] not in TEST_SERVER_ALERTS)

    wait_until(lambda: not firing(), timeout=30, what="start-up alerts cleared")
    start = time.time()
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen |= set(firing())
        time.sleep(1)
    return sorted(seen | (set(mon.webhook.alerts_since(start, "firing")) - set(TEST_SERVER_ALERTS)))


def test_no_alert_fires_on_a_healthy_stack(drill_stack: DrillStack) -> None:
    assert drill_stack.healthy_firing == [], f"alerts firing on a healthy stack: {drill_stack.healthy_firing}"
    assert drill_stack.mon.query("lucid_service_up == 1"), "the exporter's metrics reached Prometheus"


def test_each_fault_pages_its_alert_with_labels_and_runbook_then_resolves(drill_stack: DrillStack) -> None:
    sim = drill_stack.sim
    page_and_resolve(drill_stack.mon, DRILLS, lambda d: sim.fault(d.service, d.fault), sim.clear)


FOUNDATION_DRILLS = (
    Drill("redis", "maxmemory-policy noeviction", "LucidRedisEvictionPolicyNotLRU", "foundation",
          "redis-memory-issues"),
    Drill("mongodb", "server stopped", "LucidMongoDBDown", "foundation", "mongodb-connection-failures"),
)


def test_foundation_faults_on_the_real_serverspage_and_resolve(drill_stack: DrillStack) -> None:
    found = drill_stack.foundation

    def inject(d: Drill) -> None:
        if d.service == "redis":
            found.redis.client().config_set("maxmemory-policy", "noeviction")
        else:
            found.mongo.stop()

    def clear() -> None:
        found.redis.client().config_set("maxmemory-policy", "allkeys-lru")
        found.mongo.start()

    page_and_resolve(drill_stack.mon, FOUNDATION_DRILLS, inject, clear)


def test_runbook_urls_resolve_to_runbook_headings() -> None:
    # Every drilled runbook_url names a heading of the runbook file (the unit tests check all alerts).
    root = Path(__file__).resolve().parents[2] / "docs" / "runbooks"
    for d in (*DRILLS, *FOUNDATION_DRILLS):
        text = "\n".join(line for line in (root / _runbook_file(d)).read_text().splitlines() if line.startswith("#"))
        assert d.problem in text.lower().replace(" ", "-"), d


def _runbook_file(d: Drill) -> str:
    return f"{catalogue.problems()[d.problem].cluster}.md"
