"""Unit tests of the status check catalogue: pure extraction on recorded replies, config merge."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from lucid_exporter import config
from lucid_exporter.checks import (
    Check,
    Extraction,
    ShapeError,
    extract,
    extract_all,
    get_path,
    merge,
    profile_checks,
    to_timestamp,
)
from lucid_exporter.inventory import Service
from lucid_exporter.probes.auth_verify import jwt_expiry, verify_ok
from lucid_exporter.probes.gateway import cors_ok, rate_limit_samples
from lucid_exporter.probes.httpget import Reply

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "status"
DEFAULT_CHECKS = profile_checks()
CHECKS = {c.name: c for c in DEFAULT_CHECKS}
CHECKS_LUCID = {c.name: c for c in profile_checks("lucid")}


def load(name: str) -> Any:
    return json.loads((FIX / f"{name}.json").read_text())


def values(samples: list[Any]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value for s in samples}


def one(samples: list[Any], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and set(labels.items()) <= set(s.labels.items())]
    assert len(found) == 1, (name, labels, samples)
    return float(found[0])


# -- field paths and conversions ------------------------------------------------------------------
def test_field_paths_are_jmespath() -> None:
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}, "m": {"s1": {"state": "x"}, "s2": {"state": "y"}}}
    assert get_path(data, "a.b[1].c") == 2
    assert get_path(data, "a.b[0].c") == 1
    assert get_path(data, "length(values(m))") == 2
    with pytest.raises(ShapeError):
        get_path(data, "a.x")
    with pytest.raises(ShapeError):
        get_path(data, "a.b[5].c")
    with pytest.raises(ShapeError):  # a function on the wrong type is a reply of the wrong shape
        get_path(data, "length(a.b[0].c)")


def test_timestamps_iso_and_epoch_seconds_and_milliseconds() -> None:
    assert to_timestamp("2026-01-01T00:00:00Z", "f") == 1767225600.0
    assert to_timestamp("2026-01-01T01:00:00+01:00", "f") == 1767225600.0
    assert to_timestamp("2026-01-01T00:00:00", "f") == 1767225600.0  # naive is UTC
    assert to_timestamp(1767225600, "f") == 1767225600.0
    assert to_timestamp(1767225600000, "f") == 1767225600.0  # TronGrid: milliseconds
    with pytest.raises(ShapeError):
        to_timestamp("yesterday", "f")


@pytest.mark.parametrize("value", [40877.093, "40877.093", 0, "1970-01-01T11:21:17", 999_999_999])
def test_a_monotonic_clock_is_a_parse_failure_with_a_reason_not_a_1970_time(value: object) -> None:
    """The real pipeline's timestamp is its event loop's time (seconds since boot)."""
    with pytest.raises(ShapeError, match=r"is not a Unix time .*monotonic"):
        to_timestamp(value, "field 'timestamp'", now=1767225600)


def test_a_time_far_in_the_future_is_a_unit_error() -> None:
    now = 1767225600.0
    assert to_timestamp(now + 3600, "f", now=now) == now + 3600  # clock skew is fine
    with pytest.raises(ShapeError, match="future"):
        to_timestamp(now + 2 * 86400, "f", now=now)
    with pytest.raises(ShapeError, match="future"):
        to_timestamp(1767225600 * 10**9, "f", now=now)  # nanoseconds read as microseconds: year 2526
    with pytest.raises(ShapeError, match="finite"):
        to_timestamp(float("inf"), "f", now=now)


def test_a_remapped_monotonic_timestamp_fails_the_check_and_keeps_the_other_fields() -> None:
    check = Check(name="pipeline_sessions", service="session-pipeline", path="/status", metrics=[
        Extraction(metric="lucid_pipeline_active", field="total_pipelines"),
        Extraction(metric="lucid_pipeline_last_transition_timestamp_seconds", agg="timestamp", field="timestamp")])
    samples, problems = extract_all(check, {"total_pipelines": 3, "timestamp": 40912.441}, now=1767225600)
    assert [s.name for s in samples] == ["lucid_pipeline_active"]
    assert len(problems) == 1 and "'40912.441' is not a Unix time" in problems[0]


# -- default checks on recorded replies -------------------------------------------------------------
def test_consensus_status_gives_round_and_reached() -> None:
    samples, problems = extract_all(CHECKS["consensus_status"], load("consensus_status"))
    assert not problems
    assert one(samples, "lucid_consensus_round") == load("consensus_status")["current_round"]
    assert one(samples, "lucid_consensus_reached") == 1.0


def test_latest_block_gives_height_and_timestamp_not_age() -> None:
    body = load("blocks_latest")
    samples, problems = extract_all(CHECKS["blocks_latest"], body)
    assert not problems
    assert one(samples, "lucid_blockchain_block_height") == body["height"]
    assert one(samples, "lucid_blockchain_latest_block_timestamp_seconds") == to_timestamp(body["timestamp"], "")


def test_participants_counted_by_status_with_zero_states() -> None:
    samples, _ = extract_all(CHECKS["consensus_participants"], load("consensus_participants"))
    assert one(samples, "lucid_consensus_participants", status="active") == 8
    assert one(samples, "lucid_consensus_participants", status="suspended") == 0


def test_poot_scores_per_node_capped_highest_first_plus_min_avg_max() -> None:
    body = load("poot_scores")
    scores = sorted((s["score"] for s in body["scores"]), reverse=True)
    samples, problems = extract_all(CHECKS["poot_scores"], body, default_cap=3)
    assert not problems
    per_node = [s.value for s in samples if s.name == "lucid_poot_score"]
    assert per_node == scores[:3]
    # The cap is not silent: the nodes left out are counted.
    assert one(samples, "lucid_poot_score_omitted_series") == len(scores) - 3
    assert one(samples, "lucid_poot_score_nodes") == len(scores)
    assert one(samples, "lucid_poot_score_min") == min(scores)
    assert one(samples, "lucid_poot_score_max") == max(scores)
    assert one(samples, "lucid_poot_score_avg") == pytest.approx(sum(scores) / len(scores))


def test_no_poot_scores_gives_zero_nodes_and_no_min_max() -> None:
    samples, problems = extract_all(CHECKS["poot_scores"], {"scores": []})
    assert not problems
    assert one(samples, "lucid_poot_score_nodes") == 0
    assert not [s for s in samples if s.name in ("lucid_poot_score_min", "lucid_poot_score_max")]


def test_anchoring_sessions_by_state_from_an_object() -> None:
    samples, problems = extract_all(CHECKS["anchoring_status"], load("anchoring_status"))
    assert not problems
    assert {s.labels["state"] for s in samples if s.name == "lucid_anchoring_sessions"} == {
        "pending", "processing", "completed", "failed"}


def test_pipeline_sessions_by_state() -> None:
    body = load("pipeline_sessions")
    samples, _ = extract_all(CHECKS["pipeline_sessions"], body)
    total = sum(s.value for s in samples if s.name == "lucid_pipeline_sessions")
    assert total == len(body["sessions"])


def test_usdt_balance_only_for_configured_wallets() -> None:
    body = load("usdt_balance")
    wallet = body["balances"][1]["address"]
    samples, _ = extract_all(CHECKS["usdt_balance"], body, wallets=[wallet])
    assert [(s.labels["wallet"], s.value) for s in samples] == [(wallet, body["balances"][1]["balance_usdt"])]
    samples, _ = extract_all(CHECKS["usdt_balance"], body, wallets=[])
    assert samples == []


def test_trongrid_block_timestamp_in_milliseconds() -> None:
    body = load("trongrid_nowblock")
    samples, problems = extract_all(CHECKS["trongrid_nowblock"], body)
    assert not problems
    assert one(samples, "lucid_trongrid_latest_block_timestamp_seconds") == \
        body["block_header"]["raw_data"]["timestamp"] / 1000


def test_tron_network_status_connected() -> None:
    samples, problems = extract_all(CHECKS["tron_network_status"], load("tron_network_status"))
    assert not problems
    assert one(samples, "lucid_tron_network_connected") == 1.0


def test_wrong_shape_is_a_problem_but_keeps_what_could_be_read() -> None:
    samples, problems = extract_all(CHECKS["consensus_status"], {"current_round": 7, "consensus_reached": "x"})
    assert one(samples, "lucid_consensus_round") == 7
    assert not problems  # a string is a valid bool (false); active_validators is optional
    samples, problems = extract_all(CHECKS["blocks_latest"], [1, 2, 3])
    assert len(problems) == 2
    samples, problems = extract_all(CHECKS["consensus_participants"], {"participants": 7})
    assert problems and "expected a list or an object" in problems[0]


def test_value_rejects_non_numbers() -> None:
    with pytest.raises(ShapeError):
        extract(Extraction(metric="lucid_x", field="a"), {"a": "many"})
    assert extract(Extraction(metric="lucid_x", field="a"), {"a": "12.5"})[0].value == 12.5


def test_count_by_counts_the_values_of_an_object_as_well_as_a_list() -> None:
    ex = Extraction(metric="lucid_x", agg="count_by", field="active", by="state", label="state",
                    values=["recording", "failed"])
    by_id = {"active": {"s1": {"state": "recording"}, "s2": {"state": "recording"}, "s3": {"state": "done"}}}
    assert {s.labels["state"]: s.value for s in extract(ex, by_id)} == {"recording": 2, "failed": 0, "done": 1}


# -- config remapping -------------------------------------------------------------------------------
def contract_consensus() -> dict[str, Any]:
    """blockchain-core.openapi.yaml ConsensusStatus: other fields than the guide's."""
    return {"active": True, "current_round": 42, "participants_count": 5, "consensus_threshold": 0.67,
            "last_consensus_time": "2026-01-01T00:00:00Z", "next_round_time": "2026-01-01T00:00:05Z"}


