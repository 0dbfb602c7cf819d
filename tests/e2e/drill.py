"""The fire drill's table and its runner: every fault kind the sim offers and every real-server fault,
each with the alerts it must page (by name, problem label and runbook anchor), the alerts that must
not page with it (an outage pages once, as the outage), and the measured seconds to fire and to
resolve.

The table is checked against the sim's own fault registry (tests/unit/test_drill_table.py): a fault
kind added to the sim without a row here fails. Rows run in batches: the rows of a batch touch
different services and their alerts are told apart by their labels, so they are injected together,
waited for together and cleared together.

Time: ``for:`` and the windows of the expressions are real time in Prometheus, so the drills load
the shipped rules with ``for:`` cut to FOR_SECONDS and their windows scaled by WINDOW_SCALE
(scripts/drill_rules.py; thresholds, labels and annotations as shipped). What is time in the sim
(block age, a backlog growing, a stalled sample) is made to pass with the sim's clock
(``Sim.advance``), not slept for.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lucid_exporter import catalogue

from ..conftest import Exporter, Sim
from ..fullstack import TEST_SERVER_ALERTS
from ..support import wait_until
from .monitoring import RUNBOOK_PREFIX, Monitoring, shipped_severity

FOR_SECONDS = 10
WINDOW_SCALE = 0.05  # 5m -> 20 s (the floor), 15m -> 45 s, 30m -> 90 s, 1h -> 180 s
MIN_WINDOW_SECONDS = 20  # five scrape intervals of the drill's Prometheus
SCRAPE_SECONDS = 4  # > the slow health endpoint's 2.5 s plus the exporter's offset
# The exporter's probe settings in every drill: no cache, and Prometheus scraping every 4 s with a 4 s
# timeout leaves 3.8 s of budget, 3.6 s per probe.
EXPORTER_PROBES: dict[str, float] = {"min_interval_seconds": 0, "timeout_seconds": 3.6,
                                     "scrape_timeout_offset_seconds": 0.2}


@dataclass
class SimStack:
    """A drill over the sim alone (its lucid personality, or its containers): the sim, the exporter
    watching it, Prometheus and Alertmanager with the drill rules."""

    sim: Sim
    exporter: Exporter
    mon: Monitoring
    healthy_active: list[str]  # alerts pending or firing over the healthy window, before any fault

# The real-server faults of issue 12, and the two more the drill adds (a stopped store, a TCP target
# that is not a service).
REAL_SERVER_FAULTS: dict[str, str] = {
    "redis_full_noeviction": "Redis at maxmemory (1 GB) with maxmemory-policy noeviction: writes refused (OOM)",
    "redis_full_allkeys_lru": "Redis at maxmemory (1 GB) with allkeys-lru, the guide's setting: it evicts and "
                              "refuses nothing",
    "redis_hung": "redis-server stopped with SIGSTOP: the kernel accepts connections, nothing answers",
    "mongodb_hung": "SecantusDB stopped with SIGSTOP",
    "elasticsearch_hung": "osmem-server stopped with SIGSTOP",
    "mongodb_wrong_password": "the exporter's MongoDB password changed on the server (updateUser) and MongoDB "
                              "restarted: the exporter's login is refused",
    "elasticsearch_yellow": "an index with one replica on the single node: cluster health yellow",
    "elasticsearch_red": "a closed index: cluster health red",
    "garbage_body": "Elasticsearch behind a proxy answering HTTP 200 with invalid JSON",
    "http_500_body": "Elasticsearch behind a proxy answering HTTP 500",
    "slow_health_endpoint": "a service's /health answering after 2.5 s (a proxy in front of it)",
    "exporter_killed": "the exporter killed with SIGKILL, started again on the same port",
    "mongodb_stopped": "SecantusDB stopped",
    "tcp_target_closed": "a TCP target that is no service's address stops listening",
}
ISSUE_REAL_SERVER_FAULTS: tuple[str, ...] = (
    "redis_full_noeviction", "redis_full_allkeys_lru", "redis_hung", "mongodb_hung", "elasticsearch_hung",
    "mongodb_wrong_password", "elasticsearch_yellow", "elasticsearch_red", "garbage_body", "http_500_body",
    "slow_health_endpoint", "exporter_killed",
)


def sim_fault_kinds(profile: str = "guide") -> dict[str, str]:
    """Every fault kind the sim offers under a personality (``--profile``): the kinds its command
    registers (with --docker), and, for the guide's, each module's own table."""
    from lucid_sim import cli, containers, faults, host, world

    with tempfile.TemporaryDirectory() as data:
        args = cli.parser().parse_args(["--profile", profile, "--docker", "--docker-url", "tcp://127.0.0.1:9",
                                        "--data-dir", data])
        stack, _, _ = cli.build_stack(args)
        registered = stack.faults.kinds()
    if profile != "guide":
        return registered
    return {**faults.DESCRIPTIONS, **world.FAULT_KINDS, **host.FAULT_KINDS, **containers.FAULT_KINDS, **registered}


def lucid_only_fault_kinds() -> dict[str, str]:
    """The kinds only the lucid personality offers (the real code's own states: a dependency down inside
    a health map, a tuple body, a process up but not initialised, ...). The kinds both personalities
    share are drilled under the guide's."""
    guide = sim_fault_kinds("guide")
    return {k: v for k, v in sim_fault_kinds("lucid").items() if k not in guide}


