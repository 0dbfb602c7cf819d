"""Elasticsearch: the guide's "Elasticsearch Cluster Health Issues" (_cluster/health,
_nodes/stats, _cat/indices), against osmem-server, an OpenSearch-compatible server that
answers 400 to _nodes/stats: that sub-probe fails alone."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from ..conftest import Exporter, start_exporter
from ..servers_foundation import OsmemServer
from ..support import Series, scrape, value, wait_until

pytestmark = pytest.mark.integration


def es(srv: OsmemServer, method: str, path: str, body: object = None) -> None:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(srv.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status in (200, 201)


def seed(srv: OsmemServer) -> None:
    es(srv, "PUT", "/lucid-sessions", {"settings": {"number_of_replicas": 0}})
    for i in range(3):
        es(srv, "POST", "/lucid-sessions/_doc?refresh=true", {"session_id": f"s{i}", "user_id": i})
    es(srv, "PUT", "/lucid-audit", {"settings": {"number_of_replicas": 0}})
    es(srv, "PUT", "/other-app", {"settings": {"number_of_replicas": 0}})


@pytest.fixture(scope="module")
def osmem(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OsmemServer]:
    srv = OsmemServer(tmp_path_factory.mktemp("osmem"))
    srv.start()
    seed(srv)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def exporter(osmem: OsmemServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    cfg = {
        "probes": {"min_interval_seconds": 0, "timeout_seconds": 3},
        "services": {"elasticsearch": {"url": osmem.url}},
        "elasticsearch": {"connect_timeout_seconds": 1, "indices": ["lucid-*"], "max_indices": 1},
        "mongodb": {"enabled": False},
        "redis": {"enabled": False},
    }
    exp = start_exporter(tmp_path_factory.mktemp("es-exporter"), cfg)
    yield exp
    exp.proc.stop()


def probe(exp: Exporter) -> Series:
    return scrape(f"{exp.url}/probe?target=elasticsearch")


def test_elasticsearch_cluster_health_green(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_elasticsearch_up") == 1
    assert value(s, "lucid_elasticsearch_info", version="3.8.0", distribution="opensearch") == 1
    assert value(s, "lucid_elasticsearch_cluster_health_status", color="green") == 1
    assert value(s, "lucid_elasticsearch_cluster_health_status", color="red") == 0
    assert value(s, "lucid_elasticsearch_cluster_nodes") == 1
    assert value(s, "lucid_elasticsearch_cluster_data_nodes") == 1
    assert value(s, "lucid_elasticsearch_cluster_active_primary_shards") == 3
    assert value(s, "lucid_elasticsearch_cluster_unassigned_shards") == 0
    assert value(s, "lucid_elasticsearch_cluster_active_shards_ratio") == 1
    assert value(s, "lucid_service_up", service="elasticsearch") == 1


def test_elasticsearch_nodes_stats_unsupported_fails_that_sub_probe_only(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_probe_success", probe="elasticsearch_nodes", target="elasticsearch") == 0
    assert (value(s, "lucid_probe_errors_total", probe="elasticsearch_nodes", reason="http_status") or 0) >= 1
    assert value(s, "lucid_probe_success", probe="elasticsearch", target="elasticsearch") == 1
    assert value(s, "lucid_probe_success", probe="elasticsearch_indices", target="elasticsearch") == 1
    assert value(s, "lucid_elasticsearch_up") == 1


def test_elasticsearch_cat_indices_allow_list_and_cap(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_elasticsearch_indices", health="green") == 2  # lucid-*, not other-app
    assert value(s, "lucid_elasticsearch_index_health", index="lucid-sessions", color="green") == 1
    assert value(s, "lucid_elasticsearch_index_docs", index="lucid-sessions") == 3
    assert value(s, "lucid_elasticsearch_index_store_size_bytes", index="lucid-sessions") > 0  # type: ignore[operator]
    # max_indices 1: the larger index is shown, the other counted as omitted.
    assert value(s, "lucid_elasticsearch_index_docs", index="lucid-audit") is None
    assert value(s, "lucid_elasticsearch_indices_omitted") == 1
    assert value(s, "lucid_elasticsearch_index_docs", index="other-app") is None


def test_elasticsearch_stopped_goes_down_with_reason_and_comes_back(exporter: Exporter, osmem: OsmemServer) -> None:
    assert value(probe(exporter), "lucid_elasticsearch_up") == 1
    osmem.stop()
    s = probe(exporter)
    # An explicit 0, not a stale series (the peer exporter's behaviour).
    assert value(s, "lucid_elasticsearch_up") == 0
    assert value(s, "lucid_elasticsearch_cluster_health_status", color="green") is None
    assert (value(s, "lucid_probe_errors_total", probe="elasticsearch", reason="refused") or 0) >= 1
    osmem.start()
    seed(osmem)
    wait_until(lambda: value(probe(exporter), "lucid_elasticsearch_up") == 1, timeout=15, what="elasticsearch up")
