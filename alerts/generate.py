#!/usr/bin/env python3
"""Generate the Lucid alert rules pack, its promtool unit tests and the runbooks' alert lists.

One source of truth for every alert: its expression, ``for:``, labels, annotations, the reason for
its threshold, and two unit test cases (one where it fires, one where it stays silent). From it:

- ``alerts/<cluster>.rules.yml``       one Prometheus rule file per cluster (+ ``exporter``);
- ``alerts/tests/<cluster>.test.yml``  promtool unit tests for that file;
- the alert tables between ``<!-- alerts:<slug> -->`` and ``<!-- /alerts -->`` in
  ``docs/runbooks/<cluster>.md`` (the runbook prose itself is written by hand).

Usage::

    python alerts/generate.py          # (re)write the files
    python alerts/generate.py --check  # exit 1 when a committed file differs from the generated one
    (rules with a short for:, for fire drills and the demo: scripts/drill_rules.py)

Links: change ``RUNBOOK_BASE`` / ``DASHBOARD_BASE`` below (one constant each) to point the
``runbook_url`` and ``dashboard_url`` annotations at your own repository and Grafana. Dashboard
uids are ``lucid-overview`` and ``lucid-<cluster>``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "alerts"
RUNBOOKS = ROOT / "docs" / "runbooks"

# Where the runbooks are published: <RUNBOOK_BASE>/<cluster>.md#<problem-slug>.
RUNBOOK_BASE = "https://github.com/lucid-exporter/lucid-exporter/blob/main/docs/runbooks"
# Grafana: <DASHBOARD_BASE>/lucid-<cluster> (per cluster), lucid-overview, and lucid-exporter (the exporter alerts).
DASHBOARD_BASE = "https://grafana.example/d"

# Prometheus' default scrape timeout. The exporter alerts call a scrape "close to its timeout" at
# 80 % of it; change both when your scrape_timeout for the lucid job differs.
SCRAPE_TIMEOUT_SECONDS = 10
NEAR_TIMEOUT_SECONDS = 0.8 * SCRAPE_TIMEOUT_SECONDS

CLUSTERS = ("foundation", "auth", "gateway", "blockchain", "sessions", "rdp", "nodes", "admin", "tron", "system")
FILES = (*CLUSTERS, "exporter")


@dataclass
class Case:
    """A promtool test group: input series (series -> promtool expanding notation) at 1m steps."""

    series: dict[str, str]
    at: str = "10m"
    labels: dict[str, str] = field(default_factory=dict)  # labels the alert inherits from the series
    description: str = ""  # expected rendered description (firing cases)
    quiet_at: tuple[str, ...] = ()  # eval times (inside ``for:``) at which the alert must not fire yet


@dataclass
class Alert:
    name: str
    file: str  # rule file (cluster or "exporter")
    problem: str  # slug of the guide heading (or of the exporter runbook heading)
    severity: str
    expr: str
    for_: str
    summary: str
    description: str
    why: str  # the threshold / for: justification, emitted as a comment above the rule
    fire: Case
    silent: Case
    cluster: str = ""  # label value; defaults to ``file``; may be a template
    dashboard: str = ""  # dashboard uid; defaults to lucid-<file>

    @property
    def cluster_label(self) -> str:
        return self.cluster or self.file

    @property
    def runbook_file(self) -> str:
        return PROBLEM_FILE.get(self.problem, self.file)

    @property
    def runbook_url(self) -> str:
        return f"{RUNBOOK_BASE}/{self.runbook_file}.md#{self.problem}"

    @property
    def dashboard_url(self) -> str:
        uid = self.dashboard or ("lucid-exporter" if self.file == "exporter" else f"lucid-{self.file}")
        return f"{DASHBOARD_BASE}/{uid}"

    def labels(self) -> dict[str, str]:
        return {"severity": self.severity, "cluster": self.cluster_label, "problem": self.problem}

    def annotations(self) -> dict[str, str]:
        return {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": self.runbook_url,
            "dashboard_url": self.dashboard_url,
        }


def load_problems() -> list[dict[str, str]]:
    data = yaml.safe_load((ALERTS / "guide_problems.yml").read_text())
    return list(data["problems"])


PROBLEM_FILE = {p["slug"]: p["cluster"] for p in load_problems()}


def down(name: str, file: str, problem: str, service: str, what: str, *, severity: str = "critical",
         why: str = "") -> Alert:
    """A service health alert: lucid_service_up{service=...} == 0 for 5 minutes."""
    return Alert(
        name=name, file=file, problem=problem, severity=severity,
        expr=f'lucid_service_up{{service="{service}"}} == 0', for_="5m",
        summary=f"{what} is down",
        description="Service {{ $labels.service }} has failed its health check for more than 5 minutes.",
        why=why or "A routine restart takes well under 5 minutes; only a service that stays down pages.",
        fire=Case({f'lucid_service_up{{service="{service}",cluster="{file}"}}': "0x15"},
                  labels={"service": service},
                  description=f"Service {service} has failed its health check for more than 5 minutes.",
                  quiet_at=("3m",)),
        silent=Case({f'lucid_service_up{{service="{service}",cluster="{file}"}}': "1x15"}),
    )


GIB = 1024**3
# Services whose outage has its own alert (cluster down alerts above, or the store's own probe for
# MongoDB, Redis and Elasticsearch); LucidServiceDown covers every other service.
OWN_DOWN_ALERT = ("mongodb|redis|elasticsearch|auth-service|blockchain-engine|session-anchoring|session-pipeline"
                  "|chunk-processor|rdp-manager|xrdp|session-controller|resource-monitor|node-management"
                  "|admin-interface|tron-client|wallet-manager|usdt-manager")

ALERT_LIST: list[Alert] = [
    # ------------------------------------------------------------------ foundation
    Alert(
        name="LucidMongoDBDown", file="foundation", problem="mongodb-connection-failures", severity="critical",
        expr="lucid_mongodb_up == 0", for_="5m",
        summary="MongoDB cannot be reached",
        description="The exporter {{ $labels.instance }} has not been able to connect to MongoDB for 5 minutes.",
        why="Every Lucid service needs MongoDB. 5 minutes rides out a container restart.",
        fire=Case({'lucid_mongodb_up{instance="lucid-exporter:10097"}': "0x15"},
                  labels={"instance": "lucid-exporter:10097"},
                  description="The exporter lucid-exporter:10097 has not been able to connect to MongoDB for "
                              "5 minutes.",
                  quiet_at=("3m",)),
        silent=Case({'lucid_mongodb_up{instance="lucid-exporter:10097"}': "1x15"}),
    ),
    Alert(
        name="LucidMongoDBReplicaSetNotInitialized", file="foundation", problem="mongodb-connection-failures",
        severity="critical", expr="lucid_mongodb_replset_initialized == 0", for_="5m",
        summary="MongoDB replica set is not initialized",
        description="MongoDB answers NotYetInitialized: the replica set has not been initiated (rs.initiate()).",
        why="A fresh or wiped node answers NotYetInitialized until rs.initiate(); 5 minutes covers first start.",
        fire=Case({"lucid_mongodb_replset_initialized": "0x15"},
                  description="MongoDB answers NotYetInitialized: the replica set has not been initiated "
                              "(rs.initiate())."),
        silent=Case({"lucid_mongodb_replset_initialized": "1x15"}),
    ),
    Alert(
        name="LucidMongoDBAuthenticationFailing", file="foundation", problem="mongodb-connection-failures",
        severity="critical", expr="lucid_mongodb_authenticated == 0", for_="5m",
        summary="MongoDB rejects the configured credentials",
        description="connectionStatus shows no authenticated user for the exporter's MongoDB login; "
                    "services using the same credentials fail too.",
        why="Authentication errors are a symptom in the guide; a password change in progress gets 5 minutes.",
        fire=Case({"lucid_mongodb_authenticated": "0x15"},
                  description="connectionStatus shows no authenticated user for the exporter's MongoDB login; "
                              "services using the same credentials fail too."),
        silent=Case({"lucid_mongodb_authenticated": "1x15"}),
    ),
    Alert(
        name="LucidMongoDBReplicaSetMemberUnhealthy", file="foundation", problem="mongodb-connection-failures",
        severity="warning",
        expr="lucid_mongodb_replset_member_state != 1 != 2 != 7", for_="10m",
        summary="A MongoDB replica set member is not PRIMARY, SECONDARY or ARBITER",
        description="Member {{ $labels.member }} of replica set {{ $labels.set }} is in state {{ $value }} "
                    "(1 PRIMARY, 2 SECONDARY, 3 RECOVERING, 8 DOWN).",
        why="States other than 1/2/7 (STARTUP, RECOVERING, DOWN, ROLLBACK, ...) are transient during a "
            "restart or initial sync; 10 minutes lets a normal resync finish.",
        fire=Case({'lucid_mongodb_replset_member_state{set="rs0",member="lucid-mongodb:27017"}': "1x5 3x20"},
                  at="20m", labels={"set": "rs0", "member": "lucid-mongodb:27017"},
                  description="Member lucid-mongodb:27017 of replica set rs0 is in state 3 "
                              "(1 PRIMARY, 2 SECONDARY, 3 RECOVERING, 8 DOWN).",
                  quiet_at=("10m",)),
        silent=Case({'lucid_mongodb_replset_member_state{set="rs0",member="lucid-mongodb:27017"}': "1x20",
                     'lucid_mongodb_replset_member_state{set="rs0",member="lucid-mongodb-2:27017"}': "2x20"},
                    at="20m"),
    ),
    Alert(
        name="LucidMongoDBSlowOperation", file="foundation", problem="mongodb-performance-issues", severity="warning",
        expr="lucid_mongodb_current_op_oldest_seconds > 60", for_="5m",
        summary="A MongoDB operation has been running for more than a minute",
        description="The oldest operation in db.currentOp() has been running for {{ $value | humanizeDuration }}.",
        why="Lucid's requests are short (session, user, block lookups); an operation older than 60 s is a "
            "slow query or a lock holder, the guide's 'slow query responses'.",
        fire=Case({"lucid_mongodb_current_op_oldest_seconds": "0+30x15"},
                  description="The oldest operation in db.currentOp() has been running for 5m 0s."),
        silent=Case({"lucid_mongodb_current_op_oldest_seconds": "2x15"}),
    ),
    Alert(
        name="LucidMongoDBConnectionsNearLimit", file="foundation", problem="mongodb-performance-issues",
        severity="warning",
        expr="lucid_mongodb_connections_current"
             " / ((lucid_mongodb_connections_current + lucid_mongodb_connections_available) > 0) > 0.9",
        for_="10m",
        summary="MongoDB connections are above 90 % of the limit",
        description="MongoDB uses {{ $value | humanizePercentage }} of its connection slots (current / "
                    "(current + available)).",
        why="The guide's 'connection timeouts' symptom: new connections wait when slots run out. 90 % leaves "
            "room to react; the denominator is guarded against 0.",
        fire=Case({"lucid_mongodb_connections_current": "950x15",
                   "lucid_mongodb_connections_available": "50x15"},
                  description="MongoDB uses 95% of its connection slots (current / (current + available))."),
        silent=Case({"lucid_mongodb_connections_current": "100x15",
                     "lucid_mongodb_connections_available": "900x15"}),
    ),
    Alert(
        name="LucidMongoDBIndexMissing", file="foundation", problem="mongodb-performance-issues", severity="warning",
        expr="lucid_mongodb_index_present == 0", for_="15m",
        summary="A required MongoDB index is missing",
        description="Index {{ $labels.index }} on {{ $labels.database }}.{{ $labels.collection }} is missing; "
                    "queries on it scan the whole collection.",
        why="Indexes do not disappear during a restart; 15 minutes covers a migration that rebuilds them.",
        fire=Case({'lucid_mongodb_index_present{database="lucid",collection="users",index="email_1"}': "0x20"},
                  at="20m", labels={"database": "lucid", "collection": "users", "index": "email_1"},
                  description="Index email_1 on lucid.users is missing; queries on it scan the whole collection."),
        silent=Case({'lucid_mongodb_index_present{database="lucid",collection="users",index="email_1"}': "1x20"},
                    at="20m"),
    ),
    Alert(
        name="LucidRedisDown", file="foundation", problem="redis-connection-failures", severity="critical",
        expr="lucid_redis_up == 0", for_="5m",
        summary="Redis cannot be reached",
        description="The exporter {{ $labels.instance }} has not been able to PING Redis for 5 minutes; rate "
                    "limiting and caches are off.",
        why="Rate limiting and caching depend on Redis; 5 minutes rides out a restart.",
        fire=Case({'lucid_redis_up{instance="lucid-exporter:10097"}': "0x15"},
                  labels={"instance": "lucid-exporter:10097"},
                  description="The exporter lucid-exporter:10097 has not been able to PING Redis for 5 minutes; rate "
                              "limiting and caches are off.",
                  quiet_at=("3m",)),
        silent=Case({'lucid_redis_up{instance="lucid-exporter:10097"}': "1x15"}),
    ),
    Alert(
        name="LucidRedisMemoryNearLimit", file="foundation", problem="redis-memory-issues", severity="critical",
        expr="lucid_redis_memory_used_bytes / (lucid_redis_memory_max_bytes > 0) > 0.9", for_="5m",
        summary="Redis memory is above 90 % of maxmemory",
        description="Redis uses {{ $value | humanizePercentage }} of its maxmemory; writes fail with OOM "
                    "errors when the policy cannot evict.",
        why="The guide's 'out of memory errors'. maxmemory 0 (no limit) is excluded from the ratio "
            "(division by zero) and reported by LucidRedisMaxmemoryNotSet.",
        fire=Case({"lucid_redis_memory_used_bytes": f"{int(0.95 * GIB)}x15",
                   "lucid_redis_memory_max_bytes": f"{GIB}x15"},
                  description="Redis uses 95% of its maxmemory; writes fail with OOM errors when the policy "
                              "cannot evict."),
        silent=Case({"lucid_redis_memory_used_bytes": f"{GIB // 2}x15", "lucid_redis_memory_max_bytes": "0x15"}),
    ),
    Alert(
        name="LucidRedisMaxmemoryNotSet", file="foundation", problem="redis-memory-issues", severity="warning",
        expr="lucid_redis_memory_max_bytes == 0", for_="30m",
        summary="Redis has no maxmemory limit",
        description="Redis maxmemory is {{ $value }} (unlimited); the guide sets 1 to 2 GB with allkeys-lru.",
        why="The guide's solution sets maxmemory 1gb-2gb; without it Redis grows until the container is "
            "OOM-killed. A configuration state, so 30 minutes and a ticket.",
        fire=Case({"lucid_redis_memory_max_bytes": "0x40"}, at="40m",
                  description="Redis maxmemory is 0 (unlimited); the guide sets 1 to 2 GB with allkeys-lru."),
        silent=Case({"lucid_redis_memory_max_bytes": f"{GIB}x40"}, at="40m"),
    ),
    Alert(
        name="LucidRedisEvictionPolicyNotLRU", file="foundation", problem="redis-memory-issues", severity="warning",
        expr='lucid_redis_maxmemory_policy{policy!="allkeys-lru"} == 1', for_="30m",
        summary="Redis maxmemory-policy is not allkeys-lru",
        description="Redis maxmemory-policy is {{ $labels.policy }}; the guide uses allkeys-lru so that a full "
                    "cache evicts instead of failing writes.",
        why="The guide's solution sets allkeys-lru; other policies (noeviction) turn a full cache into errors.",
        fire=Case({'lucid_redis_maxmemory_policy{policy="noeviction"}': "1x40",
                   'lucid_redis_maxmemory_policy{policy="allkeys-lru"}': "0x40"}, at="40m",
                  labels={"policy": "noeviction"},
                  description="Redis maxmemory-policy is noeviction; the guide uses allkeys-lru so that a full "
                              "cache evicts instead of failing writes."),
        silent=Case({'lucid_redis_maxmemory_policy{policy="noeviction"}': "0x40",
                     'lucid_redis_maxmemory_policy{policy="allkeys-lru"}': "1x40"}, at="40m"),
    ),
    Alert(
        name="LucidRedisMaxmemoryOutsideGuideRange", file="foundation", problem="redis-memory-issues", severity="info",
        expr=f"lucid_redis_memory_max_bytes > 0 and (lucid_redis_memory_max_bytes < {GIB}"
             f" or lucid_redis_memory_max_bytes > {2 * GIB})",
        for_="1h",
        summary="Redis maxmemory is outside the guide's 1-2 GB",
        description="Redis maxmemory is {{ $value | humanize1024 }}B; the guide sizes it at 1 to 2 GB.",
        why="Information only: the guide's 1-2 GB is a sizing hint, a deliberate other size is fine.",
        fire=Case({"lucid_redis_memory_max_bytes": f"{256 * 1024**2}x70"}, at="70m",
                  description="Redis maxmemory is 256MiB; the guide sizes it at 1 to 2 GB."),
        silent=Case({"lucid_redis_memory_max_bytes": f"{2 * GIB}x70"}, at="70m"),
    ),
    Alert(
        name="LucidElasticsearchDown", file="foundation", problem="elasticsearch-cluster-health-issues",
        severity="critical", expr="lucid_elasticsearch_up == 0", for_="5m",
        summary="Elasticsearch cannot be reached",
        description="The exporter has not been able to reach Elasticsearch for 5 minutes; search is down.",
        why="Search depends on it; 5 minutes rides out a restart (Elasticsearch takes a minute to start).",
        fire=Case({"lucid_elasticsearch_up": "0x15"},
                  description="The exporter has not been able to reach Elasticsearch for 5 minutes; search is down.",
                  quiet_at=("3m",)),
        silent=Case({"lucid_elasticsearch_up": "1x15"}),
    ),
    Alert(
        name="LucidElasticsearchClusterRed", file="foundation", problem="elasticsearch-cluster-health-issues",
        severity="critical", expr='lucid_elasticsearch_cluster_health_status{color="red"} == 1', for_="5m",
        summary="Elasticsearch cluster health is red",
        description="Elasticsearch reports red: at least one primary shard is unassigned, searches and writes "
                    "on that index fail.",
        why="The guide's 'cluster red status': red means data unavailable, so it pages.",
        fire=Case({'lucid_elasticsearch_cluster_health_status{color="red"}': "1x15",
                   'lucid_elasticsearch_cluster_health_status{color="green"}': "0x15"},
                  labels={"color": "red"},
                  description="Elasticsearch reports red: at least one primary shard is unassigned, searches "
                              "and writes on that index fail."),
        silent=Case({'lucid_elasticsearch_cluster_health_status{color="red"}': "0x15",
                     'lucid_elasticsearch_cluster_health_status{color="yellow"}': "1x15"}),
    ),
    Alert(
        name="LucidElasticsearchClusterYellow", file="foundation", problem="elasticsearch-cluster-health-issues",
        severity="warning", expr='lucid_elasticsearch_cluster_health_status{color="yellow"} == 1', for_="30m",
        summary="Elasticsearch cluster health is yellow",
        description="Elasticsearch reports yellow: replica shards are unassigned; data is served but not redundant.",
        why="Yellow is normal while replicas recover after a restart and permanent on a single node; a ticket "
            "after 30 minutes.",
        fire=Case({'lucid_elasticsearch_cluster_health_status{color="yellow"}': "1x40"}, at="40m",
                  labels={"color": "yellow"},
                  description="Elasticsearch reports yellow: replica shards are unassigned; data is served but "
                              "not redundant."),
        silent=Case({'lucid_elasticsearch_cluster_health_status{color="yellow"}': "1x10 0x30"}, at="40m"),
    ),
    # ------------------------------------------------------------------ auth
    down("LucidAuthServiceDown", "auth", "jwt-token-validation-failures", "auth-service", "The auth service"),
    Alert(
        name="LucidAuthTokenVerificationFailing", file="auth", problem="jwt-token-validation-failures",
        severity="critical", expr="lucid_auth_token_verify_ok == 0", for_="5m",
        summary="The auth service rejects a valid monitoring token",
        description="GET /verify with the exporter's monitoring token has failed for 5 minutes: users see "
                    "'Invalid token' errors.",
        why="A valid token that stops verifying means a changed JWT secret or a broken auth service; all "
            "logins are affected.",
        fire=Case({"lucid_auth_token_verify_ok": "0x15"},
                  description="GET /verify with the exporter's monitoring token has failed for 5 minutes: users "
                              "see 'Invalid token' errors."),
        silent=Case({"lucid_auth_token_verify_ok": "1x15"}),
    ),
    Alert(
        name="LucidAuthProbeTokenExpiringSoon", file="auth", problem="jwt-token-validation-failures",
        severity="warning",
        expr="lucid_auth_probe_token_expiry_timestamp_seconds > 0"
             " and lucid_auth_probe_token_expiry_timestamp_seconds - time() < 7 * 86400",
        for_="1h",
        summary="The exporter's monitoring token expires within 7 days",
        description="The monitoring token expires at {{ $value | humanizeTimestamp }}; renew it before "
                    "LucidAuthTokenVerificationFailing fires.",
        why="One week gives time to issue a new token during working hours.",
        fire=Case({"lucid_auth_probe_token_expiry_timestamp_seconds": "86400x70"}, at="70m",
                  description="The monitoring token expires at 1970-01-02 00:00:00 +0000 UTC; renew it before "
                              "LucidAuthTokenVerificationFailing fires."),
        silent=Case({"lucid_auth_probe_token_expiry_timestamp_seconds": f"{30 * 86400}x70"}, at="70m"),
    ),
    Alert(
        name="LucidAuthServiceDegraded", file="auth", problem="hardware-wallet-connection-issues", severity="warning",
        expr='lucid_service_degraded{service="auth-service"} == 1', for_="15m",
        summary="The auth service reports itself degraded",
        description="auth-service /health answers status degraded; its dependencies (database, redis, "
                    "hardware_wallet) tell which one.",
        why="The auth service's health lists hardware_wallet among its dependencies; a degraded status that "
            "lasts 15 minutes is not a restart.",
        fire=Case({'lucid_service_degraded{service="auth-service",cluster="auth"}': "1x20"}, at="20m",
                  labels={"service": "auth-service"},
                  description="auth-service /health answers status degraded; its dependencies (database, redis, "
                              "hardware_wallet) tell which one."),
        silent=Case({'lucid_service_degraded{service="auth-service",cluster="auth"}': "0x20"}, at="20m"),
    ),
    Alert(
        name="LucidAuthServiceErrorLogs", file="auth", problem="hardware-wallet-connection-issues", severity="warning",
        expr='sum by (container) (increase(lucid_log_lines_total{container="lucid-auth-service",'
             'level=~"ERROR|CRITICAL"}[15m])) > 5',
        for_="10m",
        summary="The auth service logs errors",
        description="lucid-auth-service logged {{ $value | humanize }} ERROR/CRITICAL lines in 15 minutes; "
                    "grep them for hardware, ledger, trezor.",
        why="No metric names the hardware wallet directly (the guide checks it only in logs); more than 5 "
            "error lines in 15 minutes, for 10 minutes, is a pattern and not a single failed login.",
        fire=Case({'lucid_log_lines_total{container="lucid-auth-service",level="ERROR"}': "0+2x30"}, at="30m",
                  labels={"container": "lucid-auth-service"},
                  description="lucid-auth-service logged 30 ERROR/CRITICAL lines in 15 minutes; grep them for "
                              "hardware, ledger, trezor."),
        silent=Case({'lucid_log_lines_total{container="lucid-auth-service",level="ERROR"}': "3x30",
                     'lucid_log_lines_total{container="lucid-auth-service",level="WARN"}': "0+10x30"}, at="30m"),
    ),
    # ------------------------------------------------------------------ gateway
    Alert(
        name="LucidGatewayRateLimitNotEnforced", file="gateway", problem="rate-limiting-not-working",
        severity="warning",
        expr='lucid_gateway_rate_limit_limit == 0 or (absent(lucid_gateway_rate_limit_limit)'
             ' and on () lucid_service_up{service="api-gateway"} == 1)',
        for_="10m",
        summary="The API gateway sends no rate limit",
        description="The API gateway answers without X-RateLimit-Limit (or with 0): requests are not rate limited.",
        why="The guide expects refusals past 100 requests a minute; a gateway that is up but sends no limit "
            "does not enforce it. 10 minutes covers a rate limiter restart. A deployment that disables the "
            "exporter's rate-limit check must drop the absent() branch.",
        fire=Case({'lucid_service_up{service="api-gateway",cluster="gateway"}': "1x15"},
                  description="The API gateway answers without X-RateLimit-Limit (or with 0): requests are not "
                              "rate limited."),
        silent=Case({'lucid_service_up{service="api-gateway",cluster="gateway"}': "1x15",
                     "lucid_gateway_rate_limit_limit": "100x15"}),
    ),
    Alert(
        name="LucidGatewayRateLimitNotGuideValue", file="gateway", problem="rate-limiting-not-working",
        severity="info", expr="lucid_gateway_rate_limit_limit > 0 and lucid_gateway_rate_limit_limit != 100",
        for_="30m",
        summary="The API gateway rate limit differs from the guide's 100 requests a minute",
        description="X-RateLimit-Limit is {{ $value }}; the guide's limit is 100 requests a minute.",
        why="Information: the guide's test sends 110 requests and expects refusals past 100 a minute; "
            "other limits may be deliberate.",
        fire=Case({"lucid_gateway_rate_limit_limit": "1000x40"}, at="40m",
                  description="X-RateLimit-Limit is 1000; the guide's limit is 100 requests a minute."),
        silent=Case({"lucid_gateway_rate_limit_limit": "100x40"}, at="40m"),
    ),
    Alert(
        name="LucidRateLimiterNotRunning", file="gateway", problem="rate-limiting-not-working", severity="warning",
        expr='lucid_container_running{container="lucid-rate-limiter"} == 0', for_="5m",
        summary="The rate limiter container is not running",
        description="Container {{ $labels.container }} is not running; rate limits are not enforced.",
        why="The rate limiter has no health endpoint in the guide, so its container state is watched; 5 "
            "minutes rides out a restart.",
        fire=Case({'lucid_container_running{container="lucid-rate-limiter"}': "0x15"},
                  labels={"container": "lucid-rate-limiter"},
                  description="Container lucid-rate-limiter is not running; rate limits are not enforced.",
                  quiet_at=("3m",)),
        silent=Case({'lucid_container_running{container="lucid-rate-limiter"}': "1x15"}),
    ),
    Alert(
        name="LucidGatewayCORSPreflightFailing", file="gateway", problem="cors-errors", severity="critical",
        expr="lucid_gateway_cors_preflight_ok == 0", for_="10m",
        summary="CORS preflight requests are rejected",
        description="OPTIONS preflight from origin {{ $labels.origin }} is not allowed by the API gateway; "
                    "browsers block the requests.",
        why="Browser clients (admin UI, web app) cannot call the API at all; 10 minutes covers a gateway "
            "restart with a config change.",
        fire=Case({'lucid_gateway_cors_preflight_ok{origin="http://localhost:3000"}': "0x15"},
                  at="15m", labels={"origin": "http://localhost:3000"},
                  description="OPTIONS preflight from origin http://localhost:3000 is not allowed by the API "
                              "gateway; browsers block the requests."),
        silent=Case({'lucid_gateway_cors_preflight_ok{origin="http://localhost:3000"}': "1x15"}, at="15m"),
    ),
    # ------------------------------------------------------------------ blockchain
    down("LucidBlockchainEngineDown", "blockchain", "consensus-failures", "blockchain-engine",
         "The blockchain engine"),
    Alert(
        name="LucidBlockchainNoNewBlock", file="blockchain", problem="consensus-failures", severity="critical",
        expr="time() - lucid_blockchain_latest_block_timestamp_seconds > 360"
             " and lucid_blockchain_latest_block_timestamp_seconds > 0",
        for_="2m",
        summary="No new block for three Lucid slots",
        description="The latest block is {{ $value | humanizeDuration }} old; Lucid creates one every 120 s.",
        why="Lucid's slot is 120 s: three slots without a block (360 s) is a stalled consensus, not one "
            "missed slot. The expression reports the age.",
        fire=Case({"lucid_blockchain_latest_block_timestamp_seconds": "60x20"}, at="15m",
                  description="The latest block is 14m 0s old; Lucid creates one every 120 s."),
        silent=Case({"lucid_blockchain_latest_block_timestamp_seconds": "0+60x20"}, at="15m"),
    ),
    Alert(
        name="LucidConsensusNotReached", file="blockchain", problem="consensus-failures", severity="warning",
        expr="lucid_consensus_reached == 0", for_="10m",
        summary="Consensus rounds do not reach agreement",
        description="The consensus status reports consensus_reached false for 10 minutes (round failures).",
        why="Five slots of 120 s without agreement is more than one failed round.",
        fire=Case({"lucid_consensus_reached": "0x20"}, at="15m",
                  description="The consensus status reports consensus_reached false for 10 minutes (round "
                              "failures)."),
        silent=Case({"lucid_consensus_reached": "1x20"}, at="15m"),
    ),
    down("LucidSessionAnchoringDown", "blockchain", "session-anchoring-failures", "session-anchoring",
         "The session anchoring service"),
    Alert(
        name="LucidAnchoringFailedSessions", file="blockchain", problem="session-anchoring-failures",
        severity="warning", expr='lucid_anchoring_sessions{state="failed"} > 0', for_="15m",
        summary="Sessions fail to be anchored",
        description="{{ $value }} sessions are in anchoring state failed.",
        why="A failed anchoring is retried; still failed after 15 minutes needs a look.",
        fire=Case({'lucid_anchoring_sessions{state="failed"}': "3x20"}, at="20m", labels={"state": "failed"},
                  description="3 sessions are in anchoring state failed."),
        silent=Case({'lucid_anchoring_sessions{state="failed"}': "0x20",
                     'lucid_anchoring_sessions{state="completed"}': "0+5x20"}, at="20m"),
    ),
    Alert(
        name="LucidAnchoringBacklog", file="blockchain", problem="session-anchoring-failures", severity="warning",
        expr='lucid_anchoring_sessions{state="pending"} > 100', for_="30m",
        summary="Sessions pile up waiting to be anchored",
        description="{{ $value }} sessions are waiting to be anchored.",
        why="The guide gives no number. Anchoring batches sessions into one Merkle root per block (120 s); "
            "100 pending for 30 minutes (15 blocks) means batches are not leaving.",
        fire=Case({'lucid_anchoring_sessions{state="pending"}': "150x40"}, at="40m", labels={"state": "pending"},
                  description="150 sessions are waiting to be anchored."),
        silent=Case({'lucid_anchoring_sessions{state="pending"}': "20x40"}, at="40m"),
    ),
    # ------------------------------------------------------------------ sessions
    down("LucidSessionPipelineDown", "sessions", "session-pipeline-failures", "session-pipeline",
         "The session pipeline"),
    Alert(
        name="LucidSessionPipelineFailedSessions", file="sessions", problem="session-pipeline-failures",
        severity="warning", expr='lucid_pipeline_sessions{state=~"failed|error"} > 0', for_="15m",
        summary="Sessions are stuck in a failed pipeline state",
        description="{{ $value }} sessions are in pipeline state {{ $labels.state }}.",
        why="A session in a failed state is a state machine error (the guide's symptom); 15 minutes lets "
            "the pipeline's own retry run.",
        fire=Case({'lucid_pipeline_sessions{state="failed"}': "4x20"}, at="20m", labels={"state": "failed"},
                  description="4 sessions are in pipeline state failed."),
        silent=Case({'lucid_pipeline_sessions{state="failed"}': "0x20",
                     'lucid_pipeline_sessions{state="recording"}': "7x20"}, at="20m"),
    ),
    down("LucidChunkProcessorDown", "sessions", "chunk-processing-failures", "chunk-processor",
         "The chunk processor"),
    Alert(
        name="LucidChunkQueueGrowing", file="sessions", problem="chunk-processing-failures", severity="warning",
        expr="lucid_chunk_queue_depth > 1000 and deriv(lucid_chunk_queue_depth[15m]) > 0", for_="15m",
        summary="The chunk queue is long and still growing",
        description="{{ $value }} chunks are queued and the queue keeps growing.",
        why="The guide gives no number. 1000 chunks is several minutes of recording for a busy node; a long "
            "queue that still grows after 15 minutes means chunks are not being processed.",
        fire=Case({"lucid_chunk_queue_depth": "500+50x40"}, at="40m",
                  description="2500 chunks are queued and the queue keeps growing."),
        silent=Case({"lucid_chunk_queue_depth": "5000-100x40"}, at="40m"),
    ),
    Alert(
        name="LucidChunkEncryptionFailing", file="sessions", problem="chunk-processing-failures", severity="critical",
        expr="lucid_chunk_encryption_ok == 0", for_="5m",
        summary="Chunk encryption is failing",
        description="The chunk processor's encryption status is not OK: chunks cannot be stored encrypted.",
        why="No chunk is stored without encryption; recordings are lost while this lasts.",
        fire=Case({"lucid_chunk_encryption_ok": "0x15"},
                  description="The chunk processor's encryption status is not OK: chunks cannot be stored "
                              "encrypted."),
        silent=Case({"lucid_chunk_encryption_ok": "1x15"}),
    ),
    Alert(
        name="LucidChunksFailing", file="sessions", problem="chunk-processing-failures", severity="warning",
        expr="increase(lucid_chunks_failed_total[15m]) > 10", for_="5m",
        summary="Chunks fail to be processed",
        description="{{ $value | humanize }} chunks failed in the last 15 minutes.",
        why="A few failed chunks are retried; more than 10 in 15 minutes is a pattern.",
        fire=Case({"lucid_chunks_failed_total": "0+2x30"}, at="30m",
                  description="30 chunks failed in the last 15 minutes."),
        silent=Case({"lucid_chunks_failed_total": "5x30"}, at="30m"),
    ),
    # ------------------------------------------------------------------ rdp
    Alert(
        name="LucidRDPServiceDown", file="rdp", problem="rdp-connection-failures", severity="critical",
        expr='lucid_service_up{service=~"rdp-manager|xrdp|session-controller"} == 0', for_="5m",
        summary="An RDP service is down",
        description="Service {{ $labels.service }} has failed its health check for more than 5 minutes.",
        why="RDP sessions cannot start without the manager, XRDP and the controller; 5 minutes rides out a "
            "restart.",
        fire=Case({'lucid_service_up{service="xrdp",cluster="rdp"}': "0x15",
                   'lucid_service_up{service="rdp-manager",cluster="rdp"}': "1x15"},
                  labels={"service": "xrdp"},
                  description="Service xrdp has failed its health check for more than 5 minutes.", quiet_at=("3m",)),
        silent=Case({'lucid_service_up{service="xrdp",cluster="rdp"}': "1x15"}),
    ),
    Alert(
        name="LucidRDPPortPoolExhausted", file="rdp", problem="rdp-connection-failures", severity="critical",
        expr='lucid_rdp_ports{state="available"} == 0', for_="5m",
        summary="No RDP port is free",
        description="The RDP manager has no available port left: new RDP sessions fail to allocate one.",
        why="Port allocation failures are a symptom in the guide; with 0 free ports every new session fails.",
        fire=Case({'lucid_rdp_ports{state="available"}': "0x15", 'lucid_rdp_ports{state="allocated"}': "1000x15"},
                  labels={"state": "available"},
                  description="The RDP manager has no available port left: new RDP sessions fail to allocate one."),
        silent=Case({'lucid_rdp_ports{state="available"}': "200x15", 'lucid_rdp_ports{state="allocated"}': "800x15"}),
    ),
    Alert(
        name="LucidRDPPortPoolLow", file="rdp", problem="rdp-connection-failures", severity="warning",
        expr='sum without (state) (lucid_rdp_ports{state="available"})'
             ' / (sum without (state) (lucid_rdp_ports{state=~"available|allocated"}) > 0) < 0.1',
        for_="15m",
        summary="Less than 10 % of RDP ports are free",
        description="Only {{ $value | humanizePercentage }} of the RDP port pool is available.",
        why="A ticket before the pool runs out; the denominator is guarded against 0.",
        fire=Case({'lucid_rdp_ports{state="available"}': "50x20", 'lucid_rdp_ports{state="allocated"}': "950x20"},
                  at="20m", description="Only 5% of the RDP port pool is available."),
        silent=Case({'lucid_rdp_ports{state="available"}': "0x20", 'lucid_rdp_ports{state="allocated"}': "0x20"},
                    at="20m"),
    ),
    Alert(
        name="LucidRDPPortUnreachable", file="rdp", problem="rdp-connection-failures", severity="warning",
        expr='lucid_tcp_connect_success{target=~".*:(13389|14389)"} == 0', for_="5m",
        summary="An RDP port does not accept connections",
        description="TCP connect to {{ $labels.target }} fails (the guide's netstat check on 13389/14389).",
        why="The guide checks 13389 and 14389 with netstat; a closed port for 5 minutes is not a restart.",
        fire=Case({'lucid_tcp_connect_success{target="lucid-xrdp:13389"}': "0x15"},
                  labels={"target": "lucid-xrdp:13389"},
                  description="TCP connect to lucid-xrdp:13389 fails (the guide's netstat check on 13389/14389)."),
        silent=Case({'lucid_tcp_connect_success{target="lucid-xrdp:13389"}': "1x15",
                     'lucid_tcp_connect_success{target="lucid-redis:6379"}': "0x15"}),
    ),
    down("LucidResourceMonitorDown", "rdp", "resource-monitoring-failures", "resource-monitor",
         "The resource monitor", severity="warning",
         why="Monitoring data is missing while it is down, but no user session breaks: a ticket after 5 minutes."),
    Alert(
        name="LucidResourceMonitorStale", file="rdp", problem="resource-monitoring-failures", severity="warning",
        expr="time() - lucid_resource_monitor_last_sample_timestamp_seconds > 300"
             " and lucid_resource_monitor_last_sample_timestamp_seconds > 0",
        for_="5m",
        summary="The resource monitor stopped collecting samples",
        description="The resource monitor's latest sample is {{ $value | humanizeDuration }} old.",
        why="The resource monitor samples every few seconds; 5 minutes without a sample is the guide's "
            "'resource metrics not being collected'.",
        fire=Case({"lucid_resource_monitor_last_sample_timestamp_seconds": "60x20"}, at="20m",
                  description="The resource monitor's latest sample is 19m 0s old."),
        silent=Case({"lucid_resource_monitor_last_sample_timestamp_seconds": "0+60x20"}, at="20m"),
    ),
    # ------------------------------------------------------------------ nodes
    down("LucidNodeManagementDown", "nodes", "node-registration-failures", "node-management",
         "The node management service"),
    Alert(
        name="LucidNoActiveNodes", file="nodes", problem="node-registration-failures", severity="critical",
        expr='sum without (status) (lucid_nodes{status="active"}) == 0', for_="10m",
        summary="No node is registered as active",
        description="The node management service lists no active node; sessions cannot be placed.",
        why="Without an active node nothing runs; 10 minutes lets nodes re-register after a restart.",
        fire=Case({'lucid_nodes{status="active"}': "0x20", 'lucid_nodes{status="inactive"}': "5x20"}, at="20m",
                  description="The node management service lists no active node; sessions cannot be placed."),
        silent=Case({'lucid_nodes{status="active"}': "3x20", 'lucid_nodes{status="inactive"}': "5x20"}, at="20m"),
    ),
    Alert(
        name="LucidRegisteredNodesDropped", file="nodes", problem="node-registration-failures", severity="warning",
        expr="sum without (status) (lucid_nodes) < 0.8 * sum without (status) (lucid_nodes offset 1h)",
        for_="15m",
        summary="The number of registered nodes dropped by more than 20 % within an hour",
        description="{{ $value }} nodes are registered now, more than 20 % fewer than an hour ago.",
        why="Nodes come and go one at a time; losing a fifth within an hour means registration or status "
            "updates are failing.",
        fire=Case({'lucid_nodes{status="active"}': "10x60 5x40"}, at="90m",
                  description="5 nodes are registered now, more than 20 % fewer than an hour ago."),
        silent=Case({'lucid_nodes{status="active"}': "10x60 9x40"}, at="90m"),
    ),
    Alert(
        name="LucidPoOTScoresMissing", file="nodes", problem="poot-score-calculation-failures", severity="warning",
        expr="lucid_poot_score_nodes == 0 and on () sum(lucid_nodes) > 0", for_="15m",
        summary="No PoOT score is calculated",
        description="Nodes are registered but no node has a PoOT score.",
        why="Scores are recalculated every few slots; none at all for 15 minutes while nodes exist is the "
            "guide's 'PoOT scores not being calculated'.",
        fire=Case({"lucid_poot_score_nodes": "0x20", 'lucid_nodes{status="active"}': "4x20"}, at="20m",
                  description="Nodes are registered but no node has a PoOT score."),
        silent=Case({"lucid_poot_score_nodes": "4x20", 'lucid_nodes{status="active"}': "4x20"}, at="20m"),
    ),
    Alert(
        name="LucidPoOTScoresCollapsed", file="nodes", problem="poot-score-calculation-failures",
        severity="warning", expr="max(lucid_poot_score) <= 0", for_="15m",
        summary="All PoOT scores are zero",
        description="The highest PoOT score of all nodes is {{ $value }}: scores collapsed (invalid PoOT scores).",
        why="At least one working node has a positive score; all at 0 or below are the guide's 'invalid PoOT "
            "scores'.",
        fire=Case({'lucid_poot_score{node="node-1"}': "0x20", 'lucid_poot_score{node="node-2"}': "0x20"}, at="20m",
                  description="The highest PoOT score of all nodes is 0: scores collapsed (invalid PoOT scores)."),
        silent=Case({'lucid_poot_score{node="node-1"}': "0x20", 'lucid_poot_score{node="node-2"}': "0.7x20"},
                    at="20m"),
    ),
    # ------------------------------------------------------------------ admin
    down("LucidAdminInterfaceDown", "admin", "admin-dashboard-not-loading", "admin-interface",
         "The admin interface"),
    Alert(
        name="LucidAdminInterfaceNotRunning", file="admin", problem="admin-dashboard-not-loading",
        severity="critical", expr='lucid_container_running{container="lucid-admin-interface"} == 0', for_="5m",
        summary="The admin interface container is not running",
        description="Container {{ $labels.container }} is not running; the admin dashboard cannot load.",
        why="Tells a stopped container from a running one that fails its health check; 5 minutes rides out "
            "a restart.",
        fire=Case({'lucid_container_running{container="lucid-admin-interface"}': "0x15"},
                  labels={"container": "lucid-admin-interface"},
                  description="Container lucid-admin-interface is not running; the admin dashboard cannot load.",
                  quiet_at=("3m",)),
        silent=Case({'lucid_container_running{container="lucid-admin-interface"}': "1x15"}),
    ),
    Alert(
        name="LucidAdminRBACCheckFailing", file="admin", problem="rbac-permission-errors", severity="warning",
        expr="lucid_admin_rbac_ok == 0", for_="10m",
        summary="The RBAC permission matrix cannot be read",
        description="The exporter's read-only admin token cannot read the permission matrix: permission "
                    "denied errors or broken role assignments.",
        why="A token that could read the matrix and no longer can points at RBAC data or config; 10 minutes "
            "covers an admin interface restart.",
        fire=Case({"lucid_admin_rbac_ok": "0x20"}, at="15m",
                  description="The exporter's read-only admin token cannot read the permission matrix: "
                              "permission denied errors or broken role assignments."),
        silent=Case({"lucid_admin_rbac_ok": "1x20"}, at="15m"),
    ),
    Alert(
        name="LucidAdminRBACNoRoles", file="admin", problem="rbac-permission-errors", severity="critical",
        expr="lucid_admin_rbac_roles == 0", for_="10m",
        summary="No RBAC role is defined",
        description="The admin interface lists no role: every user gets permission denied.",
        why="Without roles access control denies everything (or nothing); pages.",
        fire=Case({"lucid_admin_rbac_roles": "0x20"}, at="15m",
                  description="The admin interface lists no role: every user gets permission denied."),
        silent=Case({"lucid_admin_rbac_roles": "4x20"}, at="15m"),
    ),
    # ------------------------------------------------------------------ tron
    down("LucidTronClientDown", "tron", "tron-network-connection-failures", "tron-client", "The TRON client"),
    Alert(
        name="LucidTronNetworkDisconnected", file="tron", problem="tron-network-connection-failures",
        severity="critical", expr="lucid_tron_network_connected == 0", for_="5m",
        summary="The TRON client is not connected to the TRON network",
        description="The TRON client reports no connection to the TRON network for 5 minutes; payouts stop.",
        why="TronGrid hiccups last seconds; 5 minutes without a connection stops payments.",
        fire=Case({"lucid_tron_network_connected": "0x15"},
                  description="The TRON client reports no connection to the TRON network for 5 minutes; payouts "
                              "stop."),
        silent=Case({"lucid_tron_network_connected": "1x15"}),
    ),
    Alert(
        name="LucidTronBlockStale", file="tron", problem="tron-network-connection-failures", severity="warning",
        expr="time() - lucid_tron_latest_block_timestamp_seconds > 120"
             " and lucid_tron_latest_block_timestamp_seconds > 0",
        for_="5m",
        summary="The TRON client's latest block is old",
        description="The TRON client's latest block is {{ $value | humanizeDuration }} old.",
        why="TRON produces a block every 3 s; 120 s (40 blocks) behind means the node or TronGrid is not "
            "reachable or not syncing.",
        fire=Case({"lucid_tron_latest_block_timestamp_seconds": "60x20"}, at="15m",
                  description="The TRON client's latest block is 14m 0s old."),
        silent=Case({"lucid_tron_latest_block_timestamp_seconds": "0+60x20"}, at="15m"),
    ),
    Alert(
        name="LucidTronNetworkMissing", file="tron", problem="tron-network-connection-failures", severity="critical",
        expr='lucid_docker_network_present{network="lucid-tron-network"} == 0', for_="5m",
        summary="The isolated TRON docker network is missing",
        description="Docker network {{ $labels.network }} does not exist; the TRON services cannot reach each "
                    "other.",
        why="The guide checks 'docker network ls | grep lucid-tron-network'; a missing network does not "
            "come back by itself.",
        fire=Case({'lucid_docker_network_present{network="lucid-tron-network"}': "0x15"},
                  labels={"network": "lucid-tron-network"},
                  description="Docker network lucid-tron-network does not exist; the TRON services cannot reach "
                              "each other."),
        silent=Case({'lucid_docker_network_present{network="lucid-tron-network"}': "1x15"}),
    ),
    Alert(
        name="LucidTronIsolationViolated", file="tron", problem="tron-network-connection-failures",
        severity="warning", expr="lucid_tron_isolation_violations > 0", for_="15m",
        summary="Non-TRON containers are attached to the TRON network",
        description="Containers on lucid-tron-network that are not TRON payment services: {{ $value }}.",
        why="The guide keeps the TRON cluster isolated; a violation is a security ticket, not a page.",
        fire=Case({"lucid_tron_isolation_violations": "1x20"}, at="20m",
                  description="Containers on lucid-tron-network that are not TRON payment services: 1."),
        silent=Case({"lucid_tron_isolation_violations": "0x20"}, at="20m"),
    ),
    down("LucidWalletManagerDown", "tron", "wallet-management-failures", "wallet-manager", "The wallet manager"),
    Alert(
        name="LucidTronWalletsInError", file="tron", problem="wallet-management-failures", severity="warning",
        expr='lucid_tron_wallets{status=~"error|locked|inaccessible"} > 0', for_="15m",
        summary="TRON wallets are in an error state",
        description="{{ $value }} wallets have status {{ $labels.status }} (wallet access errors).",
        why="Wallet access errors are a symptom in the guide; 15 minutes rules out a wallet being rotated.",
        fire=Case({'lucid_tron_wallets{status="error"}': "2x20", 'lucid_tron_wallets{status="active"}': "5x20"},
                  at="20m", labels={"status": "error"},
                  description="2 wallets have status error (wallet access errors)."),
        silent=Case({'lucid_tron_wallets{status="error"}': "0x20", 'lucid_tron_wallets{status="active"}': "5x20"},
                    at="20m"),
    ),
    down("LucidUSDTManagerDown", "tron", "usdt-transaction-failures", "usdt-manager", "The USDT manager"),
    Alert(
        name="LucidUSDTTransactionsFailing", file="tron", problem="usdt-transaction-failures", severity="critical",
        expr='sum without (status) (lucid_usdt_transactions{status="failed"})'
             ' / (sum without (status) (lucid_usdt_transactions) > 0) > 0.1',
        for_="10m",
        summary="More than 10 % of USDT transactions fail",
        description="{{ $value | humanizePercentage }} of the USDT transactions reported by the USDT manager "
                    "have failed.",
        why="Occasional failures (energy, bandwidth) happen on TRON; more than one in ten means payouts are "
            "broken. Guarded against no transactions at all.",
        fire=Case({'lucid_usdt_transactions{status="failed"}': "3x20",
                   'lucid_usdt_transactions{status="confirmed"}': "7x20"}, at="15m",
                  description="30% of the USDT transactions reported by the USDT manager have failed."),
        silent=Case({'lucid_usdt_transactions{status="failed"}': "0x20",
                     'lucid_usdt_transactions{status="confirmed"}': "0x20"}, at="15m"),
    ),
    Alert(
        name="LucidUSDTBalanceLow", file="tron", problem="usdt-transaction-failures", severity="warning",
        expr="lucid_usdt_balance < 100", for_="30m",
        summary="A payout wallet's USDT balance is low",
        description="Wallet {{ $labels.wallet }} holds {{ $value }} USDT; payouts fail when it runs out.",
        why="The guide gives no number. 100 USDT is a placeholder floor for a payout wallet: tune it to a "
            "day of payouts for your deployment.",
        fire=Case({'lucid_usdt_balance{wallet="payout"}': "50x40"}, at="40m", labels={"wallet": "payout"},
                  description="Wallet payout holds 50 USDT; payouts fail when it runs out."),
        silent=Case({'lucid_usdt_balance{wallet="payout"}': "5000x40"}, at="40m"),
    ),
    # ------------------------------------------------------------------ system
    Alert(
        name="LucidServiceDown", file="system", problem="inter-service-communication-failures", severity="critical",
        cluster="{{ $labels.cluster }}", dashboard="lucid-overview",
        expr=f'lucid_service_up{{service!~"{OWN_DOWN_ALERT}"}} == 0',
        for_="5m",
        summary="A Lucid service does not answer its health check",
        description="Service {{ $labels.service }} (cluster {{ $labels.cluster }}) has failed its health check "
                    "for more than 5 minutes.",
        why="Every service without a down alert of its own (api-gateway, session recorder / storage / API, payout "
            "router, TRX staking, payment gateway, and any service added in the exporter's config); the cluster "
            "label comes from the series so routing follows the owning cluster. 5 minutes rides out a restart.",
        fire=Case({'lucid_service_up{service="api-gateway",cluster="gateway"}': "0x15"},
                  labels={"service": "api-gateway", "cluster": "gateway"},
                  description="Service api-gateway (cluster gateway) has failed its health check for more than "
                              "5 minutes.", quiet_at=("3m",)),
        silent=Case({'lucid_service_up{service="api-gateway",cluster="gateway"}': "1x15",
                     'lucid_service_up{service="auth-service",cluster="auth"}': "0x15"}),
    ),
    Alert(
        name="LucidDNSResolutionFailing", file="system", problem="inter-service-communication-failures",
        severity="critical", expr="lucid_dns_resolves == 0", for_="5m",
        summary="A Lucid host name does not resolve",
        description="{{ $labels.name }} does not resolve on the Lucid network (the guide's nslookup check).",
        why="Container names resolve through Docker's DNS; a name missing for 5 minutes is a container "
            "gone from lucid-network, not a restart.",
        fire=Case({'lucid_dns_resolves{name="lucid-mongodb"}': "0x15"}, labels={"name": "lucid-mongodb"},
                  description="lucid-mongodb does not resolve on the Lucid network (the guide's nslookup check)."),
        silent=Case({'lucid_dns_resolves{name="lucid-mongodb"}': "1x15"}),
    ),
    Alert(
        name="LucidTCPConnectFailing", file="system", problem="inter-service-communication-failures",
        severity="warning", expr='lucid_tcp_connect_success{target!~".*:(13389|14389)"} == 0', for_="5m",
        summary="A Lucid service port does not accept TCP connections",
        description="TCP connect to {{ $labels.target }} fails.",
        why="Network timeouts between services; RDP ports have their own alert (LucidRDPPortUnreachable).",
        fire=Case({'lucid_tcp_connect_success{target="lucid-redis:6379"}': "0x15"},
                  labels={"target": "lucid-redis:6379"}, description="TCP connect to lucid-redis:6379 fails."),
        silent=Case({'lucid_tcp_connect_success{target="lucid-redis:6379"}': "1x15",
                     'lucid_tcp_connect_success{target="lucid-xrdp:13389"}': "0x15"}),
    ),
    Alert(
        name="LucidDockerNetworkMissing", file="system", problem="inter-service-communication-failures",
        severity="critical", expr='lucid_docker_network_present{network="lucid-network"} == 0', for_="5m",
        summary="The lucid-network docker network is missing",
        description="Docker network {{ $labels.network }} does not exist; services cannot reach each other by name.",
        why="All inter-service traffic uses lucid-network.",
        fire=Case({'lucid_docker_network_present{network="lucid-network"}': "0x15"},
                  labels={"network": "lucid-network"},
                  description="Docker network lucid-network does not exist; services cannot reach each other by "
                              "name."),
        silent=Case({'lucid_docker_network_present{network="lucid-network"}': "1x15"}),
    ),
    Alert(
        name="LucidContainerMemoryNearLimit", file="system", problem="system-performance-degradation",
        severity="warning",
        expr="lucid_container_memory_usage_bytes / (lucid_container_memory_limit_bytes > 0) > 0.9", for_="15m",
        summary="A container uses more than 90 % of its memory limit",
        description="{{ $labels.container }} uses {{ $value | humanizePercentage }} of its memory limit.",
        why="The guide's 'memory leaks' and 'docker stats' check; containers without a limit (0) are "
            "excluded from the ratio.",
        fire=Case({'lucid_container_memory_usage_bytes{container="lucid-api-gateway"}': "950x20",
                   'lucid_container_memory_limit_bytes{container="lucid-api-gateway"}': "1000x20"}, at="20m",
                  labels={"container": "lucid-api-gateway"},
                  description="lucid-api-gateway uses 95% of its memory limit."),
        silent=Case({'lucid_container_memory_usage_bytes{container="lucid-api-gateway"}': "950x20",
                     'lucid_container_memory_limit_bytes{container="lucid-api-gateway"}': "0x20"}, at="20m"),
    ),
    Alert(
        name="LucidServiceSlow", file="system", problem="system-performance-degradation", severity="warning",
        expr="lucid_service_health_duration_seconds > 2", for_="10m",
        summary="A Lucid service answers its health check slowly",
        description="{{ $labels.service }} takes {{ $value | humanize }}s to answer /health.",
        why="A health check is a trivial request; more than 2 s for 10 minutes is the guide's 'slow response "
            "times'.",
        fire=Case({'lucid_service_health_duration_seconds{service="api-gateway",cluster="gateway"}': "3.5x20"},
                  at="15m", labels={"service": "api-gateway"},
                  description="api-gateway takes 3.5s to answer /health."),
        silent=Case({'lucid_service_health_duration_seconds{service="api-gateway",cluster="gateway"}': "0.05x20"},
                    at="15m"),
    ),
    Alert(
        name="LucidServiceDegraded", file="system", problem="system-performance-degradation", severity="warning",
        cluster="{{ $labels.cluster }}", dashboard="lucid-overview",
        expr='lucid_service_degraded{service!="auth-service"} == 1', for_="15m",
        summary="A Lucid service reports itself degraded",
        description="{{ $labels.service }} (cluster {{ $labels.cluster }}) answers /health with status degraded.",
        why="Degraded services still answer; a ticket when it lasts 15 minutes. The auth service has its own "
            "(LucidAuthServiceDegraded).",
        fire=Case({'lucid_service_degraded{service="session-api",cluster="sessions"}': "1x20"}, at="20m",
                  labels={"service": "session-api", "cluster": "sessions"},
                  description="session-api (cluster sessions) answers /health with status degraded."),
        silent=Case({'lucid_service_degraded{service="session-api",cluster="sessions"}': "0x20",
                     'lucid_service_degraded{service="auth-service",cluster="auth"}': "1x20"}, at="20m"),
    ),
    Alert(
        name="LucidErrorLogRateHigh", file="system", problem="log-analysis-and-error-detection", severity="warning",
        expr='sum by (container) (rate(lucid_log_lines_total{level=~"ERROR|CRITICAL"}[5m])) * 60 > 10',
        for_="10m",
        summary="A container logs more than 10 errors a minute",
        description="{{ $labels.container }} logs {{ $value | humanize }} ERROR/CRITICAL lines a minute.",
        why="The guide greps ERROR|WARN|CRITICAL; a steady 10 error lines a minute is more than the odd "
            "failed request.",
        fire=Case({'lucid_log_lines_total{container="lucid-api-gateway",level="ERROR"}': "0+20x30"}, at="30m",
                  labels={"container": "lucid-api-gateway"},
                  description="lucid-api-gateway logs 20 ERROR/CRITICAL lines a minute."),
        silent=Case({'lucid_log_lines_total{container="lucid-api-gateway",level="ERROR"}': "0+1x30",
                     'lucid_log_lines_total{container="lucid-api-gateway",level="WARN"}': "0+100x30"}, at="30m"),
    ),
    Alert(
        name="LucidErrorCodeBurst", file="system", problem="log-analysis-and-error-detection", severity="info",
        expr="sum by (container, code) (increase(lucid_log_error_codes_total[15m])) > 20", for_="5m",
        summary="A LUCID_ERR code appears often",
        description="{{ $labels.container }} logged {{ $labels.code }} {{ $value | humanize }} times in 15 minutes.",
        why="Information for the guide's error pattern analysis (uniq -c on LUCID_ERR codes).",
        fire=Case({'lucid_log_error_codes_total{container="lucid-api-gateway",code="LUCID_ERR_1001"}': "0+3x30"},
                  at="30m", labels={"container": "lucid-api-gateway", "code": "LUCID_ERR_1001"},
                  description="lucid-api-gateway logged LUCID_ERR_1001 45 times in 15 minutes."),
        silent=Case({'lucid_log_error_codes_total{container="lucid-api-gateway",code="LUCID_ERR_1001"}': "0+1x30"},
                    at="30m"),
    ),
    Alert(
        name="LucidContainerRestarting", file="system", problem="log-analysis-and-error-detection",
        severity="warning", expr="increase(lucid_container_restart_count[30m]) > 2", for_="5m",
        summary="A container keeps restarting",
        description="{{ $labels.container }} restarted {{ $value | humanize }} times in 30 minutes.",
        why="The guide's 'system instability'. One restart is routine; three in 30 minutes is a loop.",
        fire=Case({'lucid_container_restart_count{container="lucid-session-api"}': "0+1x40"}, at="40m",
                  labels={"container": "lucid-session-api"},
                  description="lucid-session-api restarted 30 times in 30 minutes."),
        silent=Case({'lucid_container_restart_count{container="lucid-session-api"}': "0x20 1x20"}, at="40m"),
    ),
    Alert(
        name="LucidMostServicesDown", file="system", problem="complete-system-failure", severity="critical",
        expr="count(lucid_service_up == 0) / count(lucid_service_up) > 0.5", for_="3m",
        summary="More than half of the Lucid services are down",
        description="{{ $value | humanizePercentage }} of the Lucid services fail their health check.",
        why="More than half down is a system failure, not a service failure; 3 minutes, because a full "
            "'docker-compose up' restarts everything at once.",
        fire=Case({'lucid_service_up{service="api-gateway",cluster="gateway"}': "0x15",
                   'lucid_service_up{service="auth-service",cluster="auth"}': "0x15",
                   'lucid_service_up{service="session-api",cluster="sessions"}': "1x15"},
                  description="66.67% of the Lucid services fail their health check.", quiet_at=("2m",)),
        silent=Case({'lucid_service_up{service="api-gateway",cluster="gateway"}': "0x15",
                     'lucid_service_up{service="auth-service",cluster="auth"}': "1x15",
                     'lucid_service_up{service="session-api",cluster="sessions"}': "1x15"}),
    ),
    Alert(
        name="LucidHostDiskAlmostFull", file="system", problem="complete-system-failure", severity="critical",
        expr="lucid_host_filesystem_free_bytes / (lucid_host_filesystem_size_bytes > 0) < 0.1", for_="10m",
        summary="A Lucid data volume has less than 10 % free space",
        description="{{ $labels.path }} has only {{ $value | humanizePercentage }} free.",
        why="A full disk takes every database down (the guide's df -h in its emergency steps); 10 % leaves "
            "time to act. Size 0 is excluded.",
        fire=Case({'lucid_host_filesystem_free_bytes{path="/data"}': "5x20",
                   'lucid_host_filesystem_size_bytes{path="/data"}': "100x20"}, at="20m", labels={"path": "/data"},
                  description="/data has only 5% free."),
        silent=Case({'lucid_host_filesystem_free_bytes{path="/data"}': "50x20",
                     'lucid_host_filesystem_size_bytes{path="/data"}': "100x20"}, at="20m"),
    ),
    Alert(
        name="LucidBackupStale", file="system", problem="data-loss-or-corruption", severity="warning",
        expr="time() - lucid_backup_last_timestamp_seconds > 93600 and lucid_backup_last_timestamp_seconds > 0",
        for_="30m",
        summary="The newest backup is older than 26 hours",
        description="The newest {{ $labels.kind }} backup is {{ $value | humanizeDuration }} old.",
        why="Backups are daily; 26 hours (93600 s) allows a late run. Without a fresh backup, data loss is "
            "unrecoverable.",
        fire=Case({'lucid_backup_last_timestamp_seconds{kind="mongodb"}': "1x1800"}, at="28h",
                  labels={"kind": "mongodb"},
                  description="The newest mongodb backup is 1d 3h 59m 59s old."),
        silent=Case({'lucid_backup_last_timestamp_seconds{kind="mongodb"}': "1x1800"}, at="20h"),
    ),
    Alert(
        name="LucidBackupMissing", file="system", problem="data-loss-or-corruption", severity="warning",
        expr="lucid_backup_last_timestamp_seconds == 0", for_="1h",
        summary="There is no backup at all",
        description="No {{ $labels.kind }} backup file exists in the backup directory.",
        why="The guide restores from /opt/lucid/backups; no file there means no restore is possible.",
        fire=Case({'lucid_backup_last_timestamp_seconds{kind="redis"}': "0x80"}, at="80m",
                  labels={"kind": "redis"},
                  description="No redis backup file exists in the backup directory."),
        silent=Case({'lucid_backup_last_timestamp_seconds{kind="redis"}': "4000x80"}, at="80m"),
    ),
    # ------------------------------------------------------------------ exporter
    Alert(
        name="LucidExporterDown", file="exporter", problem="exporter-down", severity="critical",
        cluster="exporter", expr='up{job=~".*lucid.*"} == 0', for_="5m",
        summary="Prometheus cannot scrape lucid-exporter",
        description="Target {{ $labels.instance }} of job {{ $labels.job }} has been down for 5 minutes: "
                    "no Lucid alert can fire.",
        why="Every other Lucid alert depends on the exporter, so it pages; 5 minutes rides out a restart.",
        fire=Case({'up{job="lucid-exporter",instance="lucid-exporter:10097"}': "0x15"},
                  labels={"job": "lucid-exporter", "instance": "lucid-exporter:10097"},
                  description="Target lucid-exporter:10097 of job lucid-exporter has been down for 5 minutes: "
                              "no Lucid alert can fire.", quiet_at=("3m",)),
        silent=Case({'up{job="lucid-exporter",instance="lucid-exporter:10097"}': "1x15",
                     'up{job="node",instance="node:9100"}': "0x15"}),
    ),
    Alert(
        name="LucidExporterAbsent", file="exporter", problem="exporter-absent", severity="critical",
        cluster="exporter", expr='absent(lucid_exporter_build_info) and on () absent(up{job=~".*lucid.*"} == 0)',
        for_="10m",
        summary="No lucid-exporter metrics reach Prometheus",
        description="lucid_exporter_build_info is absent although no lucid target is down: the exporter is not "
                    "scraped at all (job missing, wrong target).",
        why="Catches what LucidExporterDown cannot: no target at all. When a target is down, "
            "LucidExporterDown fires instead.",
        fire=Case({'up{job="node",instance="node:9100"}': "1x15"},
                  description="lucid_exporter_build_info is absent although no lucid target is down: the exporter "
                              "is not scraped at all (job missing, wrong target)."),
        silent=Case({'lucid_exporter_build_info{version="0.1.0"}': "1x15"}),
    ),
    Alert(
        name="LucidProbeFailing", file="exporter", problem="probe-failing", severity="warning",
        cluster="exporter", expr="lucid_probe_success == 0", for_="30m",
        summary="A lucid-exporter probe has been failing for 30 minutes",
        description="Probe {{ $labels.probe }} on {{ $labels.target }} has failed for 30 minutes; its metrics "
                    "are missing or stale. See lucid_probe_errors_total for the reason.",
        why="Cluster alerts page on what the probes see; a probe that cannot see anything for 30 minutes "
            "hides problems and deserves a ticket.",
        fire=Case({'lucid_probe_success{probe="redis",target="lucid-redis"}': "0x40"}, at="40m",
                  labels={"probe": "redis", "target": "lucid-redis"},
                  description="Probe redis on lucid-redis has failed for 30 minutes; its metrics are missing or "
                              "stale. See lucid_probe_errors_total for the reason."),
        silent=Case({'lucid_probe_success{probe="redis",target="lucid-redis"}': "0x20 1x20"}, at="40m"),
    ),
    Alert(
        name="LucidExporterScrapeNearTimeout", file="exporter", problem="scrape-near-timeout", severity="warning",
        cluster="exporter", expr=f'scrape_duration_seconds{{job=~".*lucid.*"}} > {NEAR_TIMEOUT_SECONDS:g}',
        for_="15m",
        summary="Scraping lucid-exporter takes close to the scrape timeout",
        description="Scraping {{ $labels.instance }} takes {{ $value | humanize }}s, close to the "
                    f"{SCRAPE_TIMEOUT_SECONDS} s scrape timeout.",
        why=f"80 % of Prometheus' default {SCRAPE_TIMEOUT_SECONDS} s scrape_timeout (SCRAPE_TIMEOUT_SECONDS in "
            "alerts/generate.py); past it the whole scrape fails.",
        fire=Case({'scrape_duration_seconds{job="lucid-exporter",instance="lucid-exporter:10097"}': "9.5x20"},
                  at="20m", labels={"job": "lucid-exporter", "instance": "lucid-exporter:10097"},
                  description="Scraping lucid-exporter:10097 takes 9.5s, close to the 10 s scrape timeout."),
        silent=Case({'scrape_duration_seconds{job="lucid-exporter",instance="lucid-exporter:10097"}': "0.3x20"},
                    at="20m"),
    ),
    Alert(
        name="LucidProbeNearTimeout", file="exporter", problem="scrape-near-timeout", severity="warning",
        cluster="exporter", expr=f"lucid_probe_duration_seconds > {NEAR_TIMEOUT_SECONDS:g}", for_="15m",
        summary="A lucid-exporter probe takes close to the scrape timeout",
        description="Probe {{ $labels.probe }} on {{ $labels.target }} takes {{ $value | humanize }}s, close to "
                    f"the {SCRAPE_TIMEOUT_SECONDS} s scrape timeout.",
        why="The engine cuts every probe at the scrape budget; a probe close to it is about to time out.",
        fire=Case({'lucid_probe_duration_seconds{probe="elasticsearch",target="lucid-elasticsearch"}': "9x20"},
                  at="20m", labels={"probe": "elasticsearch", "target": "lucid-elasticsearch"},
                  description="Probe elasticsearch on lucid-elasticsearch takes 9s, close to the 10 s scrape "
                              "timeout."),
        silent=Case({'lucid_probe_duration_seconds{probe="elasticsearch",target="lucid-elasticsearch"}': "0.2x20"},
                    at="20m"),
    ),
]


# --------------------------------------------------------------------------- metrics used
# Every metric the rules read: where it is defined and what the rules assume about it. The
# generator refuses a metric that is not listed here, so alerts/METRICS_USED.md stays complete.
I2, I3, I4, I5 = "issue 2 (foundation)", "issue 3 (stores)", "issue 4 (containers, logs, host)", "issue 5 (status)"
LEAD = " — name chosen by the lead where the issue leaves it open"
METRICS: dict[str, tuple[str, str]] = {
    "up": ("Prometheus", "`job` of the exporter's scrape job contains `lucid`"),
    "scrape_duration_seconds": ("Prometheus", "same job selector"),
    "lucid_exporter_build_info": (I2, "present on every successful scrape"),
    "lucid_probe_success": (I2, "`{probe,target}`, 0/1"),
    "lucid_probe_duration_seconds": (I2, "`{probe,target}`"),
    "lucid_service_up": (I2, "`{service,cluster}`, service values as in inventory.py"),
    "lucid_service_degraded": (I2, "`{service,cluster}`, 1 on status degraded"),
    "lucid_service_health_duration_seconds": (I2, "`{service,cluster}`"),
    "lucid_mongodb_up": (I3, "0/1"),
    "lucid_mongodb_replset_initialized": (I3, "0 on NotYetInitialized"),
    "lucid_mongodb_replset_member_state": (
        I3, "`{set,member}`, MongoDB state codes (1 PRIMARY, 2 SECONDARY, 7 ARBITER)"),
    "lucid_mongodb_authenticated": (I3, "0/1 from connectionStatus"),
    "lucid_mongodb_connections_current": (I3, "serverStatus connections.current"),
    "lucid_mongodb_connections_available": (I3, "serverStatus connections.available"),
    "lucid_mongodb_current_op_oldest_seconds": (I3 + LEAD, "age of the oldest running operation, 0 when none"),
    "lucid_mongodb_index_present": (I3, "`{database,collection,index}`, 0/1"),
    "lucid_redis_up": (I3, "0/1"),
    "lucid_redis_memory_used_bytes": (I3, ""),
    "lucid_redis_memory_max_bytes": (I3, "0 means no limit"),
    "lucid_redis_maxmemory_policy": (I3, "`{policy}` one-hot"),
    "lucid_elasticsearch_up": (I3, "explicit 0 when unreachable"),
    "lucid_elasticsearch_cluster_health_status": (I3, "`{color}` one-hot over green, yellow, red"),
    "lucid_container_running": (I4, "`{container}` = `lucid-<service>`, 0/1"),
    "lucid_container_restart_count": (I4, "`{container}`, docker's RestartCount (a gauge that only grows)"),
    "lucid_container_memory_usage_bytes": (I4 + LEAD, "`{container}`"),
    "lucid_container_memory_limit_bytes": (I4 + LEAD, "`{container}`, 0 when unlimited"),
    "lucid_log_lines_total": (I4 + LEAD, "`{container,level}` with level `ERROR`, `WARN`, `CRITICAL` (upper case)"),
    "lucid_log_error_codes_total": (I4, "`{container,code}`, code like `LUCID_ERR_1001`"),
    "lucid_docker_network_present": (I4 + LEAD, "`{network}`: `lucid-network`, `lucid-tron-network`"),
    "lucid_tron_isolation_violations": (I4 + LEAD, "count of non-TRON containers on lucid-tron-network"),
    "lucid_dns_resolves": (I4 + LEAD, "`{name}`, 0/1"),
    "lucid_tcp_connect_success": (I4 + LEAD, "`{target}` as `host:port` (RDP rules match `:13389`/`:14389`)"),
    "lucid_host_filesystem_free_bytes": (I4 + LEAD, "`{path}`"),
    "lucid_host_filesystem_size_bytes": (I4 + LEAD, "`{path}`"),
    "lucid_backup_last_timestamp_seconds": (I4, "`{kind}`: mongodb, redis; **0 when there is no backup**"),
    "lucid_blockchain_latest_block_timestamp_seconds": (I5, "epoch seconds"),
    "lucid_consensus_reached": (I5, "0/1"),
    "lucid_anchoring_sessions": (I5, "`{state}`: pending, processing, completed, failed"),
    "lucid_pipeline_sessions": (I5 + LEAD, "`{state}`; rules read `failed` and `error`"),
    "lucid_chunk_queue_depth": (I5, ""),
    "lucid_chunks_failed_total": (I5, "counter"),
    "lucid_chunk_encryption_ok": (I5, "0/1"),
    "lucid_rdp_ports": (I5, "`{state}`: available, allocated"),
    "lucid_resource_monitor_last_sample_timestamp_seconds": (I5 + LEAD, "epoch seconds"),
    "lucid_nodes": (I5, "`{status}`; rules read `active` (contract: active, inactive, pending, suspended, error)"),
    "lucid_poot_score": (I5, "`{node}`"),
    "lucid_poot_score_nodes": (I5, "number of nodes with a score"),
    "lucid_admin_rbac_ok": (I5, "0/1"),
    "lucid_admin_rbac_roles": (I5, "number of roles"),
    "lucid_tron_network_connected": (I5, "0/1"),
    "lucid_tron_latest_block_timestamp_seconds": (I5, "epoch seconds"),
    "lucid_tron_wallets": (I5, "`{status}`; rules read `error`, `locked`, `inaccessible`"),
    "lucid_usdt_transactions": (I5, "`{status}`: pending, confirmed, failed (USDT manager schema)"),
    "lucid_usdt_balance": (I5, "`{wallet}`, in USDT (not in sun)"),
    "lucid_gateway_rate_limit_limit": (I5, "from X-RateLimit-Limit; **absent (or 0) when the header is missing**"),
    "lucid_gateway_cors_preflight_ok": (I5, "`{origin}`, 0/1"),
    "lucid_auth_token_verify_ok": (I5, "0/1"),
    "lucid_auth_probe_token_expiry_timestamp_seconds": (I5, "epoch seconds from the token's exp"),
}
METRIC_RE = re.compile(r"\b(lucid_[a-z0-9_]+|up|scrape_duration_seconds)\b(?!\s*\()")


def metrics_of(expr: str) -> set[str]:
    return set(METRIC_RE.findall(re.sub(r'"[^"]*"', '""', expr)))


def render_metrics_used() -> str:
    used: dict[str, list[str]] = {}
    for a in ALERT_LIST:
        for m in metrics_of(a.expr):
            used.setdefault(m, []).append(a.name)
    unknown = sorted(set(used) - set(METRICS))
    if unknown:
        raise SystemExit(f"metrics used by rules but not listed in METRICS: {unknown}")
    lines = [
        "# Metrics used by the alert rules",
        "",
        "GENERATED by `alerts/generate.py` from the rule expressions: every metric name the rules in",
        "`alerts/*.rules.yml` read, the issue that defines it, and what the rules assume about its labels",
        "and values. Reconcile with the probes when they are merged: a renamed metric or label value",
        "silently disables the alerts that use it (the exporter's `LucidProbeFailing` does not catch that).",
        "",
        "| Metric | Defined by | Assumed labels / values | Alerts |",
        "|---|---|---|---|",
    ]
    for m in sorted(used):
        src, note = METRICS[m]
        lines.append(f"| `{m}` | {src} | {note} | {', '.join(sorted(used[m]))} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- rendering

def _block(data: object, indent: int) -> str:
    text = yaml.safe_dump(data, sort_keys=False, width=10_000, allow_unicode=True, default_flow_style=False)
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


def _comment(text: str, indent: int, width: int = 110) -> str:
    pad = " " * indent + "# "
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width - len(pad):
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    if cur:
        lines.append(cur)
    return "".join(f"{pad}{line}\n" for line in lines)


HEADER = "# GENERATED by alerts/generate.py — edit that file, then run `python alerts/generate.py`.\n"


def render_rules(file: str, alerts: list[Alert]) -> str:
    out = [HEADER, f"# Lucid alert rules: {file}. Runbooks: docs/runbooks/. Thresholds: see each rule's comment.\n",
           "groups:\n", f"  - name: lucid-{file}\n", "    rules:\n"]
    for a in alerts:
        rule = {"alert": a.name, "expr": a.expr, "for": a.for_, "labels": a.labels(), "annotations": a.annotations()}
        out.append(_comment(a.why, 6))
        out.append(_block([rule], 6))
    return "".join(out)


def _exp_alert(a: Alert, case: Case) -> dict[str, object]:
    labels = {**case.labels, **a.labels()}
    if a.cluster_label.startswith("{{"):
        labels["cluster"] = case.labels["cluster"]
    return {"exp_labels": labels, "exp_annotations": {**a.annotations(), "description": case.description}}


def render_tests(file: str, alerts: list[Alert]) -> str:
    tests: list[dict[str, object]] = []
    for a in alerts:
        for kind, case in (("fires", a.fire), ("silent", a.silent)):
            checks: list[dict[str, object]] = [
                {"eval_time": t, "alertname": a.name, "exp_alerts": []} for t in case.quiet_at
            ]
            exp = [_exp_alert(a, case)] if kind == "fires" else []
            checks.append({"eval_time": case.at, "alertname": a.name, "exp_alerts": exp})
            tests.append({
                "name": f"{a.name} {kind}",
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in case.series.items()],
                "alert_rule_test": checks,
            })
    doc = {"rule_files": [f"../{file}.rules.yml"], "evaluation_interval": "1m", "tests": tests}
    intro = f"# promtool unit tests for alerts/{file}.rules.yml: each alert fires once and stays silent once.\n"
    return HEADER + intro + _block(doc, 0)


def _alerts_table(slug: str) -> str:
    rows = [a for a in ALERT_LIST if a.problem == slug]
    lines = ["| Alert | Severity | For | Meaning | Expression |", "|---|---|---|---|---|"]
    for a in rows:
        expr = a.expr.replace("|", "\\|")
        lines.append(f"| `{a.name}` | {a.severity} | {a.for_} | {a.summary} | `{expr}` |")
    return "\n".join(lines) + "\n"


MARK = re.compile(r"(<!-- alerts:(?P<slug>[a-z0-9-]+) -->\n).*?(<!-- /alerts -->)", re.S)


def render_runbook(text: str) -> str:
    return MARK.sub(lambda m: m.group(1) + _alerts_table(m.group("slug")) + m.group(3), text)


def outputs() -> dict[Path, str]:
    out: dict[Path, str] = {}
    for f in FILES:
        alerts = [a for a in ALERT_LIST if a.file == f]
        out[ALERTS / f"{f}.rules.yml"] = render_rules(f, alerts)
        out[ALERTS / "tests" / f"{f}.test.yml"] = render_tests(f, alerts)
        rb = RUNBOOKS / f"{f}.md"
        if rb.exists():
            out[rb] = render_runbook(rb.read_text())
    out[ALERTS / "METRICS_USED.md"] = render_metrics_used()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail when a committed file differs from the generated one")
    args = ap.parse_args(argv)
    names = [a.name for a in ALERT_LIST]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        print(f"duplicate alert names: {sorted(dupes)}", file=sys.stderr)
        return 1
    stale = []
    for path, text in outputs().items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("out of date (run python alerts/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
