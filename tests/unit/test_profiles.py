"""The API profiles as shipped data: the guide's paths and the real Lucid code's (catalogue/checks/).

Every check of the lucid profile either reads a real endpoint (and its extractions work on a reply
shaped like the real code's, recorded under tests/fixtures/status/lucid/) or says why it cannot,
and every alert left blind by a missing endpoint is named in the profile: no silent absence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lucid_exporter import catalogue, config, inventory, rules
from lucid_exporter.checks import check_metrics, extract_all, merge, profile_checks, profile_gaps
from lucid_exporter.probes.status import resolve_checks, runnable
from lucid_exporter.promql import metric_names

from ..support import load_script

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "status" / "lucid"
GUIDE = {c.name: c for c in profile_checks("guide")}
LUCID = {c.name: c for c in profile_checks("lucid")}
# The reply each runnable lucid check reads (two checks read the same endpoint where the real code
# serves both facts in one reply).
REPLY = {"processing_queue": "processing_status", "rdp_status": "ports_status", "nodes_status": "nodes_list"}
NOW = 1774859000.0  # 2026-03-30T08:23:20Z, just after the recorded replies


def load(name: str) -> Any:
    return json.loads((FIX / f"{name}.json").read_text())


def one(samples: list[Any], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and set(labels.items()) <= set(s.labels.items())]
    assert len(found) == 1, (name, labels, samples)
    return float(found[0])


def _script(name: str) -> Any:
    return load_script(ROOT / "scripts" / f"{name}.py")


def test_both_profiles_are_shipped_and_name_the_same_checks() -> None:
    assert catalogue.profile_names() == ("guide", "lucid")
    assert list(GUIDE) == list(LUCID)
    assert catalogue.validate() == []


def test_the_lucid_profile_reaches_18_of_the_31_json_checks_and_says_why_not_the_rest() -> None:
    """The issue's count: 0 of 31 JSON checks answered against the real code with the guide's paths."""
    json_checks = [c for c in LUCID.values() if c.kind == "json"]
    real = [c.name for c in json_checks if not c.unavailable]
    assert len(json_checks) == 31
    assert len(real) == 18, real
    for c in LUCID.values():
        if c.unavailable:
            assert len(c.unavailable) > 20 and not c.metrics, c.name
        else:
            assert c.path.startswith("/"), c.name
    # With the special kinds: the rate-limit and CORS checks run, the token verification does not.
    assert {c.name for c in LUCID.values() if c.kind != "json" and not c.unavailable} == {
        "gateway_rate_limit", "gateway_cors"}


@pytest.mark.parametrize("name", [n for n, c in LUCID.items() if c.kind == "json" and not c.unavailable])
def test_each_real_endpoint_check_reads_a_reply_shaped_like_the_real_code(name: str) -> None:
    samples, problems = extract_all(LUCID[name], load(REPLY.get(name, name)), now=NOW,
                                    wallets=["TXmHYtqEo9gnwCETwXG24MZQRU8CtL4X7X"])
    assert not problems
    assert {e.metric for e in LUCID[name].metrics} <= {s.name for s in samples}


def test_the_guide_shapes_fail_with_a_reason_on_the_real_replies() -> None:
    """Why a profile is needed: the guide's fields are not in the real replies."""
    _, problems = extract_all(GUIDE["anchoring_status"], load("anchoring_status"), now=NOW)
    assert problems and "sessions" in problems[0]
    _, problems = extract_all(GUIDE["nodes_list"], load("nodes_list"), now=NOW)
    assert problems


def test_real_replies_become_the_guides_metrics() -> None:
    samples, _ = extract_all(LUCID["pipeline_sessions"], load("pipeline_sessions"), now=NOW)
    # active_pipelines is an object keyed by session id: its values are counted by state.
    assert one(samples, "lucid_pipeline_sessions", state="active") == 2
    assert one(samples, "lucid_pipeline_sessions", state="error") == 1
    assert one(samples, "lucid_pipeline_sessions", state="paused") == 0
    samples, _ = extract_all(LUCID["nodes_list"], load("nodes_list"), now=NOW)
    assert one(samples, "lucid_nodes", status="maintenance") == 1
    samples, _ = extract_all(LUCID["nodes_status"], load("nodes_list"), now=NOW)
    assert one(samples, "lucid_nodes_registered") == 4
    samples, _ = extract_all(LUCID["anchoring_status"], load("anchoring_status"), now=NOW)
    assert one(samples, "lucid_anchoring_sessions", state="pending") == 7
    assert not [s for s in samples if s.labels.get("state") == "failed"]  # not served: no fake 0
    samples, _ = extract_all(LUCID["tron_network_status"], load("tron_network_status"), now=NOW)
    assert one(samples, "lucid_tron_network_connected") == 1  # status "connected"
    assert one(samples, "lucid_tron_latest_block_timestamp_seconds") == 1774858803.0  # milliseconds
    samples, _ = extract_all(LUCID["ports_status"], load("ports_status"), now=NOW)
    assert one(samples, "lucid_rdp_ports", state="available") == 994
    assert one(samples, "lucid_rdp_ports", state="allocated") == 6


