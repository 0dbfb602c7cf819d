"""``lucid-exporter doctor``: the guide's methodology as a command.

One probe round (identify), then for every symptom found: the guide problem it belongs to,
what was observed (check health), the guide's log and diagnostic commands (analyse logs),
its solutions with destructive steps flagged (apply solutions), and how to verify.

Symptoms are data: a table of instantaneous conditions on the probe round's samples,
the same conditions the alert rules hold over time, plus a map from failing probes to the
problem of the service they watch.
"""

from __future__ import annotations

import json
import operator
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .engine import ProbeResult
from .inventory import Service
from .metrics import Sample

RUNBOOK_BASE = "docs/runbooks"

# Guide steps that destroy data or access; the doctor prints them behind a warning.
DESTRUCTIVE = re.compile(
    r"flushall|flushdb|deleteMany|changeUserPassword|system prune|volume prune|network rm|"
    r"-X DELETE|JWT_SECRET=|\bdel\b|docker-compose down|restore",
    re.I,
)


@dataclass(frozen=True)
class Problem:
    slug: str
    title: str
    cluster: str
    section: str
    symptoms: tuple[str, ...]
    diagnostics: tuple[tuple[str, str], ...]
    solutions: tuple[tuple[str, str], ...]

    @property
    def runbook(self) -> str:
        return f"{RUNBOOK_BASE}/{self.cluster}.md#{self.slug}"


@cache
def problems() -> dict[str, Problem]:
    data = json.loads(resources.files("lucid_exporter").joinpath("guide.json").read_text(encoding="utf-8"))
    return {
        p["slug"]: Problem(p["slug"], p["title"], p["cluster"], p["section"], tuple(p["symptoms"]),
                           tuple((s["what"], s["command"]) for s in p["diagnostics"]),
                           tuple((s["what"], s["command"]) for s in p["solutions"]))
        for p in data
    }


# Service down -> the guide problem that diagnoses it.
SERVICE_PROBLEM: dict[str, str] = {
    "mongodb": "mongodb-connection-failures", "redis": "redis-connection-failures",
    "elasticsearch": "elasticsearch-cluster-health-issues", "auth-service": "jwt-token-validation-failures",
    "api-gateway": "rate-limiting-not-working", "rate-limiter": "rate-limiting-not-working",
    "blockchain-engine": "consensus-failures", "session-anchoring": "session-anchoring-failures",
    "session-pipeline": "session-pipeline-failures", "session-recorder": "session-pipeline-failures",
    "session-storage": "session-pipeline-failures", "session-api": "session-pipeline-failures",
    "chunk-processor": "chunk-processing-failures", "rdp-manager": "rdp-connection-failures",
    "xrdp": "rdp-connection-failures", "session-controller": "rdp-connection-failures",
    "resource-monitor": "resource-monitoring-failures", "node-management": "node-registration-failures",
    "admin-interface": "admin-dashboard-not-loading", "tron-client": "tron-network-connection-failures",
    "wallet-manager": "wallet-management-failures", "usdt-manager": "usdt-transaction-failures",
    "payout-router": "usdt-transaction-failures", "trx-staking": "usdt-transaction-failures",
    "payment-gateway": "usdt-transaction-failures",
}
# Probe kinds whose failure is a symptom in itself, whatever the service.
PROBE_KIND_PROBLEM: dict[str, str] = {
    "docker": "complete-system-failure", "logs": "log-analysis-and-error-detection",
    "dns": "inter-service-communication-failures", "tcp": "inter-service-communication-failures",
    "host": "complete-system-failure", "backups": "data-loss-or-corruption",
}

_OPS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}


@dataclass(frozen=True)
class Symptom:
    """``metric{match} op threshold`` on one round; ``per`` divides by another metric with the
    same labels (skipped when that is 0), ``age`` compares ``now - value`` for timestamps."""

    problem: str
    metric: str
    op: str
    threshold: float
    text: str
    match: dict[str, str] = field(default_factory=dict)
    per: str | None = None
    age: bool = False


