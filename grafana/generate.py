#!/usr/bin/env python3
"""Generates the Lucid Grafana dashboards, their metric list and their docs table.

    python grafana/generate.py            # write grafana/dashboards/*.json, METRICS_USED.md, docs table
    python grafana/generate.py --check    # exit 1 when a committed file differs from the generated one

Why a small builder of our own rather than grafana-foundation-sdk (Grafana's typed builders, on
PyPI as grafana-foundation-sdk 10.1.0, tried for this decision): what this file encodes is domain
knowledge (which metric answers which guide problem, with which thresholds and links), and the
layer that turns it into JSON is the ``Board`` class below, about 150 lines. The SDK would replace
those 150 lines with 4.8 MB of generated code pinned to one Grafana release's schema (10.1), while
the dashboards here are kept to schemaVersion 39 so that they load in the operator's Grafana from
10.x on; it would also rewrite every committed dashboard without changing what any panel shows.
What makes the dashboards trustworthy is tested here, not typed: every panel's query runs against a
real Prometheus scraping the real exporter and must return data (tests/integration/
test_dashboards_prometheus.py), and every metric a query names must be in the metric specs.
The tests regenerate everything and fail when the committed files differ.

Clusters, their titles, the guide's problems and the metric specs come from the catalogue
(lucid_exporter/catalogue/); a query naming a metric missing from metrics.yaml stops the
generation.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from lucid_exporter import catalogue, promql  # noqa: E402

DASHBOARD_DIR = HERE / "dashboards"
METRICS_DOC = HERE / "METRICS_USED.md"
DOCS = ROOT / "docs" / "dashboards.md"
DOCS_BEGIN = "<!-- BEGIN generated dashboard list: python grafana/generate.py -->"
DOCS_END = "<!-- END generated dashboard list -->"

SCHEMA_VERSION = 39
DS: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
TAG = "lucid"

# The clusters, their titles and the guide's problems come from the catalogue (package data), as
# do the metric specs every query is checked against.
CLUSTERS: tuple[str, ...] = catalogue.lucid_clusters()
CLUSTER_TITLES: dict[str, str] = {c.name: c.title for c in catalogue.clusters().values()}
PROBLEMS: dict[str, tuple[str, ...]] = {
    c: tuple(p.title for p in catalogue.problems().values() if p.cluster == c) for c in CLUSTERS
}
# The exporter's own dashboard belongs to the guide's closing section.
MONITORING = catalogue.clusters()["exporter"].guide_parts[0]
GUIDE_TOPICS: tuple[str, ...] = (*(p for ps in PROBLEMS.values() for p in ps), MONITORING)
METRICS = catalogue.metrics()
SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")

# ---------------------------------------------------------------------------------------------
# PromQL metric names (also used by the tests), read with the PromQL parser once Grafana's variables
# are replaced by values of the right kind.
_LABEL_VALUES = re.compile(r"label_values\(\s*([^,)]*)")
_GRAFANA_INTERVAL = re.compile(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}")
_GRAFANA_VAR = re.compile(r"\$\{[^}]*\}|\$\w+|\[\[\w+(?::\w+)?\]\]")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a label_values() variable query) selects."""
    m = _LABEL_VALUES.match(expr.strip())
    if m:
        expr = m.group(1) or ""
        if not expr.strip():
            return set()
    expr = _GRAFANA_VAR.sub("x", _GRAFANA_INTERVAL.sub("1m", expr))
    return promql.metric_names(expr)


# ---------------------------------------------------------------------------------------------
# Panel and dashboard builders.
UP_MAPPINGS: list[dict[str, Any]] = [{"type": "value", "options": {
    "0": {"text": "DOWN", "color": "red", "index": 0}, "1": {"text": "UP", "color": "green", "index": 1}}}]
OK_MAPPINGS: list[dict[str, Any]] = [{"type": "value", "options": {
    "0": {"text": "FAILING", "color": "red", "index": 0}, "1": {"text": "OK", "color": "green", "index": 1}}}]
YES_MAPPINGS: list[dict[str, Any]] = [{"type": "value", "options": {
    "0": {"text": "NO", "color": "red", "index": 0}, "1": {"text": "YES", "color": "green", "index": 1}}}]
BAD_MAPPINGS: list[dict[str, Any]] = [{"type": "value", "options": {
    "0": {"text": "NO", "color": "green", "index": 0}, "1": {"text": "YES", "color": "red", "index": 1}}}]
ES_MAPPINGS: list[dict[str, Any]] = [{"type": "value", "options": {
    "0": {"text": "green", "color": "green", "index": 0}, "1": {"text": "yellow", "color": "yellow", "index": 1},
    "2": {"text": "red", "color": "red", "index": 2}}}]


def thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


GREEN = thresholds((None, "green"))
COUNT_BAD = thresholds((None, "green"), (1, "red"))
COUNT_WARN = thresholds((None, "green"), (1, "orange"), (5, "red"))

Target = tuple[str, str]  # (expr, legendFormat)


@dataclass
class Board:
    uid: str
    title: str
    description: str
    tags: list[str]
    variables: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    panels: list[dict[str, Any]] = field(default_factory=list)
    _id: int = 0
    _x: int = 0
    _y: int = 0
    _h: int = 0

    def _next_id(self) -> int:
        self._id += 1
        return self._id

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append({"type": "row", "id": self._next_id(), "title": title, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self._y}, "panels": []})
        self._y += 1

    def _newline(self) -> None:
        if self._x:
            self._y += self._h
            self._x, self._h = 0, 0

    def _place(self, w: int, h: int) -> dict[str, int]:
        if self._x + w > 24:
            self._newline()
        pos = {"h": h, "w": w, "x": self._x, "y": self._y}
        self._x += w
        self._h = max(self._h, h)
        return pos

    def add(self, kind: str, title: str, topic: str, what: str, unit: str, targets: list[Target], *,
            w: int = 8, h: int = 7, mappings: list[dict[str, Any]] | None = None,
            steps: dict[str, Any] | None = None, options: dict[str, Any] | None = None,
            links: list[dict[str, Any]] | None = None, min_: float | None = None,
            max_: float | None = None) -> None:
        assert topic in GUIDE_TOPICS, topic
        instant = kind == "histogram"  # a distribution of the current values, not of the whole range
        defaults: dict[str, Any] = {"unit": unit, "mappings": mappings or [], "thresholds": steps or GREEN}
        if min_ is not None:
            defaults["min"] = min_
        if max_ is not None:
            defaults["max"] = max_
        if kind == "timeseries":
            defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
                                  "spanNulls": False}
        panel: dict[str, Any] = {
            "type": kind, "id": self._next_id(), "title": title,
            "description": f"Guide: {topic}. {what}",
            "datasource": DS, "gridPos": self._place(w, h),
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {**_OPTIONS[kind], **(options or {})},
            "targets": [{"refId": chr(ord("A") + i), "datasource": DS, "expr": expr, "legendFormat": legend,
                         "range": not instant, "instant": instant, "editorMode": "code"}
                        for i, (expr, legend) in enumerate(targets)],
        }
        if links:
            panel["links"] = links
        self.panels.append(panel)

    def stat(self, title: str, topic: str, what: str, unit: str, targets: list[Target], **kw: Any) -> None:
        self.add("stat", title, topic, what, unit, targets, **kw)

    def ts(self, title: str, topic: str, what: str, unit: str, targets: list[Target], **kw: Any) -> None:
        self.add("timeseries", title, topic, what, unit, targets, **kw)

    def json(self) -> dict[str, Any]:
        return {
            "id": None, "uid": self.uid, "title": self.title, "description": self.description,
            "tags": self.tags, "editable": True, "graphTooltip": 1, "timezone": "browser",
            "schemaVersion": SCHEMA_VERSION, "version": 1, "refresh": "30s",
            "time": {"from": "now-1h", "to": "now"}, "timepicker": {}, "fiscalYearStartMonth": 0,
            "liveNow": False, "weekStart": "",
            "annotations": {"list": [{
                "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
                "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
                "type": "dashboard"}]},
            "links": self.links,
            "templating": {"list": [DATASOURCE_VAR, *self.variables]},
            "panels": self.panels,
        }