@dataclass(frozen=True)
class Expect:
    """An alert the fault must page: its name, its problem (= runbook anchor) and the labels that tell
    it is this row's (the service, the container, ...)."""

    alert: str
    problem: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def matches(self, alert: Mapping[str, Any]) -> bool:
        labels = alert["labels"]
        return labels.get("alertname") == self.alert and all(labels.get(k) == v for k, v in self.labels.items())


@dataclass(frozen=True, eq=False)  # rows are keys by identity: two rows may inject the same kind
class Row:
    fault: str  # a sim fault kind or a key of REAL_SERVER_FAULTS
    target: str  # the service (sim) or server the fault is injected into
    expect: tuple[Expect, ...]  # () : pages nothing
    batch: str
    stack: Literal["sim", "docker", "lucid"] = "sim"  # lucid: the sim's lucid personality (the real code)
    forbid: tuple[str, ...] = ()  # alerts that must not fire with it; "cluster:<name>" forbids a whole cluster
    advance: float = 0.0  # seconds of sim time made to pass once injected (Sim.advance)
    observe: float = 0.0  # a row that pages nothing is watched for this long (seconds)

    @property
    def real(self) -> bool:
        return self.fault in REAL_SERVER_FAULTS

    @property
    def name(self) -> str:
        return f"{self.fault} ({self.target})"


def _svc_problem(service: str) -> str:
    return catalogue.services()[service].problem


def _e(alert: str, problem: str, **labels: str) -> Expect:
    return Expect(alert, problem, labels)


# Stalls need sim time: consensus 360 s, resource samples 300 s, TRON blocks 120 s, the pipeline 600 s,
# a backlog of 100 sessions (0.8 a second at 5 s slots), a chunk queue of 1000 (5 a second).
STALL_SECONDS = 700.0