SYMPTOMS: tuple[Symptom, ...] = (
    Symptom("mongodb-connection-failures", "lucid_mongodb_up", "==", 0, "MongoDB does not answer ping"),
    Symptom("mongodb-connection-failures", "lucid_mongodb_replset_initialized", "==", 0,
            "replica set not initialised (the guide's rs.initiate() case)"),
    Symptom("mongodb-connection-failures", "lucid_mongodb_replset_member_health", "==", 0,
            "replica set member {member} is unhealthy"),
    Symptom("mongodb-connection-failures", "lucid_mongodb_authenticated", "==", 0, "MongoDB login not authenticated"),
    Symptom("mongodb-performance-issues", "lucid_mongodb_index_present", "==", 0,
            "required index {database}.{collection} {index} is missing"),
    Symptom("redis-connection-failures", "lucid_redis_up", "==", 0, "Redis does not answer PING"),
    Symptom("redis-memory-issues", "lucid_redis_memory_used_bytes", ">", 0.9,
            "Redis uses {value:.0%} of maxmemory", per="lucid_redis_memory_max_bytes"),
    Symptom("redis-memory-issues", "lucid_redis_memory_max_bytes", "==", 0,
            "Redis has no maxmemory limit (the guide sets 1-2 GB with allkeys-lru)"),
    Symptom("redis-memory-issues", "lucid_redis_maxmemory_policy", "==", 1,
            "Redis eviction policy is {policy}, not allkeys-lru", match={"policy": "!allkeys-lru"}),
    Symptom("elasticsearch-cluster-health-issues", "lucid_elasticsearch_up", "==", 0, "Elasticsearch unreachable"),
    Symptom("elasticsearch-cluster-health-issues", "lucid_elasticsearch_cluster_health_status", "==", 1,
            "Elasticsearch cluster is {color}", match={"color": "red|yellow"}),
    Symptom("jwt-token-validation-failures", "lucid_auth_token_verify_ok", "==", 0,
            "the monitoring token is rejected by /verify"),
    Symptom("jwt-token-validation-failures", "lucid_auth_probe_token_expiry_timestamp_seconds", ">", -7 * 86400,
            "the monitoring token expires within 7 days", age=True),
    Symptom("rate-limiting-not-working", "lucid_gateway_rate_limit_limit", "==", 0,
            "the gateway sends no rate-limit headers"),
    Symptom("cors-errors", "lucid_gateway_cors_preflight_ok", "==", 0, "CORS preflight from {origin} is refused"),
    Symptom("consensus-failures", "lucid_blockchain_latest_block_timestamp_seconds", ">", 360,
            "no new block for {value:.0f}s (three 120 s slots)", age=True),
    Symptom("consensus-failures", "lucid_consensus_reached", "==", 0, "consensus not reached in the current round"),
    Symptom("session-anchoring-failures", "lucid_anchoring_sessions", ">", 100,
            "{value:.0f} sessions waiting to be anchored", match={"state": "pending"}),
    Symptom("session-anchoring-failures", "lucid_anchoring_sessions", ">", 0,
            "{value:.0f} anchoring failures", match={"state": "failed"}),
    Symptom("chunk-processing-failures", "lucid_chunk_encryption_ok", "==", 0, "chunk encryption is failing"),
    Symptom("chunk-processing-failures", "lucid_chunk_queue_depth", ">", 1000, "{value:.0f} chunks queued"),
    Symptom("rdp-connection-failures", "lucid_rdp_ports", "==", 0, "no RDP port left in the pool",
            match={"state": "available"}),
    Symptom("resource-monitoring-failures", "lucid_resource_monitor_last_sample_timestamp_seconds", ">", 300,
            "no resource sample for {value:.0f}s", age=True),
    Symptom("node-registration-failures", "lucid_nodes", "==", 0, "no active node registered",
            match={"status": "active"}),
    Symptom("poot-score-calculation-failures", "lucid_poot_score_nodes", "==", 0, "no PoOT scores calculated"),
    Symptom("rbac-permission-errors", "lucid_admin_rbac_ok", "==", 0, "the permission matrix cannot be read"),
    Symptom("rbac-permission-errors", "lucid_admin_rbac_roles", "==", 0, "no RBAC roles defined"),
    Symptom("tron-network-connection-failures", "lucid_tron_network_connected", "==", 0,
            "the TRON client is not connected to the network"),
    Symptom("usdt-transaction-failures", "lucid_usdt_transactions", ">", 0, "{value:.0f} USDT transactions failed",
            match={"status": "failed"}),
    Symptom("wallet-management-failures", "lucid_tron_wallets", ">", 0, "{value:.0f} wallets in error",
            match={"status": "error"}),
    Symptom("inter-service-communication-failures", "lucid_dns_resolves", "==", 0, "{name} does not resolve"),
    Symptom("inter-service-communication-failures", "lucid_tcp_connect_success", "==", 0, "cannot connect to {target}"),
    Symptom("inter-service-communication-failures", "lucid_tron_isolation_violations", ">", 0,
            "{value:.0f} non-TRON containers on the TRON network"),
    Symptom("system-performance-degradation", "lucid_container_memory_usage_bytes", ">", 0.9,
            "{container} uses {value:.0%} of its memory limit", per="lucid_container_memory_limit_bytes"),
    Symptom("complete-system-failure", "lucid_container_running", "==", 0, "{container} is not running"),
    Symptom("complete-system-failure", "lucid_host_filesystem_free_bytes", "<", 0.1,
            "{path} has {value:.0%} free", per="lucid_host_filesystem_size_bytes"),
    Symptom("data-loss-or-corruption", "lucid_backup_last_timestamp_seconds", ">", 2 * 86400,
            "newest {kind} backup is {value:.0f}s old", age=True),
)


@dataclass
class Finding:
    problem: Problem
    observed: list[str] = field(default_factory=list)
    services: set[str] = field(default_factory=set)