_OPTIONS: dict[str, dict[str, Any]] = {
    "stat": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
             "colorMode": "background", "graphMode": "none", "textMode": "auto", "orientation": "auto",
             "justifyMode": "auto", "wideLayout": True, "showPercentChange": False},
    "timeseries": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
                   "tooltip": {"mode": "multi", "sort": "desc"}},
    "bargauge": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True,
                 "valueMode": "color", "namePlacement": "auto", "sizing": "auto", "minVizHeight": 16,
                 "minVizWidth": 8, "maxVizHeight": 300},
    "histogram": {"bucketCount": 10, "combine": False,
                  "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False, "calcs": []}},
}

DATASOURCE_VAR: dict[str, Any] = {
    "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
    "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
    "regex": "", "skipUrlSync": False,
}


def query_var(name: str, label: str, query: str) -> dict[str, Any]:
    """A multi-value variable with All = ``.*`` (so ``label=~"$name"`` matches every series)."""
    return {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "definition": query, "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0, "includeAll": True, "allValue": ".*", "multi": True, "options": [], "refresh": 2,
        "regex": "", "skipUrlSync": False, "sort": 1,
    }


def dash_url(uid: str) -> str:
    return f"/d/{uid}/{uid}"


def link_to(uid: str, title: str) -> dict[str, Any]:
    return {"title": title, "type": "link", "url": dash_url(uid), "icon": "dashboard", "tooltip": "",
            "asDropdown": False, "includeVars": False, "keepTime": True, "tags": [], "targetBlank": False}


def panel_link(uid: str, title: str) -> dict[str, Any]:
    return {"title": title, "url": dash_url(uid) + "?${__url_time_range}&${datasource:queryparam}",
            "targetBlank": False}


ALL_LUCID_LINK: dict[str, Any] = {
    "title": "Lucid dashboards", "type": "dashboards", "tags": [TAG], "asDropdown": True, "icon": "external link",
    "includeVars": False, "keepTime": True, "targetBlank": False, "tooltip": "", "url": "",
}

# ---------------------------------------------------------------------------------------------
# The dashboards.


def _rate(expr: str) -> str:
    return f"rate({expr}[$__rate_interval])"


def _inc(expr: str) -> str:
    return f"increase({expr}[$__rate_interval])"


def overview() -> Board:
    b = Board("lucid-overview", "Lucid / Overview",
              "Every Lucid cluster at a glance: service health and firing alerts; each row links to its cluster.",
              [TAG, "overview"])
    b.links = [ALL_LUCID_LINK, *(link_to(f"lucid-{c}", CLUSTER_TITLES[c]) for c in CLUSTERS),
               link_to("lucid-exporter", "Exporter")]
    b.row("All clusters")
    b.stat("Firing alerts by severity", MONITORING,
           "Alerts firing now, from Prometheus' ALERTS series, counted by severity (critical pages, warning "
           "opens a ticket).", "none",
           [(f'count(ALERTS{{alertstate="firing",severity="{s}"}}) or vector(0)', s) for s in SEVERITIES],
           w=8, steps=COUNT_BAD)
    b.stat("Services up", "Complete System Failure",
           "Catalogue services whose health check passes, and those that fail it.", "none",
           [("count(lucid_service_up == 1) or vector(0)", "up"),
            ("count(lucid_service_up == 0) or vector(0)", "down")], w=8)
    b.stat("Probes failing", MONITORING, "Exporter probes whose last run failed (see the exporter dashboard).",
           "none", [("count(lucid_probe_success == 0) or vector(0)", "failing")], w=8, steps=COUNT_BAD,
           links=[panel_link("lucid-exporter", "Exporter dashboard")])
    for c in CLUSTERS:
        title = CLUSTER_TITLES[c]
        problems = PROBLEMS[c]
        link = [panel_link(f"lucid-{c}", f"{title} dashboard")]
        b.row(f"{title} ({c})")
        if c == "system":
            # The catalogue has no service of its own in the system cluster: show the stack as a whole.
            b.stat("System: containers running", problems[3],
                   "Lucid containers running (docker ps | grep lucid); the system-wide view of the guide.",
                   "none", [("sum(lucid_container_running)", "running"),
                            ("count(lucid_container_running == 0) or vector(0)", "not running")],
                   w=16, links=link)
        else:
            b.stat(f"{title}: service status", problems[0],
                   f"Health check of each {c} service (lucid_service_up): UP when the health endpoint answers "
                   f"2xx and does not report itself unhealthy. Guide problems: {', '.join(problems)}.", "none",
                   [(f'lucid_service_up{{cluster="{c}"}}', "{{service}}")], w=16, mappings=UP_MAPPINGS,
                   steps=thresholds((None, "red"), (1, "green")), links=link)
        b.stat(f"{title}: firing alerts", problems[0],
               f"Alerts firing for the {c} cluster, by severity. Open the cluster dashboard for the details.",
               "none", [(f'count(ALERTS{{alertstate="firing",cluster="{c}",severity="{s}"}}) or vector(0)', s)
                        for s in SEVERITIES], w=8, steps=COUNT_BAD, links=link)
    return b


def cluster_board(c: str) -> Board:
    title = CLUSTER_TITLES[c]
    problems = PROBLEMS[c]
    b = Board(f"lucid-{c}", f"Lucid / {title}",
              f"The guide's {title} problems: {', '.join(problems)}.", [TAG, c])
    b.links = [link_to("lucid-overview", "Overview"), ALL_LUCID_LINK]
    if c != "system":
        b.variables = [query_var("service", "Service", f'label_values(lucid_service_up{{cluster="{c}"}}, service)')]
        sel = f'cluster="{c}",service=~"$service"'
        b.row("Services")
        topic = problems[0]
        b.stat("Service status", topic,
               f"Health check of each service (GET its health path). Guide problems: {', '.join(problems)}.",
               "none", [(f"lucid_service_up{{{sel}}}", "{{service}}")], w=12, mappings=UP_MAPPINGS,
               steps=thresholds((None, "red"), (1, "green")))
        b.stat("Degraded", topic, "Services that answer but report status degraded.", "none",
               [(f"lucid_service_degraded{{{sel}}}", "{{service}}")], w=12, mappings=BAD_MAPPINGS)
        b.ts("Health check duration", topic, "Time the health endpoint takes to answer; slow answers come "
             "before failures.", "s", [(f"lucid_service_health_duration_seconds{{{sel}}}", "{{service}}")], w=12)
        b.ts("Health HTTP status", topic, "HTTP status of the health endpoint (TCP-only services have none).",
             "none", [(f"lucid_service_http_status{{{sel}}}", "{{service}}")], w=12)
    else:
        b.variables = [query_var("container", "Container", "label_values(lucid_container_present, container)")]
    BUILDERS[c](b)
    return b


def _topics(b: Board, topic: str, container_re: str, topics: str, what: str, w: int = 12) -> None:
    sel = f'container=~"{container_re}",topic=~"{topics}"'
    b.ts("Topic log lines", topic, f"{what} (logs.topics, the guide's docker logs | grep -i), per second.", "short",
         [(f"sum by (container, topic) ({_rate(f'lucid_log_topic_lines_total{{{sel}}}')})",
           "{{container}} {{topic}}")], w=w)


def _logs(b: Board, topic: str, container_re: str, what: str) -> None:
    sel = f'container=~"{container_re}"'
    b.ts("Error log lines", topic, f"{what} ERROR, WARN and CRITICAL lines per second (docker logs | grep -i "
         "error).", "short", [(f"sum by (container, level) ({_rate(f'lucid_log_lines_total{{{sel}}}')})",
                               "{{container}} {{level}}")], w=12)
    b.ts("LUCID_ERR codes", topic, f"{what} LUCID_ERR_NNNN codes seen in the logs, per scrape interval.",
         "short", [(f"sum by (code) ({_inc(f'lucid_log_error_codes_total{{{sel}}}')})", "{{code}}")], w=12)