ROWS: tuple[Row, ...] = (
    # -- batch "state": the sim's state faults, with 700 s of sim time made to pass ----------------------
    Row("consensus_stall", "blockchain-engine", (
        _e("LucidBlockchainNoNewBlock", "consensus-failures"),
        _e("LucidConsensusNotReached", "consensus-failures")), "state", advance=STALL_SECONDS),
    Row("poot_collapsed", "node-management", (_e("LucidPoOTScoresInvalid", "poot-score-calculation-failures"),),
        "state"),
    Row("anchoring_backlog", "session-anchoring", (
        _e("LucidAnchoringBacklog", "session-anchoring-failures"),
        _e("LucidAnchoringBlockchainDisconnected", "session-anchoring-failures")), "state"),
    Row("pipeline_stuck", "session-pipeline", (_e("LucidSessionPipelineStuck", "session-pipeline-failures"),),
        "state"),
    Row("chunk_queue_growing", "chunk-processor", (_e("LucidChunkQueueGrowing", "chunk-processing-failures"),),
        "state"),
    Row("encryption_failure", "chunk-processor", (
        _e("LucidChunkEncryptionFailing", "chunk-processing-failures"),
        _e("LucidChunksFailing", "chunk-processing-failures")), "state"),
    Row("port_pool_exhausted", "rdp-manager", (_e("LucidRDPPortPoolExhausted", "rdp-connection-failures"),),
        "state"),
    Row("monitoring_stalled", "resource-monitor", (
        _e("LucidResourceMonitorStale", "resource-monitoring-failures"),), "state"),
    Row("node_deregistered", "node-management", (
        _e("LucidRegisteredNodesDropped", "node-registration-failures"),), "state"),
    Row("rbac_roles_missing", "admin-interface", (
        _e("LucidAdminRBACNoRoles", "rbac-permission-errors"),
        _e("LucidAdminRBACCheckFailing", "rbac-permission-errors")), "state"),
    Row("tron_unreachable", "tron-client", (
        _e("LucidTronNetworkDisconnected", "tron-network-connection-failures"),
        _e("LucidTronBlockStale", "tron-network-connection-failures")), "state"),
    Row("wallet_access_error", "wallet-manager", (
        _e("LucidTronWalletsInError", "wallet-management-failures", status="error"),), "state"),
    Row("usdt_failing", "usdt-manager", (_e("LucidUSDTTransactionsFailing", "usdt-transaction-failures"),),
        "state"),
    Row("wallet_balance_low", "usdt-manager", (_e("LucidUSDTBalanceLow", "usdt-transaction-failures"),), "state"),
    Row("rate_limiter_off", "api-gateway", (_e("LucidGatewayRateLimitNotEnforced", "rate-limiting-not-working"),),
        "state"),
    Row("cors_origin_rejected", "api-gateway", (_e("LucidGatewayCORSPreflightFailing", "cors-errors"),), "state"),
    Row("token_verification_failing", "auth-service", (
        _e("LucidAuthTokenVerificationFailing", "jwt-token-validation-failures"),), "state"),
    Row("backup_stale", "mongodb", (_e("LucidBackupStale", "data-loss-or-corruption", kind="mongodb"),), "state"),
    Row("backup_missing", "redis", (_e("LucidBackupMissing", "data-loss-or-corruption", kind="redis"),), "state"),
    # -- batch "http": how a service answers ------------------------------------------------------------
    Row("down", "session-storage", (
        _e("LucidServiceDown", _svc_problem("session-storage"), service="session-storage"),), "http"),
    Row("down", "auth-service", (_e("LucidAuthServiceDown", _svc_problem("auth-service"), service="auth-service"),),
        "http", forbid=("LucidAuthTokenVerificationFailing",)),
    Row("down", "xrdp", (_e("LucidRDPServiceDown", _svc_problem("xrdp"), service="xrdp"),
                         _e("LucidRDPPortUnreachable", "rdp-connection-failures")), "http"),
    Row("hang", "wallet-manager", (
        _e("LucidWalletManagerDown", _svc_problem("wallet-manager"), service="wallet-manager"),), "http",
        forbid=("LucidTronWalletsInError", "LucidProbeNearTimeout")),
    Row("error", "admin-interface", (
        _e("LucidAdminInterfaceDown", _svc_problem("admin-interface"), service="admin-interface"),), "http",
        forbid=("LucidAdminRBACCheckFailing", "LucidAdminRBACNoRoles")),
    Row("garbage", "usdt-manager", (
        _e("LucidUSDTManagerDown", _svc_problem("usdt-manager"), service="usdt-manager"),), "http",
        forbid=("LucidUSDTTransactionsFailing", "LucidUSDTBalanceLow")),
    Row("unhealthy", "chunk-processor", (
        _e("LucidChunkProcessorDown", _svc_problem("chunk-processor"), service="chunk-processor"),), "http"),
    Row("degraded", "payout-router", (
        _e("LucidServiceDegraded", "system-performance-degradation", service="payout-router"),), "http"),
    Row("poot_missing", "node-management", (_e("LucidPoOTScoresMissing", "poot-score-calculation-failures"),),
        "http"),
    # -- the real servers -------------------------------------------------------------------------------
    Row("redis_hung", "redis", (_e("LucidRedisDown", _svc_problem("redis"), service="redis"),), "hung"),
    Row("mongodb_hung", "mongodb", (_e("LucidMongoDBDown", _svc_problem("mongodb"), service="mongodb"),), "hung"),
    Row("elasticsearch_hung", "elasticsearch", (
        _e("LucidElasticsearchDown", _svc_problem("elasticsearch"), service="elasticsearch"),), "hung"),
    Row("tcp_target_closed", "tcp listener", (_e("LucidTCPConnectFailing", "inter-service-communication-failures"),),
        "hung"),
    Row("redis_full_allkeys_lru", "redis", (), "lru", forbid=("cluster:foundation",), observe=40.0),
    Row("slow_health_endpoint", "session-api", (
        _e("LucidServiceSlow", "system-performance-degradation", service="session-api"),), "lru",
        forbid=("LucidProbeNearTimeout", "LucidServiceDown")),
    Row("redis_full_noeviction", "redis", (_e("LucidRedisOutOfMemoryErrors", "redis-memory-issues"),), "noeviction"),
    Row("elasticsearch_yellow", "elasticsearch", (
        _e("LucidElasticsearchClusterYellow", "elasticsearch-cluster-health-issues"),), "noeviction",
        forbid=("LucidServiceDegraded",)),
    Row("mongodb_wrong_password", "mongodb", (
        _e("LucidMongoDBAuthenticationFailing", "mongodb-connection-failures"),), "noeviction",
        forbid=("LucidMongoDBDown",)),
    Row("elasticsearch_red", "elasticsearch", (
        _e("LucidElasticsearchClusterRed", "elasticsearch-cluster-health-issues"),), "stopped"),
    Row("mongodb_stopped", "mongodb", (_e("LucidMongoDBDown", _svc_problem("mongodb"), service="mongodb"),),
        "stopped", forbid=("LucidTCPConnectFailing",)),
    Row("garbage_body", "elasticsearch", (
        _e("LucidElasticsearchDown", _svc_problem("elasticsearch"), service="elasticsearch"),), "garbage"),
    Row("http_500_body", "elasticsearch", (
        _e("LucidElasticsearchDown", _svc_problem("elasticsearch"), service="elasticsearch"),), "http500"),
    Row("exporter_killed", "lucid-exporter", (_e("LucidExporterDown", "exporter-down"),), "killed",
        forbid=("LucidExporterAbsent",)),
    # -- the containers (sim --docker) ------------------------------------------------------------------
    Row("container_stopped", "admin-interface", (
        _e("LucidAdminInterfaceNotRunning", "admin-dashboard-not-loading", container="lucid-admin-interface"),),
        "containers", "docker"),
    Row("container_stopped", "rate-limiter", (
        _e("LucidRateLimiterNotRunning", "rate-limiting-not-working", container="lucid-rate-limiter"),),
        "containers", "docker"),
    Row("error_burst", "session-api", (
        _e("LucidErrorLogRateHigh", "log-analysis-and-error-detection", container="lucid-session-api"),
        _e("LucidErrorCodeBurst", "log-analysis-and-error-detection", container="lucid-session-api")),
        "containers", "docker"),
    Row("restart_loop", "elasticsearch", (
        _e("LucidContainerRestarting", "log-analysis-and-error-detection", container="lucid-elasticsearch"),),
        "containers", "docker"),
    Row("tron_isolation_breach", "api-gateway", (
        _e("LucidTronIsolationViolated", "tron-network-connection-failures"),), "containers", "docker"),
    # -- the lucid personality's own kinds (lucid-sim --profile lucid, status.profile: lucid) -----------
    # The session controller reports its peers (recorder, processor, ...): degraded while one is down,
    # which is that peer's outage, paged once.
    Row("not_initialized", "session-recorder", (
        _e("LucidServiceDown", _svc_problem("session-recorder"), service="session-recorder"),), "lucid-1", "lucid",
        forbid=("LucidServiceDegraded",)),
    Row("database_down", "auth-service", (
        _e("LucidServiceMongoDBDependencyDown", "mongodb-connection-failures", service="auth-service"),),
        "lucid-1", "lucid", forbid=("LucidAuthServiceDegraded", "LucidAuthServiceDown")),
    Row("tuple_unhealthy", "payout-router", (
        _e("LucidServiceDown", _svc_problem("payout-router"), service="payout-router"),), "lucid-1", "lucid"),
    Row("processor_stopped", "chunk-processor", (
        _e("LucidChunkProcessorDown", _svc_problem("chunk-processor"), service="chunk-processor"),),
        "lucid-1", "lucid", forbid=("LucidServiceDegraded",)),
    Row("trusted_hosts_unset", "admin-interface", (
        _e("LucidAdminInterfaceDown", _svc_problem("admin-interface"), service="admin-interface"),),
        "lucid-1", "lucid"),
    Row("redis_down", "auth-service", (
        _e("LucidServiceRedisDependencyDown", "redis-connection-failures", service="auth-service"),),
        "lucid-2", "lucid", forbid=("LucidAuthServiceDegraded", "LucidAuthServiceDown")),
    # The standalone app returns ({status: degraded, ...}, 503): FastAPI serves the tuple with HTTP 200,
    # but the service meant 503, and the health probe reads it so (probes/health.py): down, not degraded.
    Row("tuple_degraded", "usdt-manager", (
        _e("LucidUSDTManagerDown", _svc_problem("usdt-manager"), service="usdt-manager"),), "lucid-2", "lucid"),
    Row("hardware_wallet_unavailable", "auth-service", (
        _e("LucidHardwareWalletUnavailable", "hardware-wallet-connection-issues", state="unavailable"),),
        "lucid-3", "lucid", forbid=("LucidAuthServiceDegraded",)),
    Row("hardware_wallet_error", "auth-service", (
        _e("LucidHardwareWalletUnavailable", "hardware-wallet-connection-issues", state="error"),),
        "lucid-4", "lucid", forbid=("LucidAuthServiceDegraded",)),
    # Off by choice (ENABLE_HARDWARE_WALLET=false), not down: nothing about the auth service pages.
    Row("hardware_wallet_disabled", "auth-service", (), "lucid-5", "lucid", forbid=("cluster:auth",), observe=30.0),
)


