"""Elasticsearch: the guide's ``_cluster/health``, ``_nodes/stats`` and ``_cat/indices``.

Three probes, all selected by ``/probe?target=elasticsearch``, over the exporter's shared HTTP
pool (the connections every HTTP probe uses):

- ``elasticsearch``: reachability (an explicit ``lucid_elasticsearch_up 0`` when the cluster
  cannot be reached), cluster health, and the service health of elasticsearch
  (``lucid_service_up``/``lucid_service_degraded``: red is down, yellow degraded), read with the
  probe's own credentials, in place of the catalogue's unauthenticated HTTP health check. One
  request per scrape, ``_cluster/health``; the version (``GET /``) is read again only after the
  stats interval or a failure;
- ``elasticsearch_indices``: per-index health, docs and size, bounded by an allow-list and a cap;
- ``elasticsearch_nodes``: heap and filesystem per node. A server without ``_nodes/stats``
  (OpenSearch-compatible test servers answer 400) fails this sub-probe only.

The last two walk every index or node: on an interval of their own
(``elasticsearch.stats_interval_seconds``), refreshed in the background, their age in
``lucid_probe_result_age_seconds``.

Why not the official client: a read-only exporter makes three or four GETs of JSON, which the
shared aiohttp pool already does with the exporter's timeouts, size limit and error reasons
(elasticsearch_exporter, the Go peer, also uses a plain HTTP client for its few endpoints).
``AsyncElasticsearch`` added its own connection pool beside it, a client object per request
for each request timeout (13 % of the probe's CPU, reading the OTEL_* environment each time)
and a fifth of the exporter's start-up in imports.

Parsing (``*_samples``) is pure and unit-tested on recorded and hand-built replies.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import time
from collections.abc import Mapping
from typing import Any

from ..config import ElasticsearchConfig, Settings
from ..errors import ProbeError
from ..inventory import Service
from ..metrics import Sample, gauge, one_hot
from ..urls import BasicCredentials
from ._stores import budget, ssl_context
from .base import Probe, ProbeContext
from .health import DEGRADED, HEALTHY, service_status
from .httpget import request

COLORS = ("green", "yellow", "red")
UP_HELP = "1 when Elasticsearch answers (0 with the reason in lucid_probe_errors_total)"
PATHS = {
    "info": "/",
    "health": "/_cluster/health",
    "indices": "/_cat/indices?format=json&bytes=b&h=health,status,index,docs.count,store.size",
    "nodes": "/_nodes/stats/jvm,fs",
}


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def es_reason(status: int, body: bytes) -> tuple[str, str]:
    """Reason and message for an HTTP error answer of Elasticsearch (its JSON ``error`` read when present)."""
    if status in (401, 403):
        return "auth", f"HTTP {status}: authentication or authorization failed"
    detail = ""
    try:
        error = json.loads(body).get("error")
        if isinstance(error, Mapping):
            detail = str(error.get("type") or error.get("reason") or "")
        elif error is not None:
            detail = str(error)
    except (ValueError, AttributeError, UnicodeDecodeError):
        detail = ""
    return "http_status", f"HTTP {status}" + (f": {detail[:160]}" if detail else "")


# ---------------------------------------------------------------- pure parsing


def health_samples(h: Mapping[str, Any]) -> list[Sample]:
    """``_cluster/health``: color one-hot, nodes, shards by state, pending tasks."""
    out = one_hot("lucid_elasticsearch_cluster_health_status", "color", str(h.get("status", "")).lower(), COLORS,
                  "Cluster health, 1 on the current color (_cluster/health)")
    for name, key, help in (
        ("lucid_elasticsearch_cluster_nodes", "number_of_nodes", "Nodes in the cluster"),
        ("lucid_elasticsearch_cluster_data_nodes", "number_of_data_nodes", "Data nodes in the cluster"),
        ("lucid_elasticsearch_cluster_active_primary_shards", "active_primary_shards", "Active primary shards"),
        ("lucid_elasticsearch_cluster_active_shards", "active_shards", "Active shards"),
        ("lucid_elasticsearch_cluster_relocating_shards", "relocating_shards", "Shards relocating"),
        ("lucid_elasticsearch_cluster_initializing_shards", "initializing_shards", "Shards initializing"),
        ("lucid_elasticsearch_cluster_unassigned_shards", "unassigned_shards", "Shards not assigned to a node"),
        ("lucid_elasticsearch_cluster_delayed_unassigned_shards", "delayed_unassigned_shards",
         "Unassigned shards whose allocation is delayed"),
        ("lucid_elasticsearch_cluster_pending_tasks", "number_of_pending_tasks", "Cluster tasks not yet executed"),
    ):
        v = _num(h.get(key))
        if v is not None:
            out.append(gauge(name, v, help))
    pct = _num(h.get("active_shards_percent_as_number"))
    if pct is not None:
        out.append(gauge("lucid_elasticsearch_cluster_active_shards_ratio", pct / 100,
                         "Active shards over all shards (1 when all are assigned)"))
    wait = _num(h.get("task_max_waiting_in_queue_millis"))
    if wait is not None:
        out.append(gauge("lucid_elasticsearch_cluster_task_max_waiting_seconds", wait / 1000,
                         "Age of the oldest pending cluster task"))
    return out


def indices_samples(rows: list[Mapping[str, Any]], allow: list[str], limit: int,
                    include_hidden: bool = False) -> list[Sample]:
    """``_cat/indices?format=json&bytes=b``: per index (allow-listed, capped) and totals."""
    chosen = [r for r in rows if isinstance(r, Mapping) and str(r.get("index", ""))
              and (include_hidden or not str(r["index"]).startswith("."))
              and any(fnmatch.fnmatchcase(str(r["index"]), p) for p in allow)]
    by_health: dict[str, int] = dict.fromkeys(COLORS, 0)
    for r in chosen:
        color = str(r.get("health") or "unknown").lower()
        by_health[color] = by_health.get(color, 0) + 1
    out = [gauge("lucid_elasticsearch_indices", n, "Indices (allow-listed) by health", health=c)
           for c, n in sorted(by_health.items())]
    # Keep the largest indices when over the cap; the rest are counted, not dropped silently.
    chosen.sort(key=lambda r: (-(_num(r.get("store.size")) or 0.0), str(r["index"])))
    shown, omitted = chosen[:limit], chosen[limit:]
    out.append(gauge("lucid_elasticsearch_indices_omitted", len(omitted),
                     "Allow-listed indices without per-index series (over max_indices)"))
    for r in shown:
        idx = str(r["index"])
        color = str(r.get("health") or "unknown").lower()
        out += one_hot("lucid_elasticsearch_index_health", "color", color, COLORS,
                       "Index health, 1 on the current color (_cat/indices)", index=idx)
        docs = _num(r.get("docs.count"))
        if docs is not None:
            out.append(gauge("lucid_elasticsearch_index_docs", docs, "Documents in the index", index=idx))
        size = _num(r.get("store.size"))
        if size is not None:
            out.append(gauge("lucid_elasticsearch_index_store_size_bytes", size,
                             "Store size of the index, replicas included", index=idx))
    return out


def node_stats_samples(stats: Mapping[str, Any], limit: int) -> list[Sample]:
    """``_nodes/stats/jvm,fs``: heap used and max, filesystem available and total, per node."""
    nodes = stats.get("nodes") or {}
    out: list[Sample] = []
    items = sorted(nodes.items(), key=lambda kv: str(kv[1].get("name", kv[0])) if isinstance(kv[1], Mapping) else "")
    for node_id, n in items[:limit]:
        if not isinstance(n, Mapping):
            continue
        lbl = {"node": str(n.get("name", node_id))}
        heap = (n.get("jvm") or {}).get("mem") or {}
        fs = (n.get("fs") or {}).get("total") or {}
        for name, src, key, help in (
            ("lucid_elasticsearch_node_heap_used_bytes", heap, "heap_used_in_bytes", "JVM heap in use"),
            ("lucid_elasticsearch_node_heap_max_bytes", heap, "heap_max_in_bytes", "JVM heap maximum"),
            ("lucid_elasticsearch_node_fs_available_bytes", fs, "available_in_bytes",
             "Disk space available to Elasticsearch"),
            ("lucid_elasticsearch_node_fs_total_bytes", fs, "total_in_bytes", "Disk space in total"),
        ):
            v = _num(src.get(key))
            if v is not None:
                out.append(gauge(name, v, help, **lbl))
    out.append(gauge("lucid_elasticsearch_nodes_omitted", max(0, len(items) - limit),
                     "Nodes without per-node series (over max_nodes)"))
    return out


# ---------------------------------------------------------------- probes


def service_samples(health: Mapping[str, Any], cluster: str, duration: float) -> list[Sample]:
    """``lucid_service_up``/``degraded`` of elasticsearch from its ``_cluster/health`` colour."""
    color = str(health.get("status", "")).strip().lower()
    return [*service_status("elasticsearch", cluster, up=color in HEALTHY | DEGRADED, degraded=color in DEGRADED),
            gauge("lucid_service_health_duration_seconds", duration, "Duration of the health check",
                  service="elasticsearch", cluster=cluster),
            gauge("lucid_service_http_status", 200, "HTTP status of the health check",
                  service="elasticsearch", cluster=cluster)]


def _basic_auth(user: str, password: str) -> str:
    """Basic credentials, UTF-8 as the server reads them."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class _Client:
    """What the three probes share: the cluster's URL, its credentials and TLS settings."""

    def __init__(self, cfg: ElasticsearchConfig, url: str, credentials: BasicCredentials | None = None) -> None:
        self.cfg = cfg
        self.url = url.rstrip("/")  # never with credentials: they go in the Authorization header
        self.credentials = credentials
        self.headers = {"Accept": "application/json"}
        if cfg.api_key is not None:
            self.headers["Authorization"] = f"ApiKey {cfg.api_key.get_secret_value()}"
        elif cfg.username:
            self.headers["Authorization"] = _basic_auth(cfg.username,
                                                        cfg.password.get_secret_value() if cfg.password else "")
        self.ssl = ssl_context(cfg.tls, required=True) if url.startswith("https://") else None

    async def get(self, ctx: ProbeContext, what: str) -> Any:
        """The parsed JSON of one endpoint; ProbeError with the reason on an HTTP error or a bad body."""
        timeout = budget(self.cfg.connect_timeout_seconds, ctx.remaining() - 0.1)
        reply = await request(ctx, "GET", self.url + PATHS[what], headers=self.headers, timeout=timeout,
                              auth=self.credentials, ssl=self.ssl)
        if not 200 <= reply.status < 300:
            reason, message = es_reason(reply.status, reply.body)
            raise ProbeError(reason, f"{what}: {message}")
        try:
            return json.loads(reply.body)
        except (ValueError, UnicodeDecodeError):
            raise ProbeError("parse", f"{what}: the reply is not JSON") from None

    def http_requests(self) -> list[tuple[str, int]]:
        return [(self.url + "/", 1)]


