"""Elasticsearch: the guide's ``_cluster/health``, ``_nodes/stats`` and ``_cat/indices``.

One long-lived ``AsyncElasticsearch`` client shared by three probes, all selected by
``/probe?target=elasticsearch``:

- ``elasticsearch``: reachability (an explicit ``lucid_elasticsearch_up 0`` when the cluster
  cannot be reached), version, cluster health; and the service health of elasticsearch
  (``lucid_service_up``/``lucid_service_degraded``: red is down, yellow degraded), read with the
  probe's own credentials, in place of the catalogue's unauthenticated HTTP health check;
- ``elasticsearch_indices``: per-index health, docs and size, bounded by an allow-list and a cap;
- ``elasticsearch_nodes``: heap and filesystem per node. A server without ``_nodes/stats``
  (OpenSearch-compatible test servers answer 400) fails this sub-probe only.

Parsing (``*_samples``) is pure and unit-tested on recorded and hand-built replies.
"""

from __future__ import annotations

import base64
import fnmatch
import logging
import time
from collections.abc import Mapping
from typing import Any

import elastic_transport
from elasticsearch import AsyncElasticsearch
from elasticsearch import exceptions as esx

from ..config import ElasticsearchConfig, Settings
from ..errors import ProbeError, classify
from ..inventory import Service
from ..metrics import Sample, gauge, one_hot
from ..urls import BasicCredentials
from ._stores import budget
from .base import Probe, ProbeContext
from .health import DEGRADED, HEALTHY, service_status

COLORS = ("green", "yellow", "red")
UP_HELP = "1 when Elasticsearch answers (0 with the reason in lucid_probe_errors_total)"


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


def es_reason(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, esx.ApiError):
        status = exc.meta.status if exc.meta is not None else 0
        if status in (401, 403):
            return "auth", f"HTTP {status}: authentication or authorization failed"
        return "http_status", f"HTTP {status}: {str(exc.message)[:160]}"
    if isinstance(exc, elastic_transport.ConnectionTimeout):
        return "timeout", "timed out"
    if isinstance(exc, elastic_transport.TlsError):
        return "tls", f"TLS error: {str(exc)[:160]}"
    if isinstance(exc, elastic_transport.SerializationError):
        return "parse", f"invalid reply: {str(exc)[:160]}"
    if isinstance(exc, elastic_transport.ConnectionError):
        low = str(exc).lower()
        if "refused" in low or "connect call failed" in low:
            return "refused", "connection refused"
        if "name or service" in low or "nodename" in low or "name resolution" in low:
            return "dns", "name resolution failed"
        if exc.__context__ is not None:  # a generic "Connection error": the aiohttp error says more
            reason, message = classify(exc.__context__)
            if reason != "other":
                return reason, message
        return "refused", f"connection failed: {str(exc)[:160]}"
    return classify(exc)


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
    """Basic credentials as the client's pre-encoded string: elasticsearch-py encodes a (user,
    password) tuple as ASCII and fails on any other character; the server reads UTF-8."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class _Client:
    def __init__(self, cfg: ElasticsearchConfig, url: str, credentials: BasicCredentials | None = None) -> None:
        self.cfg = cfg
        self.url = url  # never with credentials: they go to the client as basic_auth
        self.credentials = credentials
        self._client: AsyncElasticsearch | None = None

    def get(self, ctx: ProbeContext) -> AsyncElasticsearch:
        if self._client is None:
            cfg = self.cfg
            kw: dict[str, Any] = {"request_timeout": cfg.connect_timeout_seconds, "max_retries": 0,
                                  "retry_on_timeout": False, "connections_per_node": 2}
            if cfg.api_key is not None:
                kw["api_key"] = cfg.api_key.get_secret_value()
            elif cfg.username:
                kw["basic_auth"] = _basic_auth(cfg.username, cfg.password.get_secret_value() if cfg.password else "")
            elif self.credentials is not None:
                kw["basic_auth"] = _basic_auth(self.credentials.username, self.credentials.password.get_secret_value())
            if cfg.tls.ca_file:
                kw["ca_certs"] = str(cfg.tls.ca_file)
            if cfg.tls.cert_file:
                kw["client_cert"] = str(cfg.tls.cert_file)
            if cfg.tls.key_file:
                kw["client_key"] = str(cfg.tls.key_file)
            if cfg.tls.insecure_skip_verify:
                kw["verify_certs"] = False
                kw["ssl_show_warn"] = False
            self._client = AsyncElasticsearch(self.url, **kw)
            # The node pool warns on every failed request ("putting on N second timeout"); the
            # engine already logs a failure once, with its reason.
            logging.getLogger("elastic_transport.node_pool").setLevel(logging.ERROR)
        # Every request inside the probe's budget.
        return self._client.options(request_timeout=budget(self.cfg.connect_timeout_seconds,
                                                           ctx.remaining() - 0.1))

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()


class _EsProbe(Probe):
    target = "elasticsearch"

    def __init__(self, client: _Client) -> None:
        self.client = client

    async def close(self) -> None:
        await self.client.close()

    async def _call(self, ctx: ProbeContext, what: str) -> Any:
        es = self.client.get(ctx)
        try:
            if what == "info":
                return (await es.info()).body
            if what == "health":
                return (await es.cluster.health()).body
            if what == "indices":
                return (await es.cat.indices(format="json", bytes="b",
                                             h="health,status,index,docs.count,store.size")).body
            return (await es.nodes.stats(metric="jvm,fs")).body
        except (esx.ApiError, elastic_transport.TransportError) as e:
            reason, message = es_reason(e)
            raise ProbeError(reason, f"{what}: {message}") from None


class ElasticsearchProbe(_EsProbe):
    kind = "elasticsearch"

    def __init__(self, client: _Client, cluster: str = "foundation") -> None:
        super().__init__(client)
        self.cluster = cluster

    def failure_samples(self, reason: str) -> list[Sample]:
        return [gauge("lucid_elasticsearch_up", 0, UP_HELP), *service_status("elasticsearch", self.cluster, False)]

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        info = await self._call(ctx, "info")
        start = time.monotonic()
        health = await self._call(ctx, "health")
        duration = time.monotonic() - start
        if not isinstance(info, Mapping) or not isinstance(health, Mapping):
            raise ProbeError("parse", "unexpected reply shape")
        version = info.get("version") or {}
        return [gauge("lucid_elasticsearch_up", 1, UP_HELP), *service_samples(health, self.cluster, duration),
                gauge("lucid_elasticsearch_info", 1, "Elasticsearch version and distribution",
                      version=str(version.get("number", "")),
                      distribution=str(version.get("distribution", "elasticsearch")),
                      cluster=str(info.get("cluster_name", ""))),
                *health_samples(health)]


class ElasticsearchIndicesProbe(_EsProbe):
    kind = "elasticsearch_indices"

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        rows = await self._call(ctx, "indices")
        if not isinstance(rows, list):
            raise ProbeError("parse", "_cat/indices did not answer a list")
        cfg = self.client.cfg
        return indices_samples(rows, cfg.indices, cfg.max_indices, cfg.include_hidden_indices)


class ElasticsearchNodesProbe(_EsProbe):
    kind = "elasticsearch_nodes"

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        stats = await self._call(ctx, "nodes")
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
