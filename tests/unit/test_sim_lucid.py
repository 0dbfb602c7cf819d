"""The sim's ``lucid`` personality answers as the real Lucid code does, without sockets: its health
bodies against the contracts' JSON Schemas (shared/lucid-contracts), and its quirks against the facts
read from the public code (docs/lucid-real-api.md): tuple bodies with HTTP 200, the auth
service's dependency map, the blockchain API's 500 without credentials and its /blocks/latest route-order
404, rate-limit headers only on the gateway's 429, the event loop's clock as ``timestamp``,
/admin/health behind TRUSTED_HOSTS, and the fault kinds that the real answers cannot express."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lucid_sim import faults as sim_faults
from lucid_sim import world as guide_world
from lucid_sim.catalogue import default_catalogue
from lucid_sim.faults import FaultError
from lucid_sim.real import RealServices, RealWorld, Reply, Req, attach, exporter_config, faults, stack_options
from lucid_sim.real.state import API_KEY_API, API_KEY_READONLY, GATEWAY_RATE_LIMIT
from lucid_sim.stack import SimStack

# The contracts are the upstream author's files without a licence: read where they are kept (beside the
# clone, or LUCID_CONTRACTS_DIR), never copied here. What the tests need of them is summarised below in
# our own terms (required keys, allowed keys, status values), so the tests mean the same with or without
# the directory; where it is at hand, the summary is checked against it.
_ROOT = Path(__file__).resolve().parents[2]
CONTRACT_DIRS = [Path(p) for p in (os.environ.get("LUCID_CONTRACTS_DIR"),) if p] + [
    _ROOT.parent / "shared" / "lucid-contracts", _ROOT.parent.parent / "shared" / "lucid-contracts"]
CONTRACTS = next((d for d in CONTRACT_DIRS if d.is_dir()), None)
_COMMON = ("status", "service", "version", "timestamp")
# contract -> (required keys, other allowed keys, allowed status values); extra keys are refused.
HEALTH_SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "node-management": (_COMMON, ("active_nodes", "max_nodes_per_pool", "payout_threshold_usdt"), ("healthy",)),
    "rdp-resource-monitor": ((*_COMMON, "active_sessions"), (), ("healthy",)),
    "rdp-xrdp": ((*_COMMON, "active_processes", "max_processes"), (), ("healthy",)),
    "session-api": (("status", "timestamp"), ("error", "services"), ("healthy", "unhealthy")),
    "admin-interface": (("status", "timestamp", "service"), ("version", "uptime_seconds", "dependencies", "system"),
                        ("healthy", "degraded", "unhealthy")),
    "rdp-session-controller": (_COMMON, (), ("healthy",)),
}
KNOWN = set(default_catalogue())
SLOT = 1.0


class Lucid:
    """A lucid-personality stack that is never started: its services answer through ``get``."""

    def __init__(self) -> None:
        self.stack = SimStack(**stack_options(KNOWN))
        self.world = RealWorld(slot_seconds=SLOT)
        self.services: RealServices = attach(self.stack, self.world)

    def fault(self, service: str, kind: str) -> None:
        self.stack.faults.add(service, kind)

    def get(self, service: str, path: str, method: str = "GET", client: str = "10.0.0.7", **headers: str) -> Reply:
        return self.services.answer(service, Req(method, path, {k.replace("_", "-"): v for k, v in headers.items()},
                                                 client))


@pytest.fixture
def lucid() -> Lucid:
    return Lucid()


def _schema(name: str) -> dict[str, Any]:
    """The health body's shape: the contract's own schema where it is at hand, else our summary of it."""
    if CONTRACTS is not None:
        schema: dict[str, Any] = json.loads((CONTRACTS / f"{name}.health.schema.json").read_text())
        return schema
    required, optional, statuses = HEALTH_SHAPES[name]
    props: dict[str, Any] = {k: {} for k in (*required, *optional)}
    props["status"] = {"type": "string", "enum": list(statuses)}
    return {"type": "object", "required": list(required), "properties": props, "additionalProperties": False}


def test_the_shape_summaries_match_the_contracts() -> None:
    """Our summary of each contract holds its required keys, allowed keys and status values (checked
    against the contract files where they are at hand; without them the summary is the reference)."""
    for name, (required, optional, statuses) in HEALTH_SHAPES.items():
        assert set(required) >= {"status", "timestamp"} and statuses
        if CONTRACTS is None:
            continue
        schema = json.loads((CONTRACTS / f"{name}.health.schema.json").read_text())
        assert set(schema["required"]) == set(required), name
        assert set(schema["properties"]) == {*required, *optional}, name
        assert schema["properties"]["status"]["enum"] == list(statuses), name
        assert schema.get("additionalProperties") is False, name


def _valid(body: Any, schema: dict[str, Any]) -> list[str]:
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(body)]


# -- health bodies against the contracts ------------------------------------------------------------
@pytest.mark.parametrize(("service", "path", "contract"), [
    ("node-management", "/health", "node-management"),
    ("resource-monitor", "/health", "rdp-resource-monitor"),
    ("xrdp", "/health", "rdp-xrdp"),
    ("session-api", "/health", "session-api"),
    ("admin-interface", "/admin/health", "admin-interface"),
])
def test_a_healthy_service_answers_the_body_its_contract_describes(lucid: Lucid, service: str, path: str,
                                                                   contract: str) -> None:
    reply = lucid.get(service, path, Host="lucid-admin-interface:8120")
    assert reply.status == 200
    assert _valid(reply.json(), _schema(contract)) == []


@pytest.mark.parametrize("kind", ["database_down", "unhealthy", "not_initialized"])
def test_an_unhealthy_session_api_still_answers_200_with_a_body_its_contract_allows(lucid: Lucid, kind: str) -> None:
    lucid.fault("session-api", kind)
    reply = lucid.get("session-api", "/health")
    assert reply.status == 200
    assert reply.json()["status"] == "unhealthy"
    assert _valid(reply.json(), _schema("session-api")) == []


def test_the_session_controller_breaks_its_own_schema_with_its_integrations_map(lucid: Lucid) -> None:
    # The code wins over the contract: the schema forbids extra properties, the handler adds integrations
    # (and only logs the validation failure).
    body = lucid.get("session-controller", "/health").json()
    schema = _schema("rdp-session-controller")
    assert any("integrations" in e for e in _valid(body, schema))
    assert _valid({k: v for k, v in body.items() if k != "integrations"}, schema) == []


def test_the_session_controller_stays_healthy_while_its_peers_fail(lucid: Lucid) -> None:
    lucid.fault("session-recorder", "down")
    lucid.fault("xrdp", "not_initialized")
    body = lucid.get("session-controller", "/health").json()
    assert body["status"] == "healthy"
    assert body["integrations"]["recorder"] == {"status": "unhealthy",
                                                "error": "Request failed: All connection attempts failed"}
    assert body["integrations"]["xrdp"]["status"] == "unhealthy"
    assert body["integrations"]["processor"]["status"] == "healthy"  # a peer's own /health body


# -- auth-service: a dependency map, always HTTP 200 ------------------------------------------------
def test_the_auth_service_is_healthy_with_its_three_dependencies(lucid: Lucid) -> None:
    reply = lucid.get("auth-service", "/health")
    assert reply.status == 200
    body = reply.json()
    assert body["status"] == "healthy"
    assert body["dependencies"] == {"database": True, "redis": True, "hardware_wallet": "available"}
    assert "T" in body["timestamp"] and not body["timestamp"].endswith(("Z", "+00:00"))  # naive utcnow()


@pytest.mark.parametrize(("kind", "dependency"), [("database_down", "database"), ("redis_down", "redis")])
def test_mongodb_or_redis_down_makes_the_auth_service_degraded_still_with_200(lucid: Lucid, kind: str,
                                                                              dependency: str) -> None:
    lucid.fault("auth-service", kind)
    reply = lucid.get("auth-service", "/health")
    assert reply.status == 200
    assert reply.json()["status"] == "degraded"
    assert reply.json()["dependencies"][dependency] is False


@pytest.mark.parametrize(("kind", "state"), [("hardware_wallet_unavailable", "unavailable"),
                                             ("hardware_wallet_error", "error"),
                                             ("hardware_wallet_disabled", "disabled")])
def test_the_hardware_wallet_never_changes_the_auth_status(lucid: Lucid, kind: str, state: str) -> None:
    lucid.fault("auth-service", kind)
    body = lucid.get("auth-service", "/health").json()
    assert body["status"] == "healthy"
    assert body["dependencies"]["hardware_wallet"] == state


def test_the_auth_limiter_counts_every_path_of_a_client_and_sends_its_headers_always(lucid: Lucid) -> None:
    if 60 - time.time() % 60 < 1:  # its windows are wall-clock minutes: start this one well inside one
        time.sleep(1.1)
    for i in range(60):
        reply = lucid.get("auth-service", "/health")
        assert reply.status == 200
        assert reply.headers["X-RateLimit-Limit"] == "60"
        assert reply.headers["X-RateLimit-Remaining"] == str(59 - i)
    refused = lucid.get("auth-service", "/health")
    assert refused.status == 429
    assert refused.json()["error"]["code"] == "LUCID_ERR_3001"
    assert refused.headers["X-RateLimit-Remaining"] == "0" and "Retry-After" in refused.headers
    lucid.stack.clock.advance(60)  # the next minute: a new counter
    assert lucid.get("auth-service", "/health").status == 200


def test_without_redis_the_auth_limiter_fails_open_and_sends_no_headers(lucid: Lucid) -> None:
    lucid.fault("auth-service", "redis_down")
    replies = [lucid.get("auth-service", "/health") for _ in range(70)]
    assert {r.status for r in replies} == {200}
    assert not any("X-RateLimit-Limit" in r.headers for r in replies)


def test_the_auth_service_refuses_every_token_and_has_no_get_verify(lucid: Lucid) -> None:
    verify = lucid.get("auth-service", "/auth/verify", "POST", Authorization=f"Bearer {lucid.world.token}")
    assert (verify.status, verify.json()) == (401, {"detail": "Invalid token"})
    guide_path = lucid.get("auth-service", "/verify")
    assert (guide_path.status, guide_path.json()) == (404, {"detail": "Not Found"})
    assert guide_path.headers["X-RateLimit-Limit"] == "100"  # the public tier


# -- api-gateway: X-RateLimit-* only on the 429 -----------------------------------------------------
def test_the_gateway_sends_rate_limit_headers_only_on_the_refusal(lucid: Lucid) -> None:
    allowed = [lucid.get("api-gateway", "/api/v1/test") for _ in range(GATEWAY_RATE_LIMIT)]
    # The guide's /api/v1/test is a 404, whose handler crashes: uvicorn's plain-text 500.
    assert {(r.status, r.text) for r in allowed} == {(500, "Internal Server Error")}
    assert not any(h.startswith("X-RateLimit") for r in allowed for h in r.headers)
    refused = lucid.get("api-gateway", "/api/v1/test")
    assert refused.status == 429
    assert refused.json() == {"error": {"code": "LUCID_ERR_3001",
                                        "message": f"Rate limit exceeded. Try again in "
                                                   f"{refused.headers['Retry-After']} seconds."}}
    assert refused.headers["X-RateLimit-Limit"] == str(GATEWAY_RATE_LIMIT)
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert "X-Request-ID" not in refused.headers  # the refusal never reaches the logging layer
    health = lucid.get("api-gateway", "/health")  # exempt
    assert (health.status, health.json()) == (200, {"status": "healthy", "service": "api-gateway"})
    lucid.stack.clock.advance(61)
    assert lucid.get("api-gateway", "/api/v1/test").status == 500


def test_a_gateway_without_its_limiter_never_refuses(lucid: Lucid) -> None:
    lucid.fault("api-gateway", "rate_limiter_off")
    assert {lucid.get("api-gateway", "/api/v1/test").status for _ in range(150)} == {500}


def test_the_gateway_refuses_a_bad_bearer_before_counting(lucid: Lucid) -> None:
    reply = lucid.get("api-gateway", "/api/v1/users/me", Authorization="Bearer not-a-jwt")
    assert reply.status == 401 and reply.json()["error"]["code"] == "LUCID_ERR_2001"
    malformed = lucid.get("api-gateway", "/api/v1/users/me", Authorization="Token abc")
    assert malformed.json()["error"]["message"] == "Invalid authorization header format"


def test_the_gateway_answers_preflights_as_starlette_does(lucid: Lucid) -> None:
    ok = lucid.get("api-gateway", "/api/v1/test", "OPTIONS", Origin="http://localhost:3000",
                   Access_Control_Request_Method="GET", Access_Control_Request_Headers="authorization")
    assert (ok.status, ok.text) == (200, "OK")
    assert ok.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert ok.headers["Access-Control-Allow-Methods"] == "GET, POST, PUT, PATCH, DELETE"
    assert ok.headers["Access-Control-Allow-Headers"] == "authorization"
    stranger = lucid.get("api-gateway", "/api/v1/test", "OPTIONS", Origin="https://evil.example",
                         Access_Control_Request_Method="GET")
    assert (stranger.status, stranger.text) == (400, "Disallowed CORS origin")
    assert "Access-Control-Allow-Origin" not in stranger.headers
    head = lucid.get("api-gateway", "/api/v1/test", "OPTIONS", Origin="http://localhost:3000",
                     Access_Control_Request_Method="HEAD")
    assert (head.status, head.text) == (400, "Disallowed CORS method")
    lucid.fault("api-gateway", "cors_origin_rejected")
    refused = lucid.get("api-gateway", "/api/v1/test", "OPTIONS", Origin="http://localhost:3000",
                        Access_Control_Request_Method="GET")
    assert (refused.status, refused.text) == (400, "Disallowed CORS origin")


# -- blockchain API: credentials in two layers, 500 on refusal, constants ---------------------------
def test_the_blockchain_api_answers_500_without_credentials(lucid: Lucid) -> None:
    reply = lucid.get("blockchain-engine", "/api/v1/consensus/status")
    assert reply.status == 500
    body = reply.json()
    assert {k: body[k] for k in ("error", "message")} == {"error": "Internal server error",
                                                         "message": "An unexpected error occurred"}
    assert abs(body["timestamp"] - time.time()) < 5  # epoch seconds, a float


def test_the_blockchain_api_wants_a_bearer_and_the_key_in_both_headers(lucid: Lucid) -> None:
    key_only = lucid.get("blockchain-engine", "/api/v1/chain/height", X_API_Key=API_KEY_READONLY)
    assert (key_only.status, key_only.json()) == (401, {"detail": "Not authenticated"})
    both = lucid.get("blockchain-engine", "/api/v1/chain/height", Authorization="Bearer x",
                     X_API_Key=API_KEY_READONLY, api_key=API_KEY_READONLY)
    assert both.status == 200 and both.json()["height"] == 12345
    bearer_without_key = lucid.get("blockchain-engine", "/api/v1/chain/height", Authorization="Bearer x")
    assert bearer_without_key.status == 500
    # API_KEY_API passes the route dependency but not the middleware.
    api_key = lucid.get("blockchain-engine", "/api/v1/chain/height", Authorization="Bearer x",
                        X_API_Key=API_KEY_API, api_key=API_KEY_API)
    assert api_key.status == 500
    # The sim's token alone (a JWT signed with SECRET_KEY, user_id readonly_user) passes both layers.
    token = lucid.get("blockchain-engine", "/api/v1/chain/height", Authorization=f"Bearer {lucid.world.token}")
    assert token.status == 200


def test_blocks_latest_is_shadowed_by_the_block_id_route(lucid: Lucid) -> None:
    auth = {"Authorization": f"Bearer {lucid.world.token}"}
    latest = lucid.get("blockchain-engine", "/api/v1/blocks/latest", **auth)
    assert latest.status == 404
    assert latest.json() == {"detail": {"error": "Block not found: latest", "error_code": "BLOCK_001",
                                        "additional_info": {"block_id": "latest"}}}
    assert lucid.get("blockchain-engine", "/api/v1/blocks/height/12345", **auth).json()["height"] == 12345


def test_the_blockchain_values_are_constants_that_cannot_show_a_stall(lucid: Lucid) -> None:
    auth = {"Authorization": f"Bearer {lucid.world.token}"}
    before = lucid.get("blockchain-engine", "/api/v1/consensus/status", **auth).json()
    lucid.stack.clock.advance(3600)
    after = lucid.get("blockchain-engine", "/api/v1/consensus/status", **auth).json()
    assert before["block_height"] == after["block_height"] == 12345
    assert before["current_round"] == after["current_round"] == 12345
    anchoring = lucid.get("session-anchoring", "/api/v1/anchoring/status", **auth).json()
    assert anchoring == {"status": "healthy", "pending_anchorings": 5, "processing_anchorings": 2,
                         "completed_today": 150, "average_confirmation_time": 30.5}
    participants = lucid.get("blockchain-engine", "/api/v1/consensus/participants", **auth).json()
    assert (participants["total_count"], participants["active_count"]) == (25, 23)
    assert {p["status"] for p in participants["participants"]} == {"active", "standby"}


def test_a_blockchain_rate_limit_refusal_is_a_500_too(lucid: Lucid) -> None:
    auth = {"Authorization": f"Bearer {lucid.world.token}"}
    allowed = [lucid.get("session-anchoring", "/api/v1/anchoring/status", **auth) for _ in range(50)]
    assert {r.status for r in allowed} == {200}
    # X-RateLimit-Limit is remaining + 1, as the middleware writes it.
    assert allowed[0].headers["X-RateLimit-Limit"] == "50" and allowed[-1].headers["X-RateLimit-Limit"] == "1"
    refused = lucid.get("session-anchoring", "/api/v1/anchoring/status", **auth)
    assert refused.status == 500 and refused.json()["error"] == "Internal server error"
    # One process per container: the engine's limiter has its own counters.
    assert lucid.get("blockchain-engine", "/api/v1/anchoring/status", **auth).status == 200


def test_the_engine_and_the_anchoring_service_give_the_same_health(lucid: Lucid) -> None:
    engine = lucid.get("blockchain-engine", "/health")
    anchoring = lucid.get("session-anchoring", "/health")
    assert engine.json() == anchoring.json() == {"status": "healthy", "service": "lucid-blockchain-api"}


# -- sessions: the event loop's clock, a dict of pipelines -------------------------------------------
@pytest.mark.parametrize("service", ["session-pipeline", "session-recorder"])
def test_the_timestamp_is_the_event_loops_monotonic_clock(lucid: Lucid, service: str) -> None:
    first = lucid.get(service, "/health").json()["timestamp"]
    assert isinstance(first, float)
    assert abs(first - time.monotonic()) < 5 and abs(first - time.time()) > 1e6  # not an epoch time
    lucid.stack.clock.advance(100)
    assert lucid.get(service, "/health").json()["timestamp"] >= first + 100


def test_the_pipeline_status_is_a_dict_keyed_by_session_with_the_real_states(lucid: Lucid) -> None:
    lucid.stack.clock.advance(20 * SLOT)
    status = lucid.get("session-pipeline", "/status").json()
    pipelines = status["active_pipelines"]
    assert isinstance(pipelines, dict) and status["total_pipelines"] == len(pipelines) > 0
    real_states = {"created", "starting", "active", "pausing", "paused", "stopping", "stopped", "error", "cleanup",
                   "destroyed"}
    assert {p["state"] for p in pipelines.values()} <= real_states
    assert "active" in {p["state"] for p in pipelines.values()}
    unknown = lucid.get("session-pipeline", "/pipelines/nope/status")
    assert (unknown.status, unknown.json()) == (500, {"detail": "Failed to get pipeline status"})


def test_a_stuck_pipeline_changes_no_state_and_processes_no_chunk(lucid: Lucid) -> None:
    lucid.stack.clock.advance(20 * SLOT)
    lucid.fault("session-pipeline", "pipeline_stuck")
    before = lucid.get("session-pipeline", "/status").json()["active_pipelines"]
    metrics_before = lucid.get("session-pipeline", "/metrics").json()
    lucid.stack.clock.advance(8 * SLOT)
    after = lucid.get("session-pipeline", "/status").json()["active_pipelines"]
    assert {sid: p["state"] for sid, p in after.items() if sid in before} == {
        sid: p["state"] for sid, p in before.items()}
    new = [p["state"] for sid, p in after.items() if sid not in before]
    assert new and set(new) == {"created"}  # new pipelines are created and never start
    assert lucid.get("session-pipeline", "/metrics").json()["stage_metrics"] == metrics_before["stage_metrics"]
    lucid.stack.faults.clear("session-pipeline", "pipeline_stuck")
    lucid.stack.clock.advance(2 * SLOT)
    moved = lucid.get("session-pipeline", "/status").json()["active_pipelines"]
    assert any(moved[sid]["state"] != p["state"] for sid, p in after.items() if sid in moved)


def test_a_stopped_chunk_processor_answers_200_with_status_stopped(lucid: Lucid) -> None:
    lucid.fault("chunk-processor", "processor_stopped")
    reply = lucid.get("chunk-processor", "/health")
    assert reply.status == 200
    assert (reply.json()["status"], reply.json()["is_running"]) == ("stopped", False)
    lucid.stack.faults.clear()
    lucid.fault("chunk-processor", "not_initialized")
    assert lucid.get("chunk-processor", "/health").status == 503


def test_the_chunk_queue_grows_and_failures_count_up_in_the_processor_metrics(lucid: Lucid) -> None:
    lucid.fault("chunk-processor", "chunk_queue_growing")
    lucid.fault("chunk-processor", "encryption_failure")
    before = lucid.get("chunk-processor", "/metrics").json()["metrics"]
    lucid.stack.clock.advance(60)
    after = lucid.get("chunk-processor", "/metrics").json()["metrics"]
    assert after["queue_size"] > before["queue_size"] + 100
    assert after["chunks_failed"] > before["chunks_failed"] + 100
    assert after["chunks_processed"] == before["chunks_processed"]


def test_unhealthy_storage_still_answers_200(lucid: Lucid) -> None:
    lucid.fault("session-storage", "unhealthy")
    reply = lucid.get("session-storage", "/health")
    assert reply.status == 200
    assert reply.json()["status"] == "unhealthy"
    assert reply.json()["services"]["chunk_store"]["space_healthy"] is False


# -- rdp and nodes --------------------------------------------------------------------------------
def test_the_rdp_manager_is_healthy_even_before_init_with_zero_ports(lucid: Lucid) -> None:
    lucid.fault("rdp-manager", "not_initialized")
    body = lucid.get("rdp-manager", "/health").json()
    assert body["status"] == "healthy"
    assert (body["active_servers"], body["max_servers"], body["available_ports"]) == (0, 50, 0)


def test_node_management_lists_nodes_as_a_top_level_array_and_its_metrics_always_fail(lucid: Lucid) -> None:
    nodes = lucid.get("node-management", "/nodes").json()
    assert isinstance(nodes, list) and len(nodes) == 8
    assert lucid.get("node-management", "/health").json()["active_nodes"] == 0  # always 0
    assert lucid.get("node-management", "/metrics").status == 500
    lucid.fault("node-management", "node_deregistered")
    assert len(lucid.get("node-management", "/nodes").json()) == 7


def test_poot_is_per_node_and_calculate_all_is_shadowed(lucid: Lucid) -> None:
    node = lucid.get("node-management", "/nodes").json()[0]["node_id"]
    proof = lucid.get("node-management", f"/poot/{node}").json()
    assert 0.5 < proof["confidence_score"] <= 1.0
    assert lucid.get("node-management", "/poot/calculate-all").json() == {"detail": "PoOT proof not found"}
    lucid.fault("node-management", "poot_collapsed")
    assert lucid.get("node-management", f"/poot/{node}").json()["confidence_score"] == 0.02


# -- admin-interface: /admin/health behind TRUSTED_HOSTS -----------------------------------------
def test_the_admin_health_is_at_admin_health_and_health_is_404(lucid: Lucid) -> None:
    host = {"Host": "lucid-admin-interface:8120"}
    assert lucid.get("admin-interface", "/admin/health", **host).json()["service"] == "lucid-admin-interface"
    assert lucid.get("admin-interface", "/health", **host).json() == {"detail": "Not Found"}


def test_the_admin_refuses_a_host_it_does_not_trust(lucid: Lucid) -> None:
    stranger = lucid.get("admin-interface", "/admin/health", Host="admin.example:8120")
    assert (stranger.status, stranger.text, stranger.content_type) == (400, "Invalid host header",
                                                                        "text/plain; charset=utf-8")
    lucid.fault("admin-interface", "trusted_hosts_unset")
    assert lucid.get("admin-interface", "/admin/health", Host="lucid-admin-interface").status == 400


def test_the_admin_dashboard_needs_its_session_token_and_the_permission(lucid: Lucid) -> None:
    host = {"Host": "127.0.0.1:8120"}
    assert lucid.get("admin-interface", "/admin/api/v1/dashboard/overview", **host).status == 401
    token = {"Authorization": f"Bearer {lucid.world.token}"}
    assert lucid.get("admin-interface", "/admin/api/v1/dashboard/overview", **host, **token).status == 200
    lucid.fault("admin-interface", "rbac_roles_missing")
    refused = lucid.get("admin-interface", "/admin/api/v1/dashboard/overview", **host, **token)
    assert (refused.status, refused.json()) == (403, {"detail": "Permission denied: dashboard:view"})


# -- TRON -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "status", "initialised"), [("tuple_unhealthy", "unhealthy", False),
                                                             ("tuple_degraded", "degraded", True)])
def test_a_standalone_tron_app_sends_a_python_tuple_with_http_200(lucid: Lucid, kind: str, status: str,
                                                                  initialised: bool) -> None:
    lucid.fault("payout-router", kind)
    reply = lucid.get("payout-router", "/health")
    assert reply.status == 200
    body = reply.json()
    assert isinstance(body, list) and body[1] == 503
    assert body[0]["status"] == status and body[0]["service_initialized"] is initialised
    assert reply.payload().startswith(b'[{"status":')


def test_the_combined_tron_app_is_503_when_tron_is_unreachable(lucid: Lucid) -> None:
    assert lucid.get("tron-client", "/health").status == 200
    network = lucid.get("tron-client", "/api/v1/tron/network/status").json()
    assert network["status"] == "connected" and network["block_timestamp"] > 1e12  # milliseconds
    lucid.fault("tron-client", "tron_unreachable")
    health = lucid.get("tron-client", "/health")
    assert health.status == 503
    assert health.json()["dependencies"]["tron_network"]["status"] == "unhealthy"
    assert lucid.get("tron-client", "/api/v1/tron/network/status").status == 500
    assert lucid.get("tron-client", "/api/v1/tron/network/health").json()["status"] == "unhealthy"


def test_the_usdt_balance_is_the_constant_mock(lucid: Lucid) -> None:
    wallet = guide_world.WALLETS[0]
    assert lucid.get("usdt-manager", f"/api/v1/tron/usdt/balance/{wallet}").json()["balance_usdt"] == 1000.0
    assert lucid.get("usdt-manager", "/api/v1/tron/usdt/balance/not-an-address").status == 400
    assert lucid.get("usdt-manager", "/api/v1/usdt/balance").status == 404  # the guide's path


def test_the_wallet_manager_is_unhealthy_with_a_database_error_string_still_with_200(lucid: Lucid) -> None:
    lucid.fault("wallet-manager", "database_down")
    reply = lucid.get("wallet-manager", "/health")
    assert reply.status == 200
    body = reply.json()
    # The code sets status unhealthy beside the error string (wallet_manager_main.py).
    assert body["status"] == "unhealthy" and body["database"].startswith("error: ")


def test_the_wallets_list_sits_at_the_double_prefixed_path(lucid: Lucid) -> None:
    listing = lucid.get("wallet-manager", "/api/v1/tron/api/v1/tron/wallets/").json()
    assert listing["total_count"] == len(listing["wallets"]) == 3
    redirect = lucid.get("wallet-manager", "/api/v1/tron/api/v1/tron/wallets", Host="tron-wallet-manager:8093")
    assert redirect.status == 307
    assert redirect.headers["Location"].endswith("/api/v1/tron/api/v1/tron/wallets/")
    lucid.fault("wallet-manager", "wallet_access_error")
    statuses = {w["status"] for w in lucid.get("wallet-manager", "/api/v1/tron/api/v1/tron/wallets/").json()["wallets"]}
    assert "locked" in statuses and statuses <= {"active", "inactive", "locked", "archived"}


# -- faults under the lucid personality -----------------------------------------------------------
def test_every_fault_kind_of_the_guide_has_a_meaning_under_the_lucid_personality() -> None:
    guide_kinds = set(guide_world.FAULT_KINDS) | set(sim_faults.DESCRIPTIONS)
    assert guide_kinds <= set(faults.KINDS)


def test_every_service_a_lucid_fault_kind_names_is_in_the_catalogue() -> None:
    for kind, (_, services) in faults.KINDS.items():
        if services != faults.ALL:
            assert set(services) <= KNOWN, kind


@pytest.mark.parametrize("kind", sorted(k for k, (_, s) in faults.KINDS.items() if not s))
def test_a_fault_the_real_answers_cannot_express_is_refused_with_its_reason(lucid: Lucid, kind: str) -> None:
    with pytest.raises(FaultError) as refused:
        lucid.fault("blockchain-engine", kind)
    message = str(refused.value)
    assert "not expressible" in message and "\n" not in message
    assert faults.descriptions()[kind].endswith("PUT answers 400")
    assert not lucid.stack.faults.active


@pytest.mark.parametrize(("service", "kind"), [("auth-service", "unhealthy"), ("api-gateway", "degraded"),
                                               ("tron-client", "degraded"), ("session-controller", "unhealthy"),
                                               ("tron-client", "tuple_unhealthy"), ("xrdp", "database_down")])
def test_a_fault_without_meaning_on_a_service_is_refused_in_one_line(lucid: Lucid, service: str, kind: str) -> None:
    with pytest.raises(FaultError) as refused:
        lucid.fault(service, kind)
    assert str(refused.value).startswith(f"{kind} on {service}: ") and "\n" not in str(refused.value)


def test_host_and_container_kinds_are_not_the_personalitys_to_refuse() -> None:
    assert faults.refusal("mongodb", "backup_stale") is None
    assert faults.refusal("api-gateway", "container_stopped") is None


@pytest.mark.parametrize(("service", "expected"), [
    ("api-gateway", "Internal Server Error"), ("auth-service", "LUCID_ERR_5000"),
    ("blockchain-engine", "An unexpected error occurred"), ("admin-interface", "LUCID_ADMIN_ERR_5000"),
    ("payout-router", '"status":"error"'), ("node-management", '{"detail":"Internal server error"}'),
])
def test_the_error_fault_answers_each_services_own_500(lucid: Lucid, service: str, expected: str) -> None:
    reply = lucid.services.error_reply(service)
    assert reply.status == 500 and expected in reply.payload().decode()


# -- what the sim writes for an exporter ----------------------------------------------------------
def test_the_written_config_gives_the_real_health_paths_and_a_token_the_blockchain_api_takes(lucid: Lucid) -> None:
    cfg = exporter_config(lucid.world, lucid.stack)
    assert cfg["services"]["admin-interface"] == {"health_path": "/admin/health"}
    token = cfg["status"]["token"]
    assert lucid.get("blockchain-engine", "/api/v1/consensus/status", Authorization=f"Bearer {token}").status == 200
    assert lucid.get("admin-interface", "/admin/api/v1/dashboard/overview", Host="127.0.0.1",
                     Authorization=f"Bearer {token}").status == 200


def test_the_token_expires_on_the_sims_clock() -> None:
    lucid = Lucid()
    lucid.stack.clock.advance(lucid.world.token_ttl + 1)
    assert lucid.get("blockchain-engine", "/api/v1/consensus/status",
                     Authorization=f"Bearer {lucid.world.token}").status == 500