def test_remap_check_to_the_contract_path_and_fields() -> None:
    s = config.load(None, {"checks": {"consensus_status": {
        "path": "/api/v1/consensus/status",
        "fields": {"lucid_consensus_reached": "active"}},
        "tron_network_status": {"path": "/api/v1/tron/network/status"}}})
    checks, problems = merge(DEFAULT_CHECKS, s.checks)
    assert not problems
    by = {c.name: c for c in checks}
    assert by["tron_network_status"].path == "/api/v1/tron/network/status"
    samples, problems = extract_all(by["consensus_status"], contract_consensus())
    assert not problems
    assert one(samples, "lucid_consensus_reached") == 1.0


def test_add_a_check_without_code() -> None:
    s = config.load(None, {"checks": {"blockchain_info": {
        "service": "blockchain-engine", "path": "/api/v1/blockchain/info",
        "metrics": [{"metric": "lucid_blockchain_info_height", "field": "stats.height"}]}}})
    checks, _ = merge(DEFAULT_CHECKS, s.checks)
    new = next(c for c in checks if c.name == "blockchain_info")
    samples, _ = extract_all(new, {"stats": {"height": 9}})
    assert one(samples, "lucid_blockchain_info_height") == 9


def test_bad_check_config_is_a_config_error() -> None:
    with pytest.raises(config.ConfigError) as e:
        config.load(None, {"checks": {"x": {"service": "a", "path": "/p", "metrics": [
            {"metric": "bad name", "field": "a"}]}}})
    assert "valid metric name" in str(e.value)