def foundation(b: Board) -> None:
    p = PROBLEMS["foundation"]
    b.row(p[0])
    b.stat("MongoDB up", p[0], "MongoDB answers ping (mongosh --eval db.adminCommand('ping')).", "none",
           [("lucid_mongodb_up", "up")], w=4, mappings=UP_MAPPINGS)
    b.stat("Replica set initialized", p[0], "0 when MongoDB answers NotYetInitialized: run rs.initiate().",
           "none", [("lucid_mongodb_replset_initialized", "initialized")], w=4, mappings=YES_MAPPINGS)
    b.stat("Authenticated", p[0], "The monitoring user is authenticated (db.runCommand({connectionStatus:1})).",
           "none", [("lucid_mongodb_authenticated", "authenticated")], w=4, mappings=YES_MAPPINGS)
    b.ts("Ping", p[0], "Round trip of MongoDB's ping command.", "s", [("lucid_mongodb_ping_seconds", "ping")],
         w=12)
    b.ts("Replica set member state", p[0], "rs.status() member state: 1 PRIMARY, 2 SECONDARY, 3 RECOVERING, "
         "8 DOWN.", "none", [("lucid_mongodb_replset_member_state", "{{set}} {{member}}"),
                             ("lucid_mongodb_replset_my_state", "this node")], w=8)
    b.ts("Replica set member health", p[0], "rs.status() member health (1 healthy).", "none",
         [("lucid_mongodb_replset_member_health", "{{set}} {{member}}")], w=8, min_=0, max_=1)
    b.ts("Replication lag", p[0], "How far each member's optime is behind the primary.", "s",
         [("lucid_mongodb_replset_member_optime_lag_seconds", "{{member}}")], w=8)
    b.stat("Replica set primary", p[0], "rs.status(): a member is PRIMARY (writes need one).", "none",
           [("lucid_mongodb_replset_has_primary", "{{set}}")], w=4, mappings=YES_MAPPINGS,
           steps=thresholds((None, "red"), (1, "green")))
    b.ts("Replica set members", p[0], "rs.status(): members in the config and members with health 1.", "short",
         [("lucid_mongodb_replset_members", "{{set}} members"),
          ("lucid_mongodb_replset_members_healthy", "{{set}} healthy")], w=8)
    b.ts("Member uptime", p[0], "rs.status() uptime of each member; a drop is a restart.", "s",
         [("lucid_mongodb_replset_member_uptime_seconds", "{{member}}")], w=6)
    b.stat("MongoDB version", p[0], "buildInfo version (db.version()).", "none",
           [("lucid_mongodb_info", "{{version}}")], w=3, options={"textMode": "name"})
    b.stat("MongoDB uptime", p[0], "serverStatus uptime; small after a crash or restart.", "s",
           [("lucid_mongodb_uptime_seconds", "uptime")], w=3)
    b.row(p[1])
    b.ts("Connections", p[1], "serverStatus connections, current and available.", "short",
         [("lucid_mongodb_connections_current", "current"),
          ("lucid_mongodb_connections_available", "available")], w=8)
    b.ts("Operations", p[1], "serverStatus opcounters per second, by operation.", "ops",
         [(f"sum by (type) ({_rate('lucid_mongodb_op_counters_total')})", "{{type}}")], w=8)
    b.ts("Memory", p[1], "MongoDB resident and virtual memory (serverStatus mem).", "bytes",
         [("lucid_mongodb_memory_resident_bytes", "resident"), ("lucid_mongodb_memory_virtual_bytes", "virtual")],
         w=8)
    b.ts("Connections opened", p[1], "serverStatus connections.totalCreated per second; a storm of new "
         "connections is a client without pooling.", "cps", [(_rate("lucid_mongodb_connections_created_total"),
                                                               "opened")], w=8)
    b.ts("Network", p[1], "serverStatus network: bytes in and out per second, and requests per second.", "Bps",
         [(_rate("lucid_mongodb_network_bytes_in_total"), "in"), (_rate("lucid_mongodb_network_bytes_out_total"),
                                                                   "out")], w=8)
    b.ts("Requests", p[1], "serverStatus network.numRequests per second.", "reqps",
         [(_rate("lucid_mongodb_network_requests_total"), "requests")], w=8)
    b.ts("Open cursors", p[1], "serverStatus metrics.cursor: open cursors, and cursors closed by timeout per "
         "second (a client not closing them).", "short",
         [("lucid_mongodb_cursors_open", "open"), (_rate("lucid_mongodb_cursors_timed_out_total"), "timed out /s")],
         w=8)
    b.ts("Documents returned against scanned", p[1], "serverStatus metrics: documents returned and documents "
         "and index keys scanned per second; scanning far more than returning is a missing index.", "ops",
         [(f"sum by (op) ({_rate('lucid_mongodb_documents_total')})", "{{op}}"),
          (_rate("lucid_mongodb_query_scanned_objects_total"), "documents scanned"),
          (_rate("lucid_mongodb_query_scanned_keys_total"), "keys scanned")], w=8)
    b.ts("Write conflicts and asserts", p[1], "serverStatus write conflicts and asserts per second, by type.",
         "ops", [(_rate("lucid_mongodb_write_conflicts_total"), "write conflicts"),
                 (f"sum by (type) ({_rate('lucid_mongodb_asserts_total')})", "asserts {{type}}")], w=8)
    b.ts("Objects, collections and indexes", p[1], "db.stats() per database.", "short",
         [("lucid_mongodb_db_objects", "{{database}} objects"),
          ("lucid_mongodb_db_collections", "{{database}} collections"),
          ("lucid_mongodb_db_indexes", "{{database}} indexes")], w=8)
    b.ts("Storage and index size", p[1], "db.stats() storage allocated for data and for indexes.", "bytes",
         [("lucid_mongodb_db_storage_size_bytes", "{{database}} storage"),
          ("lucid_mongodb_db_index_size_bytes", "{{database}} indexes")], w=8)
    b.ts("Required index use", p[1], "$indexStats: uses of each required index per second; an index never used "
         "is not helping the queries it was made for.", "ops",
         [(_rate("lucid_mongodb_index_accesses_total"), "{{collection}} {{index}}")], w=8)
    b.ts("Current operations", p[1], "db.currentOp(): active operations and operations waiting for a lock.",
         "short", [("lucid_mongodb_current_ops_active", "active"),
                   ("lucid_mongodb_current_ops_waiting_for_lock", "waiting for lock")], w=8)
    b.ts("Oldest running operation", p[1], "Age of the oldest running operation (slow queries).", "s",
         [("lucid_mongodb_current_op_oldest_seconds", "oldest")], w=8)
    b.ts("Data size by database", p[1], "db.stats() data size.", "bytes",
         [("lucid_mongodb_db_data_size_bytes", "{{database}}")], w=8)
    b.add("bargauge", "Required indexes present", p[1], "getIndexes(): 1 when each required index exists "
          "(users.email, sessions user_id+created_at, ...); 0 means a missing index.", "none",
          [("lucid_mongodb_index_present", "{{database}}.{{collection}} {{index}}")], w=24,
          mappings=YES_MAPPINGS, steps=thresholds((None, "red"), (1, "green")), min_=0, max_=1)
    b.row(p[2])
    b.stat("Redis up", p[2], "Redis answers PING (redis-cli ping).", "none", [("lucid_redis_up", "up")], w=4,
           mappings=UP_MAPPINGS)
    b.ts("Redis ping", p[2], "Round trip of PING.", "s", [("lucid_redis_ping_seconds", "ping")], w=6)
    b.ts("Clients", p[2], "INFO clients: connected and blocked clients, against maxclients.", "short",
         [("lucid_redis_connected_clients", "connected"), ("lucid_redis_blocked_clients", "blocked"),
          ("lucid_redis_max_clients", "maxclients")], w=7)
    b.ts("Rejected connections", p[2], "Connections refused because maxclients was reached, per second.", "short",
         [(_rate("lucid_redis_rejected_connections_total"), "rejected")], w=7)
    b.ts("Commands and connections", p[2], "INFO stats: commands processed and connections accepted per second.",
         "ops", [(_rate("lucid_redis_commands_processed_total"), "commands"),
                 (_rate("lucid_redis_connections_received_total"), "connections")], w=12)
    b.stat("Redis version and role", p[2], "INFO server and replication: version and role.", "none",
           [("lucid_redis_info", "{{version}} {{role}}")], w=6, options={"textMode": "name"})
    b.stat("Redis uptime", p[2], "INFO server uptime; small after a crash or restart.", "s",
           [("lucid_redis_uptime_seconds", "uptime")], w=6)
    b.row(p[3])
    b.ts("Memory used against maxmemory", p[3], "INFO memory used_memory and maxmemory (0 = no limit).",
         "bytes", [("lucid_redis_memory_used_bytes", "used"), ("lucid_redis_memory_max_bytes", "maxmemory")],
         w=8)
    b.stat("Memory used / maxmemory", p[3], "used_memory over maxmemory; empty when maxmemory is 0 (no limit, "
           "the guide's first fix is to set one).", "percentunit",
           [("lucid_redis_memory_used_bytes / (lucid_redis_memory_max_bytes > 0)", "used")], w=4,
           steps=thresholds((None, "green"), (0.8, "orange"), (0.95, "red")))
    b.stat("Eviction policy", p[3], "maxmemory-policy; the guide sets allkeys-lru.", "none",
           [("lucid_redis_maxmemory_policy == 1", "{{policy}}")], w=4, options={"textMode": "name"})
    b.ts("Evicted and expired keys", p[3], "Keys evicted (memory pressure) and expired, per second.", "short",
         [(_rate("lucid_redis_evicted_keys_total"), "evicted"), (_rate("lucid_redis_expired_keys_total"),
                                                                  "expired")], w=8)
    b.ts("Out-of-memory errors", p[3], "Commands refused with OOM per scrape interval (INFO errorstats): the "
         "guide's 'out of memory errors'. A full cache with allkeys-lru evicts instead and shows none.", "short",
         [(_inc("lucid_redis_oom_errors_total"), "OOM errors")], w=8)
    b.ts("RSS, peak and host memory", p[3], "INFO memory: resident memory, peak of used_memory and the host's "
         "memory.", "bytes", [("lucid_redis_memory_used_rss_bytes", "rss"),
                               ("lucid_redis_memory_used_peak_bytes", "peak"),
                               ("lucid_redis_total_system_memory_bytes", "host")], w=8)
    b.ts("Fragmentation", p[3], "INFO memory mem_fragmentation_ratio (RSS over used memory).", "none",
         [("lucid_redis_memory_fragmentation_ratio", "fragmentation")], w=8)
    b.ts("Keys per database", p[3], "dbsize per Redis database, and keys with a TTL.", "short",
         [("lucid_redis_db_keys", "{{db}}"), ("lucid_redis_db_keys_expiring", "{{db}} with TTL")], w=8)
    b.ts("Cache hits and misses", p[3], "INFO stats keyspace hits and misses per second.", "ops",
         [(_rate("lucid_redis_keyspace_hits_total"), "hits"), (_rate("lucid_redis_keyspace_misses_total"),
                                                                "misses")], w=8)
    b.ts("Rate-limit keys", p[3], "Keys under the gateway's rate-limit patterns (counted with SCAN).", "short",
         [("lucid_redis_rate_limit_keys", "{{pattern}}")], w=6)
    b.stat("Rate-limit count truncated", p[3], "YES when SCAN stopped at its key cap: the count is a lower bound.",
           "none", [("lucid_redis_rate_limit_keys_truncated", "{{pattern}}")], w=2, mappings=BAD_MAPPINGS)
    b.stat("Last BGSAVE", p[3], "INFO persistence rdb_last_bgsave_status; a fork failing for memory shows here.",
           "none", [("lucid_redis_last_bgsave_success", "bgsave")], w=4, mappings=OK_MAPPINGS)
    b.stat("AOF", p[3], "INFO persistence aof_enabled.", "none", [("lucid_redis_aof_enabled", "aof")], w=4,
           mappings=YES_MAPPINGS, steps=GREEN)
    b.stat("Since last save", p[3], "time() - rdb_last_save_time.", "s",
           [("time() - lucid_redis_last_save_timestamp_seconds", "since last save")], w=4)
    b.stat("Writes since last save", p[3], "INFO persistence rdb_changes_since_last_save: lost if Redis dies now.",
           "short", [("lucid_redis_changes_since_last_save", "changes")], w=4)
    b.row(p[4])
    b.stat("Elasticsearch up", p[4], "The cluster answers _cluster/health.", "none",
           [("lucid_elasticsearch_up", "up")], w=4, mappings=UP_MAPPINGS)
    b.stat("Cluster health", p[4], "_cluster/health status: green, yellow (replicas unassigned) or red.",
           "none", [('max(lucid_elasticsearch_cluster_health_status{color="yellow"}) '
                     '+ 2 * max(lucid_elasticsearch_cluster_health_status{color="red"})', "health")],
           w=4, mappings=ES_MAPPINGS, steps=thresholds((None, "green"), (1, "yellow"), (2, "red")))
    b.ts("Shards", p[4], "Active (and active primary), relocating, initializing, unassigned and delayed "
         "unassigned shards.", "short",
         [("lucid_elasticsearch_cluster_active_shards", "active"),
          ("lucid_elasticsearch_cluster_active_primary_shards", "active primary"),
          ("lucid_elasticsearch_cluster_relocating_shards", "relocating"),
          ("lucid_elasticsearch_cluster_initializing_shards", "initializing"),
          ("lucid_elasticsearch_cluster_unassigned_shards", "unassigned"),
          ("lucid_elasticsearch_cluster_delayed_unassigned_shards", "delayed unassigned")], w=8)
    b.ts("Nodes and pending tasks", p[4], "Nodes and data nodes in the cluster, and pending cluster tasks.",
         "short", [("lucid_elasticsearch_cluster_nodes", "nodes"),
                   ("lucid_elasticsearch_cluster_data_nodes", "data nodes"),
                   ("lucid_elasticsearch_cluster_pending_tasks", "pending tasks")], w=8)
    b.stat("Active shards", p[4], "_cluster/health active_shards_percent: below 100 % some shards are "
           "unassigned.", "percentunit", [("lucid_elasticsearch_cluster_active_shards_ratio", "active")], w=4,
           steps=thresholds((None, "red"), (0.5, "orange"), (1, "green")))
    b.stat("Elasticsearch version", p[4], "GET / version and distribution.", "none",
           [("lucid_elasticsearch_info", "{{distribution}} {{version}}")], w=4, options={"textMode": "name"})
    b.ts("Oldest pending task", p[4], "_cluster/health task_max_waiting_in_queue: a cluster that stops "
         "processing tasks.", "s", [("lucid_elasticsearch_cluster_task_max_waiting_seconds", "oldest task")], w=8)
    b.stat("Index health", p[4], "_cat/indices health of each (allow-listed) index.", "none",
           [("lucid_elasticsearch_index_health == 1", "{{index}} {{color}}")], w=8, options={"textMode": "name"})
    b.ts("Indices by health", p[4], "_cat/indices counted by health, and indices past the series cap.", "short",
         [("lucid_elasticsearch_indices", "{{health}}"), ("lucid_elasticsearch_indices_omitted", "omitted")], w=8)
    b.ts("Index documents", p[4], "_cat/indices docs.count of each index.", "short",
         [("lucid_elasticsearch_index_docs", "{{index}}")], w=12)
    b.ts("Index store size", p[4], "_cat/indices store.size of each index.", "bytes",
         [("lucid_elasticsearch_index_store_size_bytes", "{{index}}")], w=12)
    b.ts("Data node disk", p[4], "_nodes/stats fs: available and total disk space per node; a full disk turns "
         "shards read-only.", "bytes",
         [("lucid_elasticsearch_node_fs_available_bytes", "{{node}} available"),
          ("lucid_elasticsearch_node_fs_total_bytes", "{{node}} total")], w=20)
    b.stat("Nodes past the cap", p[4], "_nodes/stats nodes not shown per node (series cap).", "none",
           [("lucid_elasticsearch_nodes_omitted", "omitted")], w=4)
    b.ts("JVM heap", p[4], "_nodes/stats heap used against max, per node.", "bytes",
         [("lucid_elasticsearch_node_heap_used_bytes", "{{node}} used"),
          ("lucid_elasticsearch_node_heap_max_bytes", "{{node}} max")], w=24)


