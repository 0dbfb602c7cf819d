"""``lucid-sim --profile lucid`` over HTTP: the quirks of the real Lucid code as a client meets them
(a tuple body with HTTP 200, the auth service's degraded dependency map, /blocks/latest answering 404,
the admin interface's /admin/health, rate-limit headers only on the gateway's 429, the event loop's
clock as a timestamp), the control port listing this personality's fault kinds and refusing the
ones the real answers cannot express, and a config that today's exporter accepts."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from ..conftest import Sim, start_sim
from ..support import EXPORTER, http_get, http_send

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lucid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    sim = start_sim(tmp_path_factory.mktemp("sim-lucid"), profile="lucid")
    yield sim
    sim.proc.stop()


@pytest.fixture(autouse=True)
def _clear(lucid: Sim) -> Iterator[None]:
    yield
    lucid.clear()


def _url(sim: Sim, service: str) -> str:
    return str(sim.config["services"][service]["url"])


def _get(sim: Sim, service: str, path: str, **headers: str) -> tuple[int, Any]:
    status, body = http_get(_url(sim, service) + path, headers=headers)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def _headers(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of a request: the quirks here are in the headers."""
    req = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def test_the_control_port_lists_the_lucid_personalitys_fault_kinds(lucid: Sim) -> None:
    status, body = http_get(f"{lucid.control}/")
    index = json.loads(body)
    assert status == 200 and index["profile"] == "lucid"
    for kind in ("tuple_unhealthy", "database_down", "redis_down", "hardware_wallet_unavailable", "not_initialized",
                 "trusted_hosts_unset", "consensus_stall", "down", "backup_stale"):
        assert kind in index["fault_kinds"], kind
    assert index["fault_services"]["tuple_unhealthy"] == ["payment-gateway", "payout-router", "trx-staking",
                                                           "usdt-manager"]
    assert index["fault_services"]["consensus_stall"] == []
    assert "PUT answers 400" in index["fault_kinds"]["consensus_stall"]


@pytest.mark.parametrize(("service", "kind", "reason"), [
    ("blockchain-engine", "consensus_stall", "not expressible: the real blockchain API answers constants"),
    ("auth-service", "unhealthy", "the real auth service never answers unhealthy"),
])
def test_a_fault_the_real_code_cannot_show_is_refused_with_its_reason(lucid: Sim, service: str, kind: str,
                                                                      reason: str) -> None:
    status, body = http_send(f"{lucid.control}/faults/{service}/{kind}", "PUT")
    assert status == 400
    error = json.loads(body)["error"]
    assert error.startswith(f"{kind} on {service}: {reason}") and "\n" not in error
    assert json.loads(http_get(f"{lucid.control}/faults")[1]) == {}


def test_a_tron_standalone_app_answers_a_tuple_with_http_200(lucid: Sim) -> None:
    lucid.fault("payout-router", "tuple_unhealthy")
    status, body = _get(lucid, "payout-router", "/health")
    assert status == 200
    assert isinstance(body, list) and body[1] == 503 and body[0]["status"] == "unhealthy"


def test_the_auth_service_is_degraded_with_200_when_mongodb_is_down(lucid: Sim) -> None:
    lucid.fault("auth-service", "database_down")
    status, headers, text = _headers(_url(lucid, "auth-service") + "/health")
    body = json.loads(text)
    assert status == 200
    assert body["status"] == "degraded"
    assert body["dependencies"] == {"database": False, "redis": True, "hardware_wallet": "available"}
    assert headers["X-RateLimit-Limit"] == "60"


def test_the_blockchain_api_wants_credentials_and_shadows_blocks_latest(lucid: Sim) -> None:
    status, body = _get(lucid, "blockchain-engine", "/api/v1/consensus/status")
    assert status == 500 and body["error"] == "Internal server error"
    token = {"Authorization": f"Bearer {lucid.config['status']['token']}"}
    status, body = _get(lucid, "blockchain-engine", "/api/v1/consensus/status", **token)
    assert status == 200 and body["block_height"] == 12345
    status, body = _get(lucid, "blockchain-engine", "/api/v1/blocks/latest", **token)
    assert status == 404 and body["detail"]["error_code"] == "BLOCK_001"


def test_the_admin_health_is_at_admin_health(lucid: Sim) -> None:
    assert lucid.config["services"]["admin-interface"]["health_path"] == "/admin/health"
    status, body = _get(lucid, "admin-interface", "/admin/health")
    assert status == 200 and body["service"] == "lucid-admin-interface"
    assert _get(lucid, "admin-interface", "/health") == (404, {"detail": "Not Found"})
    lucid.fault("admin-interface", "trusted_hosts_unset")
    assert _get(lucid, "admin-interface", "/admin/health") == (400, "Invalid host header")


def test_the_gateway_sends_rate_limit_headers_only_once_it_refuses(lucid: Sim) -> None:
    url = _url(lucid, "api-gateway") + "/api/v1/test"
    seen = [_headers(url) for _ in range(100)]
    assert {status for status, _, _ in seen} == {500}
    assert not any(h.lower().startswith("x-ratelimit") for _, headers, _ in seen for h in headers)
    status, headers, body = _headers(url)
    assert status == 429
    assert headers["X-RateLimit-Remaining"] == "0" and int(headers["X-RateLimit-Limit"]) == 100
    assert json.loads(body)["error"]["code"] == "LUCID_ERR_3001"
    lucid.advance(61)  # the window slides by: allowed again
    assert _headers(url)[0] == 500


def test_the_pipeline_timestamp_is_monotonic_and_moves_with_the_sims_clock(lucid: Sim) -> None:
    first = _get(lucid, "session-pipeline", "/health")[1]["timestamp"]
    clock = json.loads(http_get(f"{lucid.control}/clock")[1])
    assert isinstance(first, float) and first < clock["now_seconds"] / 2  # not an epoch time
    lucid.advance(100)
    assert _get(lucid, "session-pipeline", "/health")[1]["timestamp"] >= first + 100


def test_the_exporter_accepts_the_config_the_lucid_sim_writes(lucid: Sim) -> None:
    p = subprocess.run([*EXPORTER, "config", "--config", str(lucid.config_path)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert lucid.config["status"]["token"] not in p.stdout  # shown as a secret


def test_every_personality_keeps_the_control_port_and_the_clock(sim_any: Sim) -> None:
    index = json.loads(http_get(f"{sim_any.control}/")[1])
    assert index["profile"] == sim_any.profile
    status, body = http_send(f"{sim_any.control}/clock/advance?seconds=5", "POST")
    assert status == 200 and json.loads(body)["advanced_seconds"] >= 5
    # down: connection refused under both
    sim_any.fault("node-management", "down")
    with pytest.raises(OSError):
        http_get(_url(sim_any, "node-management") + "/health", timeout=3)
    sim_any.clear()