class _EsProbe(Probe):
    target = "elasticsearch"

    def __init__(self, client: _Client) -> None:
        self.client = client

    def http_requests(self, settings: Settings) -> list[tuple[str, int]]:
        return self.client.http_requests()


class ElasticsearchProbe(_EsProbe):
    kind = "elasticsearch"

    def __init__(self, client: _Client, cluster: str = "foundation") -> None:
        super().__init__(client)
        self.cluster = cluster
        self._info: Mapping[str, Any] | None = None
        self._info_at = 0.0

    def failure_samples(self, reason: str) -> list[Sample]:
        self._info = None  # read the version again once it answers: it may be another server now
        return [gauge("lucid_elasticsearch_up", 0, UP_HELP), *service_status("elasticsearch", self.cluster, False)]

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        start = time.monotonic()
        health = await self.client.get(ctx, "health")
        duration = time.monotonic() - start
        info = self._info
        if info is None or start - self._info_at >= self.client.cfg.stats_interval_seconds:
            info = await self.client.get(ctx, "info")
            if isinstance(info, Mapping):
                self._info, self._info_at = info, start
        if not isinstance(info, Mapping) or not isinstance(health, Mapping):
            raise ProbeError("parse", "unexpected reply shape")
        version = info.get("version") or {}
        return [gauge("lucid_elasticsearch_up", 1, UP_HELP), *service_samples(health, self.cluster, duration),
                gauge("lucid_elasticsearch_info", 1, "Elasticsearch version and distribution",
                      version=str(version.get("number", "")),
                      distribution=str(version.get("distribution", "elasticsearch")),
                      cluster=str(info.get("cluster_name", ""))),
                *health_samples(health)]