def batches(stack: str) -> list[str]:
    return list(dict.fromkeys(r.batch for r in ROWS if r.stack == stack))


def rows_of(batch: str) -> list[Row]:
    return [r for r in ROWS if r.batch == batch]


# -- running a batch ---------------------------------------------------------------------------------
@dataclass
class Outcome:
    row: Row
    fired: dict[str, float] = field(default_factory=dict)  # alert -> seconds from injection to the webhook
    resolved: dict[str, float] = field(default_factory=dict)  # alert -> seconds from clearing to the webhook
    others: set[str] = field(default_factory=set)  # alerts of the batch no row of it expects
    note: str = ""


RESULTS: list[Outcome] = []


def ignored(alert: Mapping[str, Any]) -> bool:
    """Alerts the test servers raise by a quirk of their own (tests/fullstack.py says why): never
    expected, never forbidden, ignored when waiting for a quiet stack."""
    return alert["labels"].get("alertname") in TEST_SERVER_ALERTS


def wait_quiet(mon: Monitoring, timeout: float = 180) -> None:
    """No alert pending or firing (the test servers' quirks aside): the previous batch is over."""
    wait_until(lambda: not [a for a in mon.alerts() if not ignored(a)], timeout=timeout, interval=1,
               what=f"a quiet stack (still: {sorted({a['labels']['alertname'] for a in mon.alerts()})})")


