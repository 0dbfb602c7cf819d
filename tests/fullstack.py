"""The real foundation stores beside the sim, as ``make demo`` runs them: Debian redis-server
(1 GB maxmemory with allkeys-lru, the guide's setting), SecantusDB with authentication (as
Lucid's MongoDB) and osmem-server, seeded by ``lucid_sim.foundation``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lucid_sim import foundation

from .servers_foundation import OsmemServer, RedisServer, SecantusServer

MONGO_USER = ("lucid-exporter", "drill-m0ngo-pass")
# Metrics the test servers cannot produce, with the reason; every other panel and alert input must
# have data on a healthy stack.
TEST_SERVER_GAPS = {
    "lucid_elasticsearch_node_heap_used_bytes": "osmem-server does not implement _nodes/stats (HTTP 400)",
    "lucid_elasticsearch_node_heap_max_bytes": "osmem-server does not implement _nodes/stats (HTTP 400)",
    "lucid_elasticsearch_node_fs_available_bytes": "osmem-server does not implement _nodes/stats (HTTP 400)",
    "lucid_elasticsearch_node_fs_total_bytes": "osmem-server does not implement _nodes/stats (HTTP 400)",
    "lucid_elasticsearch_nodes_omitted": "osmem-server does not implement _nodes/stats (HTTP 400)",
    "lucid_mongodb_asserts_total": "SecantusDB's serverStatus has no asserts section",
    "lucid_mongodb_cursors_timed_out_total": "SecantusDB's serverStatus has no metrics.cursor.timedOut",
    "lucid_mongodb_documents_total": "SecantusDB's serverStatus has no metrics.document",
    "lucid_mongodb_query_scanned_keys_total": "SecantusDB's serverStatus has no metrics.queryExecutor",
    "lucid_mongodb_query_scanned_objects_total": "SecantusDB's serverStatus has no metrics.queryExecutor",
    "lucid_mongodb_write_conflicts_total": "SecantusDB's serverStatus has no metrics.operation.writeConflicts",
}

# Alerts the test servers raise by a quirk of their own, never by the stack's health.
TEST_SERVER_ALERTS = {
    "LucidMongoDBConnectionsNearLimit": "SecantusDB reports connections.available as 0 (it has no connection "
                                        "limit), so current/(current+available) is 1",
}


@dataclass
class Foundation:
    redis: RedisServer
    mongo: SecantusServer
    es: OsmemServer

    def config(self, cfg: dict[str, Any]) -> dict[str, Any]:
        # _nodes/stats is off: osmem answers it with 400 (tests/integration/test_foundation_elasticsearch.py
        # covers that partial failure); left on, LucidProbeFailing would fire on a healthy stack.
        return foundation.exporter_config(cfg, self.redis.port, self.mongo.port, self.es.port,
                                          mongo_auth=MONGO_USER, node_stats=False)

    def stop(self) -> None:
        for s in (self.redis, self.mongo, self.es):
            s.stop()


def start_foundation(tmp: Path) -> Foundation:
    tmp.mkdir(parents=True, exist_ok=True)
    f = Foundation(RedisServer(tmp, maxmemory="1gb", policy="allkeys-lru"), SecantusServer(tmp, auth=MONGO_USER),
                   OsmemServer(tmp))
    try:
        for s in (f.redis, f.mongo, f.es):
            s.start()
        foundation.seed(f.redis.port, f.mongo.port, f.es.port, mongo_auth=MONGO_USER)
    except BaseException:
        f.stop()
        raise
    return f
