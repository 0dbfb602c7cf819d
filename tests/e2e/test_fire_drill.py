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
import yaml

from ..conftest import Exporter, Sim, start_exporter, start_sim
from ..support import wait_until
from .monitoring import Monitoring, shortened_rules, start_monitoring

pytestmark = pytest.mark.e2e

RUNBOOK_PREFIX = "https://github.com/lucid-exporter/lucid-exporter/blob/main/docs/runbooks/"


@dataclass(frozen=True)
class Drill:
    service: str
    fault: str
    alert: str
    cluster: str
    problem: str


def shipped_severity(alert: str) -> str:
    for f in (Path(__file__).resolve().parents[2] / "alerts").glob("*.rules.yml"):
        for group in yaml.safe_load(f.read_text())["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == alert:
                    return str(rule["labels"]["severity"])
    raise AssertionError(f"{alert} is not in the shipped rules")


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
    Drill("session-storage", "down", "LucidServiceDown", "sessions", "inter-service-communication-failures"),
    Drill("mongodb", "backup_stale", "LucidBackupStale", "system", "data-loss-or-corruption"),
    Drill("xrdp", "down", "LucidRDPPortUnreachable", "rdp", "rdp-connection-failures"),
)


@dataclass
class DrillStack:
    sim: Sim
    exporter: Exporter
    mon: Monitoring


@pytest.fixture(scope="module")
def drill_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillStack]:
    tmp = tmp_path_factory.mktemp("drill")
    sim = start_sim(tmp)
    exp = mon = None
    try:
        exp = start_exporter(tmp, {**sim.config, "probes": {"min_interval_seconds": 0, "timeout_seconds": 0.8}})
        mon = start_monitoring(tmp / "mon", exp.url, shortened_rules(tmp / "rules"))
        mon.wait_scraped()
        yield DrillStack(sim, exp, mon)
    finally:
        for part in (mon, exp):
            if part is not None:
                part.stop() if isinstance(part, Monitoring) else part.proc.stop()
        sim.proc.stop()


def _drill_alerts(drill_stack: DrillStack) -> list[str]:
    return [a["labels"]["alertname"] for a in drill_stack.mon.firing()]


def test_no_alert_fires_on_a_healthy_stack(drill_stack: DrillStack) -> None:
    mon = drill_stack.mon
    # Before the first scrape Prometheus sees no exporter at all (LucidExporterAbsent, with the
    # shortened for:); the window starts once that start-up state has cleared.
    wait_until(lambda: not mon.firing(), timeout=30, what=f"start-up alerts cleared: {_drill_alerts(drill_stack)}")
    start = time.time()
    # Long enough for every shortened rule to pass its for: twice over.
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        assert not mon.firing(), f"alerts firing on a healthy stack: {_drill_alerts(drill_stack)}"
        time.sleep(1)
    assert mon.query("lucid_service_up == 1"), "the exporter's metrics reached Prometheus"
    assert not mon.webhook.alerts_since(start, "firing")


def test_each_fault_pages_its_alert_with_labels_and_runbook_then_resolves(
        drill_stack: DrillStack, record_property: pytest.RecordProperty) -> None:
    sim, mon = drill_stack.sim, drill_stack.mon
    injected: dict[Drill, float] = {}
    for d in DRILLS:
        injected[d] = time.time()
        sim.fault(d.service, d.fault)

    def fired(d: Drill) -> tuple[float, dict] | None:  # type: ignore[type-arg]
        for at, alert in mon.webhook.alerts(d.alert, "firing", since=injected[d]):
            generic = d.alert in ("LucidServiceDown", "LucidServiceDegraded")
            if not generic or alert["labels"].get("service") == d.service:
                return at, alert
        return None

    timings: dict[str, float] = {}
    try:
        for d in DRILLS:
            at, alert = wait_until(lambda d=d: fired(d), timeout=60, what=f"{d.alert} paged")
            timings[d.alert] = at - injected[d]
            labels, ann = alert["labels"], alert["annotations"]
            assert labels["severity"] == shipped_severity(d.alert), d
            assert labels["cluster"] == d.cluster, d
            assert labels["problem"] == d.problem, d
            assert ann["runbook_url"].startswith(RUNBOOK_PREFIX) and ann["runbook_url"].endswith(f"#{d.problem}"), ann
            assert ann["summary"] and ann["description"]
    finally:
        cleared = time.time()
        sim.clear()
    for d in DRILLS:
        wait_until(lambda d=d: mon.webhook.alerts(d.alert, "resolved", since=cleared), timeout=60,
                   what=f"{d.alert} resolved")
    report = "\n".join(f"{name:<40} {seconds:6.1f} s" for name, seconds in timings.items())
    record_property("fire_drill_seconds", report)
    print("\nseconds from fault injection to the webhook:\n" + report)


def test_runbook_urls_resolve_to_runbook_headings() -> None:
    # Every drilled runbook_url names a heading of the runbook file (the unit tests check all alerts).
    root = Path(__file__).resolve().parents[2] / "docs" / "runbooks"
    for d in DRILLS:
        text = "\n".join(line for line in (root / _runbook_file(d)).read_text().splitlines() if line.startswith("#"))
        assert d.problem in text.lower().replace(" ", "-"), d


def _runbook_file(d: Drill) -> str:
    from lucid_exporter.doctor import problems

    return f"{problems()[d.problem].cluster}.md"