def healthy_window(mon: Monitoring, seconds: float = 2 * (FOR_SECONDS + 2 * SCRAPE_SECONDS)) -> list[str]:
    """Alerts pending or firing (or reaching the webhook) over a window on the healthy stack, long
    enough for every drill rule to pass its for: twice over. The drills' fixtures run it before any
    fault, so that the test reading it holds in any order. Before its first scrapes Prometheus sees no
    exporter (LucidExporterAbsent goes pending): the window starts once the stack is quiet."""
    wait_quiet(mon)
    start = time.time()
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen |= {a["labels"]["alertname"] for a in mon.alerts() if not ignored(a)}
        time.sleep(1)
    seen |= {a["labels"]["alertname"] for _, a in mon.webhook.alerts_between(start, time.time(), "firing")
             if not ignored(a)}
    return sorted(seen)


def _forbidden(row: Row, alert: Mapping[str, Any]) -> bool:
    labels = alert["labels"]
    return any(labels.get("alertname") == f or (f.startswith("cluster:") and labels.get("cluster") == f[8:])
               for f in row.forbid)


def run_batch(mon: Monitoring, rows: Sequence[Row], inject: Callable[[Row], None], clear: Callable[[Row], None],
              after_inject: Callable[[], None] = lambda: None, before_clear: Callable[[], None] = lambda: None,
              timeout: float = 120) -> list[Outcome]:
    """Inject every row, wait for each expected alert at the webhook (labels, problem, runbook anchor),
    watch the rows that page nothing, check that no forbidden alert paged, clear, wait for every
    resolution. Returns the timings."""
    wait_quiet(mon)
    injected: dict[Row, float] = {}
    outcomes = {r: Outcome(r) for r in rows}
    start = time.time()
    for r in rows:
        injected[r] = time.time()
        inject(r)
    after_inject()
    try:
        for r in rows:
            for e in r.expect:
                at, alert = wait_until(lambda r=r, e=e: _first(mon, e, "firing", injected[r]), timeout=timeout,
                                       interval=0.5, what=f"{e.alert} paged for {r.name}")
                outcomes[r].fired[e.alert] = at - injected[r]
                _check_page(e, alert)
        # A forbidden alert would page as soon as the expected ones (same for:, same scrapes); rows that
        # page nothing are watched for their whole observation time.
        settle = max([FOR_SECONDS + 3 * SCRAPE_SECONDS] + [r.observe for r in rows])
        deadline = start + settle
        while time.time() < deadline:
            _assert_nothing_forbidden(mon, rows, start)
            time.sleep(1)
        _assert_nothing_forbidden(mon, rows, start)
        before_clear()
    finally:
        cleared = time.time()
        for r in rows:
            clear(r)
    for r in rows:
        for e in r.expect:
            at, _ = wait_until(lambda e=e: _first(mon, e, "resolved", cleared), timeout=timeout, interval=0.5,
                               what=f"{e.alert} resolved after {r.name} was cleared")
            outcomes[r].resolved[e.alert] = at - cleared
    # What else paged: alerts no row of the batch expects (the same problem's other alerts, ...).
    paged = {a["labels"]["alertname"] for _, a in mon.webhook.alerts_between(start, time.time(), "firing")
             if not ignored(a)}
    expected = {e.alert for r in rows for e in r.expect}
    for r in rows:
        outcomes[r].others = paged - expected
    RESULTS.extend(outcomes.values())
    return list(outcomes.values())


