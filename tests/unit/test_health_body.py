"""How a health reply is judged: the Lucid contracts' {"status": ...} bodies and Elasticsearch colours."""

from __future__ import annotations

import json

import pytest

from lucid_exporter.probes.health import judge_body

# Shaped after shared/lucid-contracts health schemas (node-management, session-api, auth impl).
NODE_HEALTHY = {"status": "healthy", "service": "node-management", "version": "1.0.0",
                "timestamp": "2025-01-27T12:00:00Z", "active_nodes": 5}
SESSION_API_UNHEALTHY = {"status": "unhealthy", "error": "Session API not initialized",
                         "timestamp": "2024-01-27T12:34:56.789Z"}


@pytest.mark.parametrize(("body", "verdict"), [
    (NODE_HEALTHY, "healthy"),
    (SESSION_API_UNHEALTHY, "unhealthy"),
    ({"status": "degraded"}, "degraded"),
    ({"status": "green", "cluster_name": "lucid"}, "healthy"),
    ({"status": "yellow"}, "degraded"),
    ({"status": "red"}, "unhealthy"),
    ({"healthy": False}, "unhealthy"),
    ({"uptime": 12}, "healthy"),
    ({"status": "exploded"}, "unhealthy"),
])
def test_json_status_decides_health(body: dict[str, object], verdict: str) -> None:
    assert judge_body(json.dumps(body).encode(), "application/json")[0] == verdict


def test_unhealthy_detail_carries_the_services_error() -> None:
    verdict, detail = judge_body(json.dumps(SESSION_API_UNHEALTHY).encode(), "application/json")
    assert verdict == "unhealthy" and "not initialized" in detail


def test_plain_ok_is_healthy_and_broken_json_is_invalid() -> None:
    assert judge_body(b"OK", "text/plain")[0] == "healthy"
    assert judge_body(b'{"status": "heal', "application/json")[0] == "invalid"