class _Background(_EsProbe):
    """A walk over every index or node: on the stats interval, refreshed in the background."""

    background = True

    def __init__(self, client: _Client) -> None:
        super().__init__(client)
        self.min_interval = client.cfg.stats_interval_seconds


class ElasticsearchIndicesProbe(_Background):
    kind = "elasticsearch_indices"

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        rows = await self.client.get(ctx, "indices")
        if not isinstance(rows, list):
            raise ProbeError("parse", "_cat/indices did not answer a list")
        cfg = self.client.cfg
        return indices_samples(rows, cfg.indices, cfg.max_indices, cfg.include_hidden_indices)


class ElasticsearchNodesProbe(_Background):
    kind = "elasticsearch_nodes"

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        stats = await self.client.get(ctx, "nodes")
        if not isinstance(stats, Mapping):
            raise ProbeError("parse", "_nodes/stats did not answer an object")
        return node_stats_samples(stats, self.client.cfg.max_nodes)


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    cfg = settings.elasticsearch
    if not cfg.enabled:
        return []
    svc = services.get("elasticsearch")
    url = cfg.url.public if cfg.url is not None else (svc.url if svc is not None else "")
    credentials = cfg.url.credentials if cfg.url is not None else (svc.credentials if svc is not None else None)
    if not url:
        return []
    if url.startswith("tcp://"):
        url = "http://" + url.removeprefix("tcp://")
    client = _Client(cfg, url, credentials)
    probes: list[Probe] = [ElasticsearchProbe(client, cluster=svc.cluster if svc else "foundation"),
                           ElasticsearchIndicesProbe(client)]
    if cfg.node_stats:
        probes.append(ElasticsearchNodesProbe(client))
    return probes