def _first(mon: Monitoring, e: Expect, status: str, since: float) -> tuple[float, dict[str, Any]] | None:
    for at, alert in mon.webhook.alerts(e.alert, status, since=since):
        if e.matches(alert):
            return at, alert
    return None


def _check_page(e: Expect, alert: Mapping[str, Any]) -> None:
    labels, ann = alert["labels"], alert["annotations"]
    assert labels["problem"] == e.problem, (e, labels)
    assert labels["severity"] == shipped_severity(e.alert), (e, labels)
    cluster = catalogue.problems()[e.problem].cluster
    assert ann["runbook_url"] == f"{RUNBOOK_PREFIX}{cluster}.md#{e.problem}", (e, ann)
    assert ann["summary"] and ann["description"] and "{{" not in ann["description"], (e, ann)


def _assert_nothing_forbidden(mon: Monitoring, rows: Sequence[Row], since: float) -> None:
    paged = [a for _, a in mon.webhook.alerts_between(since, time.time(), "firing")]
    active = mon.alerts("pending", "firing")
    for r in rows:
        if not r.forbid:
            continue
        bad = sorted({a["labels"]["alertname"] for a in [*paged, *active] if _forbidden(r, a) and not ignored(a)})
        assert not bad, f"{r.name}: {bad} must not page with it (pending or firing)"


# -- the report --------------------------------------------------------------------------------------
def table(outcomes: Iterable[Outcome]) -> str:
    lines = ["| fault | target | expected alert (problem) | fire s | resolve s | also paged in its batch |",
             "|---|---|---|---:|---:|---|"]
    for o in outcomes:
        r = o.row
        if not r.expect:
            lines.append(f"| {r.fault} | {r.target} | nothing ({o.note or 'pages nothing'}) | — | — | "
                         f"{', '.join(sorted(o.others)) or '—'} |")
        for e in r.expect:
            fired, resolved = o.fired.get(e.alert), o.resolved.get(e.alert)
            lines.append(f"| {r.fault} | {r.target} | {e.alert} ({e.problem}) | "
                         f"{'—' if fired is None else f'{fired:.1f}'} | "
                         f"{'—' if resolved is None else f'{resolved:.1f}'} | {', '.join(sorted(o.others)) or '—'} |")
    return "\n".join(lines)


def print_table(title: str, outcomes: Sequence[Outcome]) -> None:
    """The table in the drill table's order, whatever order the batches ran in (pytest-randomly)."""
    order = {id(r): i for i, r in enumerate(ROWS)}
    outcomes = sorted(outcomes, key=lambda o: order[id(o.row)])
    if outcomes:
        print(f"\n{title} (for: {FOR_SECONDS} s, windows x{WINDOW_SCALE:g} (>= {MIN_WINDOW_SECONDS} s), "
              f"scrape every {SCRAPE_SECONDS} s):\n{table(outcomes)}", flush=True)

