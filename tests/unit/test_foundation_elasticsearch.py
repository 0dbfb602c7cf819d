"""Elasticsearch reply parsing: replies recorded from osmem-server, and hand-built replies shaped
like Elasticsearch 8's for what osmem cannot show (yellow and red clusters, _nodes/stats)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lucid_exporter.metrics import Sample
from lucid_exporter.probes.elasticsearch import es_reason, health_samples, indices_samples, node_stats_samples

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "foundation"


def load(name: str) -> Any:
    return json.loads((FIX / name).read_text())


def val(samples: list[Sample], name: str, **labels: str) -> float | None:
    found = [s.value for s in samples if s.name == name and labels.items() <= dict(s.labels).items()]
    assert len(found) <= 1, f"{name}{labels}: {len(found)} series"
    return found[0] if found else None


def test_elasticsearch_cluster_health_green_recorded_from_osmem() -> None:
    s = health_samples(load("es_cluster_health_green.json"))
    assert val(s, "lucid_elasticsearch_cluster_health_status", color="green") == 1
    assert val(s, "lucid_elasticsearch_cluster_active_shards_ratio") == 1


def test_elasticsearch_cluster_yellow_has_unassigned_replicas() -> None:
    s = health_samples(load("es_cluster_health_yellow.json"))
    assert val(s, "lucid_elasticsearch_cluster_health_status", color="yellow") == 1
    assert val(s, "lucid_elasticsearch_cluster_health_status", color="green") == 0
    assert val(s, "lucid_elasticsearch_cluster_unassigned_shards") == 12
    assert val(s, "lucid_elasticsearch_cluster_active_shards_ratio") == 0.5


def test_elasticsearch_cluster_red_shards_and_pending_tasks() -> None:
    s = health_samples(load("es_cluster_health_red.json"))
    assert val(s, "lucid_elasticsearch_cluster_health_status", color="red") == 1
    assert sum(x.value for x in s if x.name == "lucid_elasticsearch_cluster_health_status") == 1
    assert val(s, "lucid_elasticsearch_cluster_relocating_shards") == 1
    assert val(s, "lucid_elasticsearch_cluster_initializing_shards") == 2
    assert val(s, "lucid_elasticsearch_cluster_delayed_unassigned_shards") == 2
    assert val(s, "lucid_elasticsearch_cluster_pending_tasks") == 4
    assert val(s, "lucid_elasticsearch_cluster_task_max_waiting_seconds") == 1.5
    assert val(s, "lucid_elasticsearch_cluster_data_nodes") == 2


def test_elasticsearch_indices_recorded_from_osmem() -> None:
    s = indices_samples(load("es_cat_indices.json"), ["*"], 100)
    assert val(s, "lucid_elasticsearch_index_docs", index="lucid-sessions") == 1
    assert val(s, "lucid_elasticsearch_index_store_size_bytes", index="lucid-audit") == 208
    assert val(s, "lucid_elasticsearch_indices", health="green") == 2


def test_elasticsearch_red_and_yellow_indices_hidden_and_closed() -> None:
    s = indices_samples(load("es_cat_indices_degraded.json"), ["lucid-*"], 100)
    assert val(s, "lucid_elasticsearch_index_health", index="lucid-blocks", color="red") == 1
    assert val(s, "lucid_elasticsearch_index_health", index="lucid-audit", color="yellow") == 1
    assert val(s, "lucid_elasticsearch_indices", health="red") == 1
    assert val(s, "lucid_elasticsearch_indices", health="yellow") == 1
    assert val(s, "lucid_elasticsearch_index_docs", index="lucid-blocks") is None  # red: no count, no guess
    assert val(s, "lucid_elasticsearch_index_docs", index=".kibana_1") is None  # hidden, not allow-listed
    assert val(s, "lucid_elasticsearch_index_health", index="lucid-old", color="unknown") == 1


def test_elasticsearch_indices_cap_keeps_the_largest() -> None:
    s = indices_samples(load("es_cat_indices_degraded.json"), ["*"], 1)
    assert val(s, "lucid_elasticsearch_index_docs", index="lucid-sessions-2026.11") == 120394
    assert val(s, "lucid_elasticsearch_indices_omitted") == 3


def test_elasticsearch_node_heap_and_disk_per_node() -> None:
    s = node_stats_samples(load("es_nodes_stats.json"), 50)
    assert val(s, "lucid_elasticsearch_node_heap_used_bytes", node="lucid-es-1") == 805306368
    assert val(s, "lucid_elasticsearch_node_heap_max_bytes", node="lucid-es-1") == 1073741824
    assert val(s, "lucid_elasticsearch_node_fs_available_bytes", node="lucid-es-1") == 2684354560
    assert val(s, "lucid_elasticsearch_node_fs_total_bytes", node="lucid-es-2") == 53687091200
    capped = node_stats_samples(load("es_nodes_stats.json"), 1)
    assert val(capped, "lucid_elasticsearch_nodes_omitted") == 1


def test_elasticsearch_nodes_stats_400_is_http_status() -> None:
    body = json.dumps(load("es_nodes_stats_unsupported.json")).encode()
    reason, message = es_reason(400, body)
    assert reason == "http_status" and message.startswith("HTTP 400")
    assert es_reason(401, b"{}")[0] == "auth" and es_reason(403, b"")[0] == "auth"
    assert es_reason(503, b"<html>busy</html>") == ("http_status", "HTTP 503")
