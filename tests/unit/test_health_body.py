"""How a health reply is judged: the Lucid contracts' {"status": ...} bodies, Elasticsearch colours, and the
real Lucid code's quirks (tuple bodies, dependency maps and fields, always-200 unhealthy answers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lucid_exporter.probes.health import (
    DEPENDENCY_STATES,
    dependency_samples,
    dependency_state,
    judge,
    judge_body,
    refusal_text,
)

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


# -- the real Lucid code's bodies (tests/fixtures/health/, shaped after the handlers; values our own) ---
FIX = Path(__file__).resolve().parent.parent / "fixtures" / "health"


def body(name: str) -> bytes:
    return (FIX / f"{name}.json").read_bytes()


def deps(name: str) -> dict[str, str]:
    return {d.name: d.state for d in judge(body(name), "application/json").dependencies}


def test_a_tuple_body_is_judged_by_its_status_object_and_its_code() -> None:
    """A TRON handler returning (dict, 503) is served as HTTP 200 with [{...}, 503]: down, not healthy."""
    j = judge(body("tron_tuple_unhealthy"), "application/json")
    assert j.verdict == "unhealthy" and "HTTP 503" in j.detail
    assert judge(body("tron_tuple_degraded"), "application/json").verdict == "unhealthy"
    assert judge(b'[{"status": "healthy"}, 200]', "application/json").verdict == "healthy"
    assert judge(b"[1, 2, 3]", "application/json").verdict == "healthy"  # not a status object


def test_auth_dependencies_become_series_and_degraded_names_the_failed_one() -> None:
    assert deps("auth_healthy") == {"database": "ok", "redis": "ok", "hardware_wallet": "ok"}
    j = judge(body("auth_degraded_database"), "application/json")
    assert j.verdict == "degraded" and "database" in j.detail
    assert deps("auth_degraded_database")["database"] == "down"
    assert deps("auth_degraded_redis")["redis"] == "down"


def test_a_hardware_wallet_unavailable_degrades_auth_and_disabled_does_not() -> None:
    """The auth service stays "healthy" whatever its hardware wallet: the exporter reads the field."""
    j = judge(body("auth_hardware_wallet_unavailable"), "application/json")
    assert j.verdict == "degraded" and deps("auth_hardware_wallet_unavailable")["hardware_wallet"] == "unavailable"
    assert judge(body("auth_hardware_wallet_disabled"), "application/json").verdict == "healthy"
    samples = dependency_samples("auth-service", judge(body("auth_hardware_wallet_disabled"),
                                                       "application/json").dependencies)
    up = {s.labels["dependency"]: s.value for s in samples if s.name == "lucid_service_dependency_up"}
    assert up == {"database": 1, "redis": 1}  # disabled is neither up nor down
    state = {s.labels["state"]: s.value for s in samples
             if s.name == "lucid_service_dependency_state" and s.labels["dependency"] == "hardware_wallet"}
    assert state == {"disabled": 1}  # the current state only, one of DEPENDENCY_STATES
    assert all(s.labels["state"] in DEPENDENCY_STATES for s in samples if "state" in s.labels)


def test_healthy_with_a_database_error_is_degraded_with_the_dependency_at_0() -> None:
    """A body that says healthy beside a dependency field in error (the issue's report) is degraded, the
    dependency at 0: the status is not believed over the dependency."""
    j = judge(body("healthy_with_database_error"), "application/json")
    assert j.verdict == "degraded" and "error: ServerSelectionTimeoutError" in j.detail
    samples = dependency_samples("some-service", j.dependencies)
    assert [(s.labels["dependency"], s.value) for s in samples if s.name == "lucid_service_dependency_up"] == [
        ("database", 0.0)]


def test_the_wallet_manager_with_a_database_error_is_unhealthy_with_the_dependency_at_0() -> None:
    """The real wallet manager says unhealthy beside ``database: "error: ..."`` (with HTTP 200:
    wallet_manager_main.py computes a 503 and never uses it)."""
    j = judge(body("wallet_manager_database_error"), "application/json")
    assert j.verdict == "unhealthy"
    assert [(d.name, d.state, d.raw.startswith("error: ServerSelectionTimeoutError")) for d in j.dependencies] == [
        ("database", "error", True)]
    samples = dependency_samples("wallet-manager", j.dependencies)
    assert [(s.labels["dependency"], s.value) for s in samples if s.name == "lucid_service_dependency_up"] == [
        ("database", 0.0)]
    assert deps("wallet_manager_healthy") == {"database": "ok"}  # "connected"
    assert judge(body("wallet_manager_not_initialized"), "application/json").verdict == "unhealthy"


def test_maps_of_services_and_integrations_are_dependencies_too() -> None:
    assert deps("session_controller_integrations") == {
        "recorder": "error", "processor": "down", "xrdp": "ok", "server_manager": "ok", "monitor": "ok"}
    assert judge(body("session_controller_integrations"), "application/json").verdict == "degraded"
    assert deps("session_controller_integrations_failed") == {"integrations": "error"}
    assert deps("session_storage_unhealthy") == {"session_storage": "ok", "chunk_store": "down"}
    assert judge(body("session_storage_unhealthy"), "application/json").verdict == "unhealthy"
    tron = deps("tron_combined_degraded")
    assert tron["tron_network"] == "degraded" and tron["mongodb"] == "ok" and tron["tron_client"] == "ok"
    assert judge(body("tron_combined_degraded"), "application/json").verdict == "degraded"


def test_always_healthy_bodies_and_odd_statuses() -> None:
    assert judge(body("admin_healthy"), "application/json").verdict == "healthy"
    assert judge(body("pipeline_healthy"), "application/json").verdict == "healthy"
    assert judge(body("chunk_processor_stopped"), "application/json").verdict == "unhealthy"  # "stopped"


@pytest.mark.parametrize(("raw", "state"), [
    (True, "ok"), (False, "down"), ("available", "ok"), ("connected", "ok"), ("error: boom", "error"),
    ("ERROR", "error"), ("unavailable", "unavailable"), ("disabled", "disabled"), ("not_initialized", "down"),
    ({"status": "unhealthy", "error": "x"}, "down"), ({"error": "refused"}, "error"), ("weird", "unknown"),
    ({"response_time": 3}, None), (12, None), (None, None),
])
def test_dependency_values(raw: object, state: str | None) -> None:
    assert dependency_state(raw) == state


def test_the_reason_of_a_refusal_is_quoted_short_and_printable() -> None:
    assert refusal_text(b"Invalid host header", "text/plain; charset=utf-8") == "Invalid host header"
    assert refusal_text(b'{"detail": "Not Found"}', "application/json") == "Not Found"
    assert refusal_text(b'{"error": {"code": "LUCID_ERR_5000", "message": "Internal\\nerror"}}',
                        "application/json") == "Internal error"
    assert refusal_text(b"<html>...</html>", "text/html") == ""