def auth(b: Board) -> None:
    p = PROBLEMS["auth"]
    b.row(p[0])
    b.stat("Monitoring token verifies", p[0], "/verify accepts the configured monitoring token.", "none",
           [("lucid_auth_token_verify_ok", "verify")], w=6, mappings=OK_MAPPINGS)
    b.stat("Monitoring token expires in", p[0], "Time left before the monitoring token's exp claim.", "s",
           [("lucid_auth_probe_token_expiry_timestamp_seconds - time()", "expires in")], w=6,
           steps=thresholds((None, "red"), (86400, "orange"), (7 * 86400, "green")))
    b.ts("Authentication failure log lines", p[0], "Authentication failure lines in the auth service log.",
         "short", [(f"sum by (container) ({_rate('lucid_log_auth_failure_lines_total')})", "{{container}}")],
         w=12)
    b.row(p[1])
    _logs(b, p[1], "lucid-auth-service", "Auth service (hardware wallet detection logs here):")
    _topics(b, p[1], "lucid-auth-service", "hardware_wallet|auth", "Auth service lines about the hardware wallet "
            "(hardware, ledger, trezor) and about authentication", w=24)


def gateway(b: Board) -> None:
    p = PROBLEMS["gateway"]
    b.row(p[0])
    b.ts("Rate limit and remaining", p[0], "X-RateLimit-Limit and -Remaining of one ordinary request; no headers "
         "means the limiter is off.", "short", [("lucid_gateway_rate_limit_limit", "limit"),
                                                 ("lucid_gateway_rate_limit_remaining", "remaining")], w=12)
    b.stat("Rate limiter container running", p[0], "docker ps | grep rate-limiter.", "none",
           [('lucid_container_running{container="lucid-rate-limiter"}', "running")], w=4, mappings=UP_MAPPINGS)
    b.ts("Rate-limit keys in Redis", p[0], "redis-cli keys 'ratelimit:*', counted with SCAN.", "short",
         [("lucid_redis_rate_limit_keys", "{{pattern}}")], w=8)
    b.stat("Rate-limit headers present", p[0], "The exporter's request got X-RateLimit-* headers back.", "none",
           [("lucid_gateway_rate_limit_headers_present", "headers")], w=4, mappings=YES_MAPPINGS)
    b.stat("Exporter's request refused (429)", p[0], "The exporter's own request was rate limited: YES only "
           "if the limit is far below the guide's 100 a minute.", "none",
           [("lucid_gateway_rate_limited", "429")], w=4, mappings=BAD_MAPPINGS)
    b.row(p[1])
    gw_lines = 'lucid_log_lines_total{container="lucid-api-gateway"}'
    b.stat("CORS preflight by origin", p[1], "OPTIONS with Origin and Access-Control-Request-Method is "
           "allowed for each configured origin.", "none", [("lucid_gateway_cors_preflight_ok", "{{origin}}")],
           w=8, mappings=OK_MAPPINGS)
    b.ts("Gateway error log lines", p[1], "API gateway ERROR/WARN/CRITICAL lines per second (CORS errors are "
         "logged here).", "short", [(f"sum by (level) ({_rate(gw_lines)})", "{{level}}")], w=16)
    _topics(b, p[1], "lucid-api-gateway", "cors", "API gateway lines about CORS", w=24)