def _matches(labels: dict[str, str], match: dict[str, str]) -> bool:
    for key, pattern in match.items():
        v = labels.get(key, "")
        negate = pattern.startswith("!")
        hit = re.fullmatch(pattern.lstrip("!"), v) is not None
        if hit == negate:
            return False
    return True


def evaluate(results: Iterable[ProbeResult], services: dict[str, Service], now: float | None = None) -> list[Finding]:
    """Findings in guide order, each with what was observed."""
    now = time.time() if now is None else now
    results = list(results)
    samples = [s for r in results for s in r.samples]
    by_name: dict[str, list[Sample]] = {}
    for s in samples:
        by_name.setdefault(s.name, []).append(s)
    findings: dict[str, Finding] = {}
    catalogue = problems()

    def add(slug: str, text: str, service: str = "") -> None:
        f = findings.setdefault(slug, Finding(catalogue[slug]))
        if text not in f.observed:
            f.observed.append(text)
        if service:
            f.services.add(service)

    for r in results:
        if r.success:
            continue
        service = r.probe.target.split("/")[0]
        slug = PROBE_KIND_PROBLEM.get(r.probe.kind) or SERVICE_PROBLEM.get(service)
        if slug:
            add(slug, f"probe {r.probe.kind} on {r.probe.target} failed: {r.reason}: {r.message}", service)
    for s in by_name.get("lucid_service_up", []):
        if s.value == 0:
            svc = str(s.labels.get("service", ""))
            if svc in SERVICE_PROBLEM:
                add(SERVICE_PROBLEM[svc], f"{svc} is down", svc)
    down = sum(1 for s in by_name.get("lucid_service_up", []) if s.value == 0)
    total = len(by_name.get("lucid_service_up", []))
    if total >= 5 and down / total >= 0.8:  # "all services down", not one service of a /probe
        add("complete-system-failure", f"{down} of {total} services are down")

    for sym in SYMPTOMS:
        for s in by_name.get(sym.metric, []):
            labels = dict(s.labels)
            if not _matches(labels, sym.match):
                continue
            v = s.value
            if sym.per is not None:
                div = next((d.value for d in by_name.get(sym.per, []) if dict(d.labels) == labels), 0.0)
                if div == 0:
                    continue
                v = v / div
            if sym.age:
                v = now - v
            if _OPS[sym.op](v, sym.threshold):
                add(sym.problem, sym.text.format(value=v, **labels), labels.get("service", ""))
    order = list(catalogue)
    return sorted(findings.values(), key=lambda f: order.index(f.problem.slug))


def report_text(findings: list[Finding], results: list[ProbeResult]) -> str:
    ok = sum(1 for r in results if r.success)
    lines = [f"1. Identify: {len(results)} probes ran, {ok} succeeded, {len(results) - ok} failed."]
    if not findings:
        lines.append("2. Check health: every check passes; no guide problem detected.")
        return "\n".join(lines) + "\n"
    lines.append(f"2. Check health: {len(findings)} guide problem(s) detected.\n")
    for i, f in enumerate(findings, 1):
        p = f.problem
        lines.append(f"=== [{i}] {p.title}  (cluster {p.cluster}; runbook {p.runbook})")
        lines.append("  Observed:")
        lines.extend(f"    - {o}" for o in f.observed)
        logs = [(w, c) for w, c in p.diagnostics if "docker logs" in c]
        other = [(w, c) for w, c in p.diagnostics if "docker logs" not in c]
        if other:
            lines.append("  Check health (the guide's diagnostic steps):")
            lines.extend(_step(w, c) for w, c in other)
        if logs:
            lines.append("  Analyse logs:")
            lines.extend(_step(w, c) for w, c in logs)
        if p.solutions:
            lines.append("  Apply solutions (in order; read the runbook before any step marked DESTRUCTIVE):")
            lines.extend(_step(w, c, flag=True) for w, c in p.solutions)
        targets = sorted(f.services)
        verify = " ".join(f"--target {t}" for t in targets[:1]) if targets else ""
        lines.append(f"  Verify: lucid-exporter doctor{(' ' + verify) if verify else ''} "
                     "(exit 0 when the problem is gone)\n")
    return "\n".join(lines)


def _step(what: str, command: str, flag: bool = False) -> str:
    mark = "DESTRUCTIVE: " if flag and DESTRUCTIVE.search(command) else ""
    cmd = command.replace("\n", "\n        ")
    return f"    - {mark}{what}\n        {cmd}"


def report_json(findings: list[Finding], results: list[ProbeResult]) -> dict[str, Any]:
    return {
        "ok": not findings,
        "probes": {"total": len(results), "failed": sum(1 for r in results if not r.success)},
        "findings": [
            {"problem": f.problem.slug, "title": f.problem.title, "cluster": f.problem.cluster,
             "runbook": f.problem.runbook, "observed": f.observed, "services": sorted(f.services),
             "diagnostics": [{"what": w, "command": c} for w, c in f.problem.diagnostics],
             "solutions": [{"what": w, "command": c, "destructive": bool(DESTRUCTIVE.search(c))}
                           for w, c in f.problem.solutions]}
            for f in findings
        ],
    }
