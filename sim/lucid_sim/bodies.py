"""Health bodies shaped like the Lucid contracts (shared/lucid-contracts).

Common shape: ``{"status", "service", "version", "timestamp"}`` (auth-service.impl,
node-management, rdp-* and session-api health schemas), with each service's extra fields.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Any


def iso(ts: float) -> str:
    """An epoch time as Lucid writes it: ISO 8601, milliseconds, ``Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def now_iso() -> str:
    return iso(time.time())


_EXTRA: dict[str, dict[str, Any]] = {
    "auth-service": {"environment": "production",
                     "dependencies": {"database": True, "redis": True, "hardware_wallet": "available"}},
    "node-management": {"active_nodes": 5, "max_nodes_per_pool": 100, "payout_threshold_usdt": 10.0},
    "xrdp": {"active_processes": 2, "max_processes": 50},
    "resource-monitor": {"active_sessions": 3},
    "session-controller": {"active_sessions": 3},
    "session-api": {"services": {"mongodb": "healthy", "session_storage": {"status": "healthy"},
                                 "chunk_store": {"status": "healthy"}}},
    "payout-router": {"checks": {"tron": "ok", "mongo": "ok", "circuit_breaker": "closed"}},
}


def health(service: str, status: str = "healthy") -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "service": service, "version": "1.0.0", "timestamp": now_iso()}
    body.update(_EXTRA.get(service, {}))
    if status == "unhealthy":
        body["error"] = "dependency check failed (simulated)"
    return body


def es_cluster_health(status: str = "green") -> dict[str, Any]:
    """Elasticsearch ``_cluster/health`` reply."""
    unassigned = {"green": 0, "yellow": 5, "red": 10}.get(status, 0)
    return {
        "cluster_name": "lucid", "status": status, "timed_out": False, "number_of_nodes": 1,
        "number_of_data_nodes": 1, "active_primary_shards": 10, "active_shards": 10,
        "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": unassigned,
        "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": 100.0 * 10 / (10 + unassigned),
    }


def trongrid_nowblock(number: int, ts: float) -> dict[str, Any]:
    """TronGrid's ``/wallet/getnowblock`` reply for block ``number`` made at ``ts`` (milliseconds in
    the reply, as TronGrid sends them). Both personalities stand in for TronGrid with it."""
    return {"blockID": f"{number:016x}" + hashlib.sha256(str(number).encode()).hexdigest()[16:],
            "block_header": {"raw_data": {
                "number": number, "timestamp": int(ts * 1000), "version": 30,
                "txTrieRoot": hashlib.sha256(f"tx-{number}".encode()).hexdigest(),
                "parentHash": hashlib.sha256(str(number - 1).encode()).hexdigest(),
                "witness_address": "41" + hashlib.sha256(b"w").hexdigest()[:40]},
                "witness_signature": hashlib.sha256(b"sig").hexdigest() * 2},
            "transactions": []}