def blockchain(b: Board) -> None:
    p = PROBLEMS["blockchain"]
    b.row(p[0])
    b.stat("Block age", p[0], "Time since the latest block (time() - latest block timestamp); a consensus "
           "stall makes it grow.", "s", [("time() - lucid_blockchain_latest_block_timestamp_seconds", "age")],
           w=4, steps=thresholds((None, "green"), (60, "orange"), (300, "red")))
    b.stat("Consensus reached", p[0], "The last round reached consensus.", "none",
           [("lucid_consensus_reached", "reached")], w=4, mappings=YES_MAPPINGS)
    b.ts("Block height", p[0], "/api/v1/blocks/latest height.", "short",
         [("lucid_blockchain_block_height", "height")], w=8)
    b.ts("Consensus round", p[0], "Current consensus round.", "short", [("lucid_consensus_round", "round")], w=8)
    b.ts("Consensus participants", p[0], "Participants by status, and active validators.", "short",
         [("lucid_consensus_participants", "{{status}}"),
          ("lucid_consensus_active_validators", "active validators")], w=12)
    b.ts("PoOT score range", p[0], "Minimum, mean and maximum PoOT score over all nodes (consensus weights).",
         "short", [("lucid_poot_score_min", "min"), ("lucid_poot_score_avg", "avg"),
                   ("lucid_poot_score_max", "max")], w=12)
    b.ts("PoOT scores seen by consensus", p[0], "/api/v1/consensus/poot-scores: the scores the blockchain engine "
         "weighs, lowest and highest, and the nodes it has a score for.", "short",
         [("lucid_consensus_poot_score_min", "min"), ("lucid_consensus_poot_score_max", "max"),
          ("lucid_consensus_poot_score_nodes", "nodes")], w=24)
    b.row(p[1])
    b.ts("Anchoring sessions by state", p[1], "Pending, processing, completed and failed anchorings.", "short",
         [("lucid_anchoring_sessions", "{{state}}")], w=16)
    b.stat("Time since last anchor", p[1], "time() - last anchor timestamp.", "s",
           [("time() - lucid_anchoring_last_anchor_timestamp_seconds", "since last anchor")], w=8,
           steps=thresholds((None, "green"), (600, "orange"), (3600, "red")))
    b.stat("Anchoring reaches the blockchain", p[1], "/api/v1/anchoring/blockchain-status connected.", "none",
           [("lucid_anchoring_blockchain_connected", "connected")], w=8, mappings=YES_MAPPINGS)
    b.ts("Merkle trees by status", p[1], "/api/v1/anchoring/merkle-trees counted by status; trees stuck in "
         "pending are not anchored.", "short", [("lucid_anchoring_merkle_trees", "{{status}}")], w=16)


def sessions(b: Board) -> None:
    p = PROBLEMS["sessions"]
    b.row(p[0])
    b.ts("Pipeline sessions by state", p[0], "/api/v1/pipeline/sessions counted by state; a stuck pipeline "
         "piles up in one state.", "short", [("lucid_pipeline_sessions", "{{state}}")], w=12)
    b.stat("Since the last state change", p[0], "time() - the pipeline's last_transition_time: grows while no "
           "session moves on.", "s", [("time() - lucid_pipeline_last_transition_timestamp_seconds", "since")],
           w=4, steps=thresholds((None, "green"), (300, "orange"), (600, "red")))
    b.ts("Sessions processed", p[0], "/api/v1/pipeline/status processed_sessions per second.", "ops",
         [(_rate("lucid_pipeline_sessions_processed_total"), "processed")], w=8)
    b.row(p[1])
    b.ts("Chunk queue depth", p[1], "/api/v1/processing/queue length; growing means the processor falls behind.",
         "short", [("lucid_chunk_queue_depth", "queue")], w=10)
    b.ts("Chunks processed and failed", p[1], "Chunks processed and chunks that failed, per second.", "short",
         [(_rate("lucid_chunks_processed_total"), "processed"), (_rate("lucid_chunks_failed_total"), "failed")],
         w=10)
    b.stat("Encryption OK", p[1], "/api/v1/processing/encryption-status reports encryption working.", "none",
           [("lucid_chunk_encryption_ok", "encryption")], w=4, mappings=OK_MAPPINGS)