def test_disable_a_check() -> None:
    s = config.load(None, {"checks": {"gateway_cors": {"enabled": False}}})
    checks, _ = merge(DEFAULT_CHECKS, s.checks)
    assert "gateway_cors" not in {c.name for c in checks}


# -- gateway and auth helpers ---------------------------------------------------------------------
def headers(**h: str) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in h.items()}))


def test_rate_limit_headers_read_from_one_reply() -> None:
    samples = rate_limit_samples(200, headers(X_RateLimit_Limit="100", X_RateLimit_Remaining="42"))
    assert one(samples, "lucid_gateway_rate_limit_limit") == 100
    assert one(samples, "lucid_gateway_rate_limit_remaining") == 42
    assert one(samples, "lucid_gateway_rate_limit_headers_present") == 1
    samples = rate_limit_samples(200, headers())
    assert one(samples, "lucid_gateway_rate_limit_headers_present") == 0
    assert not [s for s in samples if s.name == "lucid_gateway_rate_limit_limit"]


def test_rate_limit_evidence_depends_on_when_the_gateway_sends_its_headers() -> None:
    """The guide's gateway sends X-RateLimit-* on every answer, the real one only on its 429: an answer
    without them is evidence against the limiter only in the first case."""
    def enforced(status: int, h: CIMultiDictProxy[str], mode: str) -> float | None:
        found = [s.value for s in rate_limit_samples(status, h, mode) if s.name == "lucid_gateway_rate_limit_enforced"]
        return found[0] if found else None

    assert enforced(200, headers(), "every_response") == 0
    assert enforced(200, headers(), "on_refusal") is None  # the real gateway, working or not: no evidence
    assert enforced(200, headers(X_RateLimit_Limit="100", X_RateLimit_Remaining="7"), "every_response") == 1
    assert enforced(200, headers(X_RateLimit_Limit="0", X_RateLimit_Remaining="0"), "on_refusal") == 0
    refused = headers(X_RateLimit_Limit="100", X_RateLimit_Remaining="0", Retry_After="42")
    assert enforced(429, refused, "on_refusal") == 1
    assert enforced(429, headers(), "on_refusal") == 1