def test_blocks_latest_is_read_from_chain_height_because_the_real_route_is_shadowed() -> None:
    assert GUIDE["blocks_latest"].path == "/api/v1/blocks/latest"
    assert LUCID["blocks_latest"].path == "/api/v1/chain/height"
    assert LUCID["blocks_latest"].auth == "blockchain"


def _alert_metrics() -> dict[str, set[str]]:
    return {r.name: metric_names(r.expr) for r in rules.rules()}


def test_every_alert_left_blind_by_a_missing_endpoint_is_named_by_the_lucid_profile() -> None:
    """No silent absence: a metric only an unavailable check would produce, read by an alert, is a gap the
    lucid profile documents on that check (the signal that replaces it, or that it cannot be observed)."""
    produced = set().union(*(check_metrics(c) for c in LUCID.values()))
    missing: list[str] = []
    for alert, metrics in _alert_metrics().items():
        for m in sorted(metrics):
            sources = [n for n, c in GUIDE.items() if m in check_metrics(c)]
            if not sources or m in produced:
                continue
            for name in sources:
                note = LUCID[name].alerts.get(alert, "")
                if not LUCID[name].unavailable or len(note) < 20:
                    missing.append(f"{alert} reads {m} of {name}")
    assert not missing, "document these in catalogue/checks/lucid.yaml (alerts:): " + "; ".join(missing)


def test_every_gap_note_names_an_alert_that_reads_that_checks_metrics() -> None:
    reads = _alert_metrics()
    for c in LUCID.values():
        guide_metrics = check_metrics(GUIDE[c.name])
        for alert in c.alerts:
            assert reads[alert] & guide_metrics or reads[alert] & check_metrics(c) or c.kind == "rate_limit", \
                f"{c.name}: {alert} reads none of its metrics"


def test_doctor_lists_the_blind_alerts_of_the_profile_and_a_remap_removes_one() -> None:
    gaps = profile_gaps("lucid", {})
    assert ("LucidChunkEncryptionFailing", "processing_encryption") in {(a, c) for a, c, _ in gaps}
    assert profile_gaps("guide", {}) == []
    s = config.load(None, {"status": {"profile": "lucid"}, "checks": {"processing_encryption": {
        "path": "/api/v1/encryption", "metrics": [{"metric": "lucid_chunk_encryption_ok", "agg": "bool",
                                                   "field": "ok"}]}}})
    assert "processing_encryption" not in {c for _, c, _ in profile_gaps("lucid", s.checks)}


def test_a_remap_of_an_unavailable_check_needs_a_path_and_metrics() -> None:
    _, problems = merge(profile_checks("lucid"), config.load(None, {"checks": {
        "poot_scores": {"ok_metric": "lucid_x_ok"}}}).checks)
    assert problems and "no endpoint" in problems[0]
    disabled = config.load(None, {"checks": {"poot_scores": {"enabled": False}}})
    assert merge(profile_checks("lucid"), disabled.checks)[1] == []
    _, problems = merge(profile_checks("lucid"), config.load(None, {"checks": {
        "poot_scores": {"path": "/poot/node-1"}}}).checks)
    assert problems and "needs `metrics`" in problems[0]


def test_the_lucid_profile_addresses_the_real_containers_and_health_paths() -> None:
    guide, lucid = inventory.default_catalogue("guide"), inventory.default_catalogue("lucid")
    assert guide["admin-interface"].health_url == "http://lucid-admin-interface:8083/health"
    assert lucid["admin-interface"].health_url == "http://lucid-admin-interface:8120/admin/health"
    assert lucid["api-gateway"].url == "http://api-gateway:8080" and lucid["api-gateway"].container == "api-gateway"
    assert lucid["chunk-processor"].url == "http://session-processor:8091"
    assert lucid["xrdp"].url == "http://rdp-xrdp:3389"
    assert "rate-limiter" in guide and "rate-limiter" not in lucid  # the limiter is in the gateway
    assert lucid["mongodb"] == guide["mongodb"]
    s = config.load(None, {"status": {"profile": "lucid"},
                           "services": {"admin-interface": {"url": "http://admin.example:9000"}}})
    built = inventory.build(s)
    assert built["admin-interface"].health_url == "http://admin.example:9000/admin/health"  # the config wins