def rdp(b: Board) -> None:
    p = PROBLEMS["rdp"]
    b.row(p[0])
    b.ts("RDP port pool", p[0], "/api/v1/ports/status: available and allocated ports.", "short",
         [("lucid_rdp_ports", "{{state}}")], w=10)
    b.stat("Port pool used", p[0], "Allocated over all ports; at 100% new sessions cannot get a port.",
           "percentunit", [('sum(lucid_rdp_ports{state="allocated"}) / (sum(lucid_rdp_ports) > 0)', "used")],
           w=4, steps=thresholds((None, "green"), (0.8, "orange"), (0.95, "red")))
    b.ts("Active RDP sessions", p[0], "Sessions the RDP manager reports active.", "short",
         [("lucid_rdp_sessions_active", "active")], w=10)
    b.stat("Port reachability", p[0], "TCP connect to the configured ports (netstat -tuln | grep 13389).",
           "none", [("lucid_tcp_connect_success", "{{target}}")], w=24, mappings=UP_MAPPINGS)
    b.row(p[1])
    b.stat("Time since last resource sample", p[1], "time() - the resource monitor's latest sample; growing "
           "means metrics collection stopped.", "s",
           [("time() - lucid_resource_monitor_last_sample_timestamp_seconds", "since last sample")], w=8,
           steps=thresholds((None, "green"), (120, "orange"), (600, "red")))
    sel = 'container=~"lucid-(rdp-manager|xrdp|session-controller|resource-monitor)"'
    b.ts("RDP containers CPU", p[1], "docker stats: CPU of the RDP containers (1 = one core).", "percentunit",
         [(f"sum by (container) ({_rate(f'lucid_container_cpu_seconds_total{{{sel}}}')})", "{{container}}")],
         w=8)
    b.ts("RDP containers memory", p[1], "docker stats: memory of the RDP containers.", "bytes",
         [(f"lucid_container_memory_usage_bytes{{{sel}}}", "{{container}}")], w=8)
    b.ts("Monitored sessions", p[1], "/api/v1/monitoring/metrics: RDP sessions the resource monitor samples.",
         "short", [("lucid_resource_monitor_sessions", "sessions")], w=24)


def nodes(b: Board) -> None:
    p = PROBLEMS["nodes"]
    b.row(p[0])
    b.ts("Nodes by status", p[0], "/api/v1/nodes/list counted by status; a deregistered node leaves.", "short",
         [("lucid_nodes", "{{status}}")], w=12)
    b.ts("Registered and unhealthy nodes", p[0], "/api/v1/nodes/status registered nodes and /api/v1/nodes/health "
         "unhealthy nodes.", "short", [("lucid_nodes_registered", "registered"),
                                       ("lucid_nodes_unhealthy", "unhealthy")], w=12)
    b.row(p[1])
    b.add("histogram", "PoOT score distribution", p[1], "Histogram of the per-node PoOT scores (capped to the "
          "highest-scoring nodes); collapsed scores pile up at 0.", "short", [("lucid_poot_score", "{{node}}")],
          w=12, h=8)
    b.add("bargauge", "PoOT score by node", p[1], "Per-node PoOT score, highest first.", "short",
          [("sort_desc(lucid_poot_score)", "{{node}}")], w=12, h=8)
    b.stat("Scored nodes", p[1], "Nodes with a PoOT score; 0 means scores are missing.", "none",
           [("lucid_poot_score_nodes", "nodes")], w=6, steps=thresholds((None, "red"), (1, "green")))
    b.ts("PoOT score min / mean / max", p[1], "Spread of PoOT scores over all nodes.", "short",
         [("lucid_poot_score_min", "min"), ("lucid_poot_score_avg", "avg"), ("lucid_poot_score_max", "max")],
         w=18)
    b.stat("Participation", p[1], "/api/v1/poot/participation: nodes with a score over all nodes.",
           "percentunit", [("lucid_poot_participation_ratio", "participation")], w=6,
           steps=thresholds((None, "red"), (0.5, "orange"), (0.9, "green")))
    b.stat("Nodes past the series cap", p[1], "Scored nodes not shown per node (status.per_node_series_cap).",
           "none", [("lucid_poot_score_omitted_series", "omitted")], w=6)
    _topics(b, p[1], "lucid-node-management", "poot", "Node management lines about PoOT (calculation errors)")


def admin(b: Board) -> None:
    p = PROBLEMS["admin"]
    b.row(p[0])
    _logs(b, p[0], "lucid-admin-interface", "Admin interface:")
    b.row(p[1])
    b.stat("RBAC permission matrix readable", p[1], "The read-only monitoring token can read "
           "/api/v1/admin/permissions/matrix.", "none", [("lucid_admin_rbac_ok", "rbac")], w=8,
           mappings=OK_MAPPINGS)
    b.ts("RBAC roles", p[1], "Roles defined, role assignments and the monitoring token's permissions; 0 roles "
         "means the default roles are missing.", "short",
         [("lucid_admin_rbac_roles", "roles"), ("lucid_admin_role_assignments", "assignments"),
          ("lucid_admin_permissions", "token permissions")], w=16)
    _topics(b, p[1], "lucid-admin-interface", "rbac", "Admin interface lines about RBAC", w=24)


def tron(b: Board) -> None:
    p = PROBLEMS["tron"]
    b.row(p[0])
    b.stat("TRON network connected", p[0], "/api/v1/tron/network-status reports connected.", "none",
           [("lucid_tron_network_connected", "connected")], w=6, mappings=UP_MAPPINGS)
    b.stat("TRON block age", p[0], "time() - the latest TRON block seen (TronGrid getnowblock).", "s",
           [("time() - lucid_tron_latest_block_timestamp_seconds", "age")], w=6,
           steps=thresholds((None, "green"), (30, "orange"), (120, "red")))
    b.stat("lucid-tron-network present", p[0], "docker network inspect lucid-tron-network.", "none",
           [('lucid_docker_network_present{network="lucid-tron-network"}', "present")], w=6,
           mappings=YES_MAPPINGS)
    b.stat("Isolation violations", p[0], "Containers on the TRON network that are not TRON payment services.",
           "none", [("lucid_tron_isolation_violations", "violations")], w=6, steps=COUNT_BAD)
    b.ts("TRON client against TronGrid", p[0], "Latest block number the TRON client reports, and TronGrid's "
         "(getnowblock); a growing gap is a client that stopped syncing.", "short",
         [("lucid_tron_latest_block", "client"), ("lucid_trongrid_latest_block", "TronGrid")], w=12)
    b.stat("TronGrid block age", p[0], "time() - TronGrid's latest block: old when TronGrid itself is not "
           "reachable or stalled.", "s", [("time() - lucid_trongrid_latest_block_timestamp_seconds", "age")], w=6,
           steps=thresholds((None, "green"), (30, "orange"), (120, "red")))
    b.stat("TRON endpoints reachable", p[0], "/api/v1/tron/connectivity endpoints the client reaches.", "none",
           [("lucid_tron_endpoints_reachable", "reachable")], w=6, steps=thresholds((None, "red"), (1, "green")))
    b.row(p[1])
    b.ts("Wallets by status", p[1], "/api/v1/wallets/status counted by status.", "short",
         [("lucid_tron_wallets", "{{status}}")], w=24)
    b.row(p[2])
    b.ts("USDT transactions by status", p[2], "/api/v1/usdt/transactions/status by status; failing "
         "transactions show here.", "short", [("lucid_usdt_transactions", "{{status}}")], w=12)
    b.ts("USDT balance", p[2], "USDT balance of each configured wallet; a low balance fails payouts.", "short",
         [("lucid_usdt_balance", "{{wallet}}")], w=12)