def test_the_gateways_start_up_line_says_whether_its_limiter_is_on() -> None:
    import re

    from lucid_exporter.probes.gateway import startup_evidence, startup_samples

    pattern = re.compile(CHECKS_LUCID["gateway_rate_limit"].startup_log)
    line = ('{"timestamp": "2026-03-30 08:00:01,123", "level": "INFO", "logger": "api.app.middleware.rate_limit", '
            '"msg": "RateLimitMiddleware initialized (enabled=False, rpm=100)"}')
    assert startup_evidence(line, pattern) == (False, 100.0)
    assert startup_evidence("INFO RateLimitMiddleware initialized (enabled=True, rpm=1000)", pattern) == (True, 1000.0)
    assert startup_evidence("LoggingMiddleware initialized (level=INFO)", pattern) is None
    samples = startup_samples((False, 100.0))
    assert one(samples, "lucid_gateway_rate_limiter_enabled") == 0
    assert one(samples, "lucid_gateway_rate_limiter_requests_per_minute") == 100
    assert startup_samples(None) == []


def test_cors_preflight_judgement() -> None:
    o = "http://localhost:3000"
    assert cors_ok(o, 200, headers(Access_Control_Allow_Origin=o, Access_Control_Allow_Methods="GET, POST"))
    assert cors_ok(o, 204, headers(Access_Control_Allow_Origin="*"))
    assert not cors_ok(o, 400, headers())
    assert not cors_ok(o, 200, headers(Access_Control_Allow_Origin="https://other"))
    assert not cors_ok(o, 200, headers(Access_Control_Allow_Origin=o, Access_Control_Allow_Methods="POST"))


def jwt(claims: dict[str, Any]) -> str:
    def b(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{b({'alg': 'HS256'})}.{b(claims)}.c2ln"


def test_jwt_expiry_from_exp_claim_without_verification() -> None:
    assert jwt_expiry(jwt({"sub": "x", "exp": 1767225600})) == 1767225600.0
    assert jwt_expiry(jwt({"sub": "x"})) is None
    assert jwt_expiry("not-a-token") is None
    assert jwt_expiry("a.!!!.c") is None


def test_verify_reply_judgement() -> None:
    empty: CIMultiDictProxy[str] = headers()
    assert verify_ok(Reply(200, empty, b'{"valid": true}'))
    assert not verify_ok(Reply(200, empty, b'{"valid": false}'))
    assert not verify_ok(Reply(401, empty, b'{"detail": "Invalid token"}'))
    assert verify_ok(Reply(204, empty, b""))


def test_the_remapping_example_of_the_docs_is_a_valid_config() -> None:
    import re

    import yaml

    doc = (Path(__file__).resolve().parents[2] / "docs" / "status-checks.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", doc, re.S) if b.startswith("checks:"))
    s = config.load(None, yaml.safe_load(block))
    checks, problems = merge(DEFAULT_CHECKS, s.checks)
    assert not problems
    by = {c.name: c for c in checks}
    assert "gateway_cors" not in by and "blockchain_info" in by
    samples, problems = extract_all(by["tron_network_status"], {
        "latest_block": 5, "block_timestamp": 1767225600000, "sync_progress": 50})
    assert not problems
    assert one(samples, "lucid_tron_sync_progress_ratio") == 0.5