def test_a_profile_is_chosen_by_one_key_and_an_unknown_one_is_a_config_error() -> None:
    assert config.load(None).status.profile == "guide"
    with pytest.raises(config.ConfigError, match=r"status\.profile"):
        config.load(None, {"status": {"profile": "real"}})


def _probes(settings: config.Settings) -> dict[str, Any]:
    from lucid_exporter.probes import auth_verify, gateway, status

    services = inventory.build(settings)
    return {p.target: p for m in (status, gateway, auth_verify) for p in m.build(settings, services)}


def test_under_the_lucid_profile_only_real_endpoints_are_requested() -> None:
    s = config.load(None, {"status": {"profile": "lucid", "token": "t0k3n-for-test",
                                      "blockchain_api_key": "bc-key-for-test", "wallets": ["TXa", "TXb"]},
                           "docker": {"enabled": False}})
    probes = _probes(s)
    requested = {t.split("/")[1] for t, p in probes.items() if hasattr(p, "url")}
    assert requested == {n for n, c in LUCID.items() if not c.unavailable}
    assert probes["auth-service/auth_verify"].__class__.__name__ == "TokenExpiryProbe"  # no request
    assert probes["usdt-manager/usdt_balance"].wallet_url("TXa/../b") == \
        "http://tron-usdt-manager:8094/api/v1/tron/usdt/balance/TXa%2F..%2Fb"


def test_blockchain_checks_need_the_api_key_and_send_it_as_the_blockchain_api_wants(
        monkeypatch: pytest.MonkeyPatch) -> None:
    s = config.load(None, {"status": {"profile": "lucid"}})
    assert not [c for c, _ in runnable(s, inventory.build(s), "json") if c.auth == "blockchain"]
    s = config.load(None, {"status": {"profile": "lucid", "blockchain_api_key": "bc-key-for-test"}})
    probe = _probes(s)["blockchain-engine/consensus_status"]
    ctx = type("Ctx", (), {"settings": s})()
    headers = probe._headers(ctx)
    assert headers["X-API-Key"] == headers["api-key"] == "bc-key-for-test"
    assert headers["Authorization"].startswith("Bearer ")
    assert "bc-key-for-test" not in config.dump_redacted(s)
    s = config.load(None, {"status": {"profile": "lucid", "blockchain_token": "eyJhbGciOi.test.jwt"}})
    headers = _probes(s)["blockchain-engine/consensus_status"]._headers(type("Ctx", (), {"settings": s})())
    assert headers["Authorization"] == "Bearer eyJhbGciOi.test.jwt" and "X-API-Key" not in headers


def test_the_lucid_checks_resolve_with_overrides_like_the_guides() -> None:
    s = config.load(None, {"status": {"profile": "lucid"}, "checks": {"nodes_list": {"path": "/nodes?status=active"}}})
    by = {c.name: c for c in resolve_checks(s, inventory.build(s))}
    assert by["nodes_list"].path == "/nodes?status=active"
    assert by["poot_scores"].unavailable


def test_docs_table_of_both_profiles_is_current() -> None:
    module = _script("status_checks_table")
    doc = (ROOT / "docs" / "status-checks.md").read_text()
    assert module.render(doc) == doc, "run .venv/bin/python scripts/status_checks_table.py"
    for name, c in LUCID.items():
        line = next(row for row in doc.splitlines() if row.startswith(f"| `{name}` |"))
        assert (c.path in line) if not c.unavailable else ("no real endpoint" in line), name


def test_doctor_says_which_checks_are_not_run_for_want_of_a_credential() -> None:
    from lucid_exporter.doctor import diagnose, report_text

    s = config.load(None, {"status": {"profile": "lucid"}})
    d = diagnose([], s)
    not_run = dict(d.not_run)
    assert "blockchain_api_key" in not_run["blockchain-engine/consensus_status"]
    assert "status.wallets" in not_run["usdt-manager/usdt_balance"]
    assert "status.token" in not_run["admin-interface/admin_permissions_matrix"]
    text = report_text(d)
    assert "API profile lucid" in text and "not run: status.blockchain_api_key" in text
    assert "LucidChunkEncryptionFailing (processing_encryption)" in text