def system(b: Board) -> None:
    p = PROBLEMS["system"]
    sel = 'container=~"$container"'
    b.row(p[0])
    b.stat("Docker networks present", p[0], "docker network inspect lucid-network / lucid-tron-network.", "none",
           [("lucid_docker_network_present", "{{network}}")], w=8, mappings=YES_MAPPINGS)
    b.stat("DNS resolves", p[0], "nslookup of each catalogue host name.", "none",
           [("lucid_dns_resolves", "{{name}}")], w=16, mappings=OK_MAPPINGS)
    b.stat("TCP connect", p[0], "TCP connect to each configured target.", "none",
           [("lucid_tcp_connect_success", "{{target}}")], w=12, mappings=UP_MAPPINGS)
    b.ts("TCP connect time", p[0], "Time to connect to each configured target.", "s",
         [("lucid_tcp_connect_seconds", "{{target}}")], w=12)
    b.ts("DNS resolution time", p[0], "Time to resolve each name (or to fail).", "s",
         [("lucid_dns_resolution_seconds", "{{name}}")], w=12)
    b.ts("Containers per network", p[0], "docker network inspect: containers attached to each network.", "short",
         [("lucid_docker_network_containers", "{{network}}")], w=6)
    b.stat("Attached containers", p[0], "docker network inspect: which container is on which network.", "none",
           [("lucid_docker_network_attached", "{{network}}: {{container}}")], w=6, options={"textMode": "name"})
    b.row(p[1])
    b.ts("Container CPU", p[1], "docker stats: CPU per container (1 = one core).", "percentunit",
         [(f"sum by (container) ({_rate(f'lucid_container_cpu_seconds_total{{{sel}}}')})", "{{container}}")],
         w=8)
    b.ts("Container memory", p[1], "docker stats: memory usage per container.", "bytes",
         [(f"lucid_container_memory_usage_bytes{{{sel}}}", "{{container}}")], w=8)
    b.ts("Container memory / limit", p[1], "Memory usage over the container's limit (no limit: no line).",
         "percentunit", [(f"lucid_container_memory_usage_bytes{{{sel}}} / (lucid_container_memory_limit_bytes"
                          f"{{{sel}}} > 0)", "{{container}}")], w=8)
    b.ts("Slowest health checks", p[1], "The ten slowest service health checks (curl -w %{time_total}).", "s",
         [("topk(10, lucid_service_health_duration_seconds)", "{{service}}")], w=12)
    b.ts("Host memory (free -h)", p[1], "Host memory total and available, swap total and free.", "bytes",
         [("lucid_host_memory_total_bytes", "memory total"), ("lucid_host_memory_available_bytes", "available"),
          ("lucid_host_swap_total_bytes", "swap total"), ("lucid_host_swap_free_bytes", "swap free")], w=12)
    b.ts("Slow log lines", p[1], "Slow, timeout and duration lines per second (grep -i 'slow\\|timeout').",
         "short", [(f"sum by (container) ({_rate(f'lucid_log_slow_lines_total{{{sel}}}')})", "{{container}}")],
         w=12)
    b.row(p[2])
    b.ts("Error log lines by container", p[2], "ERROR, WARN and CRITICAL lines per second.", "short",
         [(f"sum by (container, level) ({_rate(f'lucid_log_lines_total{{{sel}}}')})",
           "{{container}} {{level}}")], w=12)
    b.ts("LUCID_ERR codes", p[2], "LUCID_ERR_NNNN codes per scrape interval, by code.", "short",
         [(f"sum by (code) ({_inc(f'lucid_log_error_codes_total{{{sel}}}')})", "{{code}}")], w=12)
    b.ts("Topic log lines", p[2], "Lines matching each configured topic (logs.topics: auth, hardware wallet, CORS, "
         "PoOT, RBAC) per second.", "short",
         [(f"sum by (topic) ({_rate(f'lucid_log_topic_lines_total{{{sel}}}')})", "{{topic}}")], w=12)
    b.ts("Log lines read", p[2], "Lines the exporter read and classified per second, and reads that hit "
         "logs.max_lines_per_read (older new lines skipped).", "short",
         [(f"sum({_rate(f'lucid_log_read_lines_total{{{sel}}}')})", "read"),
          (f"sum({_inc(f'lucid_log_truncated_reads_total{{{sel}}}')})", "truncated reads")], w=8)
    b.stat("Logs not readable", p[2], "Containers whose logs could not be read in the last run.", "none",
           [("lucid_log_containers_failed", "failed")], w=4, steps=COUNT_BAD)
    b.row(p[3])
    b.stat("Containers running", p[3], "docker ps: running Lucid containers and expected ones missing.", "none",
           [(f"sum(lucid_container_running{{{sel}}})", "running"),
            (f"count(lucid_container_present{{{sel}}} == 0) or vector(0)", "missing")], w=6)
    b.stat("Container health", p[3], "Containers whose health check reports unhealthy.", "none",
           [(f'count(lucid_container_health_status{{{sel},status="unhealthy"}} == 1) or vector(0)', "unhealthy")],
           w=6, steps=COUNT_BAD)
    b.ts("Restarts", p[3], "Restart count per container; a restart loop climbs.", "short",
         [(f"lucid_container_restart_count{{{sel}}}", "{{container}}")], w=6)
    b.ts("Exit codes", p[3], "Exit code of each container's last run (0 while running; 137 killed, 139 crashed).",
         "none", [(f"lucid_container_exit_code{{{sel}}}", "{{container}}")], w=8)
    b.ts("Container uptime", p[3], "time() - when each container last started; drops at every restart.", "s",
         [(f"time() - lucid_container_started_at_seconds{{{sel}}}", "{{container}}")], w=8)
    b.stat("Containers watched", p[3], "Containers the exporter watches (expected and matching its patterns).",
           "none", [("lucid_containers_watched", "watched")], w=8)
    b.stat("OOM-killed", p[3], "Containers whose last exit was an OOM kill.", "none",
           [(f"count(lucid_container_oom_killed{{{sel}}} == 1) or vector(0)", "oom killed")], w=6,
           steps=COUNT_BAD)
    b.ts("Docker disk usage", p[3], "docker system df: images, containers, volumes, build cache, and the image "
         "layers on disk.", "bytes", [("lucid_docker_disk_usage_bytes", "{{type}}"),
                                      ("lucid_docker_disk_layers_bytes", "layers")], w=12)
    b.add("bargauge", "Filesystem available", p[3], "df -h: Avail over Used + Avail of each configured path "
          "(100 % - Use%; the root reserve is not available to the services).", "percentunit",
          [("lucid_host_filesystem_avail_bytes / ((lucid_host_filesystem_size_bytes - lucid_host_filesystem_free_bytes"
            " + lucid_host_filesystem_avail_bytes) > 0)", "{{path}}")],
          w=8, steps=thresholds((None, "red"), (0.1, "orange"), (0.2, "green")), min_=0, max_=1)
    b.stat("Paths measured", p[3], "Configured paths that exist and can be measured (statvfs).", "none",
           [("lucid_host_filesystem_present", "{{path}}")], w=4, mappings=YES_MAPPINGS)
    b.row(p[4])
    b.stat("Backup age", p[4], "Time since the newest backup in /opt/lucid/backups/<kind>.", "s",
           [("time() - lucid_backup_last_timestamp_seconds", "{{kind}}")], w=12,
           steps=thresholds((None, "green"), (86400 + 3600, "orange"), (2 * 86400, "red")))
    b.stat("Backup size", p[4], "Size of the newest backup; a tiny backup is a broken one.", "bytes",
           [("lucid_backup_last_size_bytes", "{{kind}}")], w=12)
    b.stat("Backup directory", p[4], "The backup directory of each kind exists.", "none",
           [("lucid_backup_directory_present", "{{kind}}")], w=8, mappings=YES_MAPPINGS)
    b.stat("A backup exists", p[4], "At least one backup file of each kind.", "none",
           [("lucid_backup_present", "{{kind}}")], w=8, mappings=YES_MAPPINGS)
    b.ts("Backup files", p[4], "Backup files of each kind (ls /opt/lucid/backups/<kind>).", "short",
         [("lucid_backup_files", "{{kind}}")], w=8)