def test_monitoring_token_from_env_or_file_and_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lucid_exporter.redact import redact

    monkeypatch.setenv("LUCID_EXPORTER_STATUS__TOKEN", "env-token-abc123")
    s = config.load(None)
    assert s.status.token is not None and s.status.token.get_secret_value() == "env-token-abc123"
    assert "env-token-abc123" not in redact("Bearer env-token-abc123")
    monkeypatch.delenv("LUCID_EXPORTER_STATUS__TOKEN")
    f = tmp_path / "token"
    f.write_text("file-token-xyz789\n")
    s = config.load(None, {"status": {"token_file": str(f)}})
    assert s.status.token is not None and s.status.token.get_secret_value() == "file-token-xyz789"
    assert "file-token-xyz789" not in config.dump_redacted(s)


def _check_probes(s: config.Settings) -> list[Any]:
    from lucid_exporter import inventory
    from lucid_exporter.probes import auth_verify, gateway, status

    services = inventory.build(s)
    return [p for m in (status, gateway, auth_verify) for p in m.build(s, services)]


def test_checks_follow_their_service_and_token_checks_need_a_token() -> None:
    s = config.load(None, {"services": {"tron-client": {"enabled": False}}})
    targets = {p.target for p in _check_probes(s)}
    assert not {t for t in targets if t.startswith("tron-client/")}
    assert "auth-service/auth_verify" not in targets and "admin-interface/admin_users_roles" not in targets
    s = config.load(None, {"status": {"token": "t0k3n-for-test"}})
    probes = _check_probes(s)
    assert len(probes) == len(DEFAULT_CHECKS)
    by = {p.target: p for p in probes}
    assert {"blockchain-engine", "consensus_status"} <= by["blockchain-engine/consensus_status"].selectors
    assert by["tron-client/trongrid_nowblock"].url == "https://api.trongrid.io/wallet/getnowblock"
    assert _check_probes(config.load(None, {"status": {"enabled": False}})) == []


def test_a_check_naming_an_unknown_service_is_a_config_error() -> None:
    from lucid_exporter import inventory
    from lucid_exporter.probes.status import resolve_checks

    s = config.load(None, {"checks": {"consensus_status": {"service": "blockchain-engin"}}})
    with pytest.raises(inventory.CatalogueError, match="unknown service 'blockchain-engin'"):
        resolve_checks(s, inventory.build(s))


def test_the_start_up_line_is_found_across_chunk_boundaries_and_the_read_is_bounded() -> None:
    """The log stream of the gateway's first minutes, as docker sends it: frames that cut lines."""
    import re

    from lucid_exporter.probes import gateway

    class Stream:
        def __init__(self, chunks: list[bytes]) -> None:
            self.chunks, self.closed = chunks, False

        def __iter__(self) -> Any:
            return iter(self.chunks)

        def close(self) -> None:
            self.closed = True

    class Api:
        def __init__(self, stream: Stream) -> None:
            self.stream = stream
            self.asked: dict[str, Any] = {}

        def logs(self, container: str, **kw: Any) -> Stream:
            self.asked = kw
            return self.stream

    class Access:
        def __init__(self, chunks: list[bytes]) -> None:
            self.api = Api(Stream(chunks))

    check = CHECKS_LUCID["gateway_rate_limit"]
    text = b'INFO: started\n{"msg": "RateLimitMiddleware initialized (enabled=False, rpm=250)"}\nINFO: ready\n'
    access = Access([text[:30], text[30:61], text[61:]])
    service = Service("api-gateway", "gateway", "api-gateway", "http://api-gateway:8080", "/health", "http")
    probe = gateway.RateLimiterStartupProbe(check, service, access)  # type: ignore[arg-type]
    assert probe._search("cid", 100.0, 220.0) == (False, 250.0)
    # Never follow: a running container's log does not end (docker-py follows a stream by default).
    assert access.api.stream.closed and access.api.asked["until"] == 220.0 and access.api.asked["follow"] is False
    flood = Access([b"x" * 65536 + b"\n"] * 20 + [b"RateLimitMiddleware initialized (enabled=False, rpm=1)\n"])
    probe = gateway.RateLimiterStartupProbe(check, service, flood)  # type: ignore[arg-type]
    assert probe._search("cid", 100.0, 220.0) is None  # past STARTUP_MAX_BYTES: no evidence, no endless read
    assert re.compile(check.startup_log).groupindex.keys() >= {"enabled", "rpm"}