BUILDERS = {"foundation": foundation, "auth": auth, "gateway": gateway, "blockchain": blockchain,
            "sessions": sessions, "rdp": rdp, "nodes": nodes, "admin": admin, "tron": tron, "system": system}


def exporter() -> Board:
    b = Board("lucid-exporter", "Lucid / Exporter", "lucid-exporter itself: probe success, durations and "
              "errors by reason.", [TAG, "exporter"])
    b.links = [link_to("lucid-overview", "Overview"), ALL_LUCID_LINK]
    b.variables = [query_var("probe", "Probe", "label_values(lucid_probe_success, probe)")]
    sel = 'probe=~"$probe"'
    t = MONITORING
    b.row("Probes")
    b.stat("Probe success", t, "Share of probes whose last run succeeded.", "percentunit",
           [(f"sum(lucid_probe_success{{{sel}}}) / count(lucid_probe_success{{{sel}}})", "success")], w=6,
           steps=thresholds((None, "red"), (0.9, "orange"), (1, "green")))
    b.stat("Failing probes", t, "Probes whose last run failed.", "none",
           [(f"count(lucid_probe_success{{{sel}}} == 0) or vector(0)", "failing")], w=6, steps=COUNT_BAD)
    b.stat("Exporter version", t, "lucid_exporter_build_info.", "none",
           [("lucid_exporter_build_info", "{{version}}")], w=6, options={"textMode": "name"})
    b.stat("Probes", t, "Probes run on each scrape.", "none", [(f"count(lucid_probe_success{{{sel}}})", "probes")],
           w=6)
    b.ts("Success by probe kind", t, "Share of successful probes per kind.", "percentunit",
         [(f"avg by (probe) (lucid_probe_success{{{sel}}})", "{{probe}}")], w=12, min_=0, max_=1)
    b.stat("Probe targets", t, "Each probe target: FAILING when its last run failed.", "none",
           [(f"lucid_probe_success{{{sel}}}", "{{probe}} {{target}}")], w=12, mappings=OK_MAPPINGS,
           steps=thresholds((None, "red"), (1, "green")))
    b.row("Durations")
    b.ts("Probe duration (max by kind)", t, "The slowest target of each probe kind.", "s",
         [(f"max by (probe) (lucid_probe_duration_seconds{{{sel}}})", "{{probe}}")], w=12)
    b.ts("Slowest targets", t, "The ten slowest probe targets.", "s",
         [(f"topk(10, lucid_probe_duration_seconds{{{sel}}})", "{{probe}} {{target}}")], w=12)
    b.ts("Duration over timeout (max by kind)", t, "Each probe's duration over the timeout it was given "
         "(LucidProbeNearTimeout at 80 %).", "percentunit",
         [(f"max by (probe) (lucid_probe_duration_seconds{{{sel}}} / (lucid_probe_timeout_seconds{{{sel}}} > 0))",
           "{{probe}}")], w=12, min_=0, max_=1)
    b.ts("Scrape duration against its timeout", t, "How long Prometheus' scrape of the exporter takes, and the "
         "scrape timeout it sent (LucidExporterScrapeNearTimeout at 80 %).", "s",
         [("scrape_duration_seconds and on (job, instance) lucid_exporter_scrape_timeout_seconds", "{{instance}} "
           "duration"), ("lucid_exporter_scrape_timeout_seconds", "{{instance}} timeout")], w=12)
    b.ts("Since the last success", t, "The ten probes whose last success is the oldest (a failing probe's metrics "
         "are that old).", "s", [(f"topk(10, time() - lucid_probe_last_success_timestamp_seconds{{{sel}}})",
                                  "{{probe}} {{target}}")], w=12)
    b.row("Errors")
    b.ts("Errors by reason", t, "Probe failures per scrape interval by reason (timeout, refused, dns, tls, "
         "http_status, parse, auth, too_large, other).", "short",
         [(f"sum by (reason) ({_inc(f'lucid_probe_errors_total{{{sel}}}')})", "{{reason}}")], w=12)
    b.ts("Errors by target", t, "Probe failures per second by probe and target.", "short",
         [(f"sum by (probe, target) ({_rate(f'lucid_probe_errors_total{{{sel}}}')})", "{{probe}} {{target}}")],
         w=12)
    return b


def boards() -> list[Board]:
    return [overview(), *(cluster_board(c) for c in CLUSTERS), exporter()]


# ---------------------------------------------------------------------------------------------
# Output.


def iter_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested panels included."""
    for p in panels:
        yield p
        yield from iter_panels(p.get("panels", []))


def dashboard_exprs(d: dict[str, Any]) -> Iterator[str]:
    for p in iter_panels(d["panels"]):
        for t in p.get("targets", []):
            yield t["expr"]
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            yield v["query"]["query"] if isinstance(v["query"], dict) else v["query"]


def check_metrics(dashboards: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """metric -> uids of the dashboards using it; raises on a name missing from the metric specs."""
    used: dict[str, list[str]] = {}
    for uid, d in dashboards.items():
        for expr in dashboard_exprs(d):
            for name in metric_names(expr):
                if name not in METRICS:
                    raise SystemExit(f"{uid}: metric {name!r} in {expr!r} is not in "
                                     "lucid_exporter/catalogue/metrics.yaml")
                if uid not in used.setdefault(name, []):
                    used[name].append(uid)
    return used


def panel_count(d: dict[str, Any]) -> int:
    return sum(1 for p in iter_panels(d["panels"]) if p["type"] != "row")


def render() -> dict[Path, str]:
    """Every generated file and its content."""
    dashboards = {b.uid: b.json() for b in boards()}
    used = check_metrics(dashboards)
    out: dict[Path, str] = {}
    for uid, d in dashboards.items():
        out[DASHBOARD_DIR / f"{uid}.json"] = json.dumps(d, indent=2, ensure_ascii=False) + "\n"
    lines = ["# Metrics used by the Grafana dashboards", "",
             "Generated by `python grafana/generate.py` from the panel queries and "
             "`lucid_exporter/catalogue/metrics.yaml`; do not edit.", "",
             "Written by: the probe that writes the metric (`prometheus` = written by Prometheus itself).", "",
             "| metric | written by | dashboards |", "|---|---|---|"]
    lines += [f"| `{n}` | {METRICS[n].source} | {', '.join(used[n])} |" for n in METRICS if n in used]
    out[METRICS_DOC] = "\n".join(lines) + "\n"
    if DOCS.exists():
        out[DOCS] = _docs_with_table(DOCS.read_text(), dashboards)
    return out


def docs_table(dashboards: dict[str, dict[str, Any]]) -> str:
    rows = ["| dashboard | uid | panels | shows |", "|---|---|---|---|"]
    for uid, d in dashboards.items():
        rows.append(f"| {d['title']} | `{uid}` | {panel_count(d)} | {d['description']} |")
    total = sum(panel_count(d) for d in dashboards.values())
    rows.append(f"| **{len(dashboards)} dashboards** | | **{total}** | |")
    return "\n".join(rows)


def _docs_with_table(text: str, dashboards: dict[str, dict[str, Any]]) -> str:
    start, end = text.find(DOCS_BEGIN), text.find(DOCS_END)
    if start < 0 or end < start:
        raise SystemExit(f"{DOCS}: markers {DOCS_BEGIN!r} and {DOCS_END!r} not found")
    return text[: start + len(DOCS_BEGIN)] + "\n" + docs_table(dashboards) + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--check", action="store_true", help="exit 1 when a committed file differs")
    args = ap.parse_args(argv)
    stale = []
    files = render()
    for path, content in files.items():
        current = path.read_text() if path.exists() else None
        if current != content:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
    expected = {p.name for p in files if p.parent == DASHBOARD_DIR}
    extra = sorted(p for p in DASHBOARD_DIR.glob("*.json") if p.name not in expected)
    for p in stale + extra:
        print(f"{'stale' if args.check else 'wrote'}: {p.relative_to(ROOT)}" if p in stale
              else f"not generated: {p.relative_to(ROOT)}")
    return 1 if args.check and (stale or extra) else 0


if __name__ == "__main__":
    sys.exit(main())
