"""The exporter with ``status.profile: lucid`` against ``lucid-sim --profile lucid``, which answers as the
real Lucid code does (its paths, reply shapes, credentials and quirks: sim/lucid_sim/real/).

The healthy-stack tests run under both personalities, each with the API profile of its name (guide sim +
``profile: guide``, lucid sim + ``profile: lucid``); the tests of the real code's quirks (tuple bodies,
dependency maps, /admin/health, loop-time timestamps, the blockchain API's credentials) run against the
lucid one. The lucid variants of the per-cluster scenarios are in test_*_status.py.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lucid_exporter import catalogue
from lucid_sim.real.state import API_KEY_READONLY

from ..conftest import PROFILES, start_exporter
from ..servers_status import Stack, exporter_config, start_stack
from ..support import EXPORTER, http_get, scrape, value

pytestmark = pytest.mark.integration

# The checks that have an endpoint under each API profile (the lucid profile's others say why not).
AVAILABLE = {p: {c.name: c for c in catalogue.profile(p).checks if not c.unavailable} for p in PROFILES}


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Stack]]:
    """One stack per personality for the whole module, started on first use."""
    started: dict[str, Stack] = {}
    yield started
    for s in started.values():
        s.stop()


def _stack(stacks: dict[str, Stack], profile: str, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    if profile not in stacks:
        stacks[profile] = start_stack(tmp_path_factory.mktemp(f"lucid-profile-{profile}"), profile, slot=5.0)
    return stacks[profile]


@pytest.fixture(params=PROFILES)
def any_stack(request: pytest.FixtureRequest, stacks: dict[str, Stack],
              tmp_path_factory: pytest.TempPathFactory) -> Stack:
    return _stack(stacks, request.param, tmp_path_factory)


@pytest.fixture
def stack(stacks: dict[str, Stack], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = _stack(stacks, "lucid", tmp_path_factory)
    yield s
    s.sim.clear()


# -- the healthy stack: every real endpoint answers, nothing pages ------------------------------------------
def test_every_check_with_a_real_endpoint_returns_data(any_stack: Stack) -> None:
    series = any_stack.metrics()
    status = {dict(lbl)["target"].split("/", 1)[1]: v for (name, lbl), v in series.items()
              if name == "lucid_probe_success" and dict(lbl)["probe"] == "lucid_status"}
    available = AVAILABLE[any_stack.profile]
    assert {n for n in available if status.get(n) == 1} == set(available), status
    if any_stack.lucid:
        assert len(available) == 20  # 18 JSON checks of 31, and the gateway's rate-limit and CORS checks
        # The unavailable ones are not requested; the token's expiry is still read locally.
        assert "poot_scores" not in status and status["auth_verify"] == 1
    else:
        assert len(available) == 34  # the guide's 31 JSON checks, the gateway's two, the token verification
    for check in available.values():
        for ex in check.metrics:
            assert any(n == ex.metric for n, _ in series), f"{check.name}: no {ex.metric}"


def test_no_alert_fires_on_the_healthy_stack(any_stack: Stack) -> None:
    code, report = any_stack.doctor()
    assert code == 0 and report["findings"] == [], report["findings"]
    assert report["profile"] == any_stack.profile
    blind = {a["alert"] for a in report["blind_alerts"]}
    if any_stack.lucid:
        assert {"LucidChunkEncryptionFailing", "LucidPoOTScoresMissing", "LucidAuthTokenVerificationFailing"} <= blind
    else:
        assert blind == set()  # the guide's paths exist for every check


def test_health_answers_and_dependencies_of_the_healthy_stack(any_stack: Stack) -> None:
    series = any_stack.metrics()
    ups = {dict(lbl)["service"]: v for (n, lbl), v in series.items() if n == "lucid_service_up"}
    assert ups and set(ups.values()) == {1.0}, ups
    assert "rate-limiter" not in ups  # no port in the guide, no such container in the real stack
    assert value(series, "lucid_service_dependency_up", service="auth-service", dependency="database") == 1
    assert value(series, "lucid_service_dependency_state", service="auth-service", dependency="hardware_wallet",
                 state="ok") == 1


# -- health judged as the real services answer ---------------------------------------------------------------
def test_a_tuple_body_served_with_http_200_is_down(stack: Stack) -> None:
    stack.sim.fault("payout-router", "tuple_unhealthy")
    series = stack.probe("payout-router")
    assert value(series, "lucid_service_http_status", service="payout-router") == 200
    assert value(series, "lucid_service_up", service="payout-router") == 0


def test_wallet_manager_with_a_database_error_is_down_with_its_dependency_at_0(stack: Stack) -> None:
    """The real wallet manager says ``unhealthy`` next to ``database: "error: ..."``, with HTTP 200
    (payment_systems/tron/wallet_manager_main.py): down, and the dependency names the cause. (A body that
    says ``healthy`` beside such an error is degraded: tests/unit/test_health_body.py.)"""
    stack.sim.fault("wallet-manager", "database_down")
    series = stack.probe("wallet-manager")
    assert value(series, "lucid_service_http_status", service="wallet-manager") == 200
    assert value(series, "lucid_service_up", service="wallet-manager") == 0
    assert value(series, "lucid_service_dependency_up", service="wallet-manager", dependency="database") == 0
    assert value(series, "lucid_service_dependency_state", service="wallet-manager", dependency="database",
                 state="error") == 1
    _, report = stack.doctor()
    pages = {(f["problem"], a["alert"]) for f in report["findings"] for a in f["alerts"]}
    assert pages == {("wallet-management-failures", "LucidWalletManagerDown"),
                     ("mongodb-connection-failures", "LucidServiceMongoDBDependencyDown")}


def test_auth_degraded_with_its_database_down_routes_to_the_mongodb_problem(stack: Stack) -> None:
    stack.sim.fault("auth-service", "database_down")
    code, report = stack.doctor()
    assert code == 1
    problems = {f["problem"]: f for f in report["findings"]}
    assert "mongodb-connection-failures" in problems, problems
    alerts = [(a["alert"], a["labels"].get("service")) for a in problems["mongodb-connection-failures"]["alerts"]]
    assert ("LucidServiceMongoDBDependencyDown", "auth-service") in alerts
    assert "hardware-wallet-connection-issues" not in problems
    assert "jwt-token-validation-failures" not in problems  # the cause is named: no generic degraded page


def test_auth_degraded_with_its_redis_down_routes_to_the_redis_problem(stack: Stack) -> None:
    stack.sim.fault("auth-service", "redis_down")
    _, report = stack.doctor()
    assert {f["problem"] for f in report["findings"]} == {"redis-connection-failures"}


def test_hardware_wallet_unavailable_is_visible_and_alerts(stack: Stack) -> None:
    stack.sim.fault("auth-service", "hardware_wallet_unavailable")
    series = stack.probe("auth-service")
    assert value(series, "lucid_service_dependency_state", service="auth-service", dependency="hardware_wallet",
                 state="unavailable") == 1
    assert value(series, "lucid_service_dependency_up", service="auth-service", dependency="hardware_wallet") == 0
    _, report = stack.doctor()
    finding = next(f for f in report["findings"] if f["problem"] == "hardware-wallet-connection-issues")
    assert [a["alert"] for a in finding["alerts"]] == ["LucidHardwareWalletUnavailable"]
    observed = [o for d in finding["diagnostics"] for o in d.get("observed", [])]
    assert any('state="unavailable"' in o and o.endswith(" 1") for o in observed), observed


def test_a_disabled_hardware_wallet_is_a_choice_not_a_failure(stack: Stack) -> None:
    stack.sim.fault("auth-service", "hardware_wallet_disabled")
    series = stack.probe("auth-service")
    assert value(series, "lucid_service_dependency_state", service="auth-service", dependency="hardware_wallet",
                 state="disabled") == 1
    assert value(series, "lucid_service_dependency_up", service="auth-service", dependency="hardware_wallet") is None
    assert value(series, "lucid_service_degraded", service="auth-service") == 0
    assert stack.doctor()[0] == 0


def test_the_admin_interface_answers_its_health_at_admin_health(stack: Stack) -> None:
    series = stack.probe("admin-interface")
    assert value(series, "lucid_service_up", service="admin-interface") == 1
    assert value(series, "lucid_admin_rbac_ok") == 1  # the admin session token is let in
    stack.sim.fault("admin-interface", "trusted_hosts_unset")
    series = stack.probe("admin-interface")
    assert value(series, "lucid_service_up", service="admin-interface") == 0
    status, page = http_get(f"{stack.exporter.url}/")
    assert status == 200 and "Invalid host header" in page


def test_the_guide_profile_against_the_real_admin_does_not_page_for_a_running_service(
        stack: Stack, tmp_path: Path) -> None:
    """The guide's /health is a 404 at the real admin interface: not judged (no up 0, no critical page);
    the probe fails and says where the health is."""
    config = exporter_config(stack.sim, profile="guide", enabled=False)
    # The guide's health path: the sim's config names /admin/health for the lucid profile.
    config["services"] = {**config["services"],
                          "admin-interface": {"url": stack.sim.config["services"]["admin-interface"]["url"]}}
    exporter = start_exporter(tmp_path, config, name="exporter-guide-admin")
    try:
        series = scrape(f"{exporter.url}/probe?target=admin-interface")
        assert value(series, "lucid_service_up", service="admin-interface") is None
        assert value(series, "lucid_service_http_status", service="admin-interface") == 404
        assert value(series, "lucid_probe_success", target="admin-interface") == 0
        _, page = http_get(f"{exporter.url}/")
        assert "/admin/health" in page
    finally:
        exporter.proc.stop()


# -- timestamps and config -----------------------------------------------------------------------------------
def test_a_monotonic_timestamp_is_a_parse_failure_with_a_reason_not_a_1970_series(stack: Stack, tmp_path: Path) -> None:
    config = exporter_config(stack.sim)
    config["checks"] = {"pipeline_sessions": {"metrics": [
        {"metric": "lucid_pipeline_sessions_total_pipelines", "field": "total_pipelines"},
        {"metric": "lucid_pipeline_last_transition_timestamp_seconds", "agg": "timestamp", "field": "timestamp"}]}}
    exporter = start_exporter(tmp_path, config, name="exporter-monotonic")
    try:
        series = scrape(f"{exporter.url}/probe?target=pipeline_sessions")
        assert value(series, "lucid_pipeline_last_transition_timestamp_seconds") is None
        assert (value(series, "lucid_pipeline_sessions_total_pipelines") or 0) >= 1  # the rest is still read
        assert value(series, "lucid_probe_success", target="session-pipeline/pipeline_sessions") == 0
        assert (value(series, "lucid_probe_errors_total", target="session-pipeline/pipeline_sessions",
                      reason="parse") or 0) >= 1
        _, page = http_get(f"{exporter.url}/")
        assert "is not a Unix time" in page and "monotonic" in page
    finally:
        exporter.proc.stop()


def test_a_check_naming_an_unknown_service_exits_2(stack: Stack, tmp_path: Path) -> None:
    config = exporter_config(stack.sim)
    config["checks"] = {"nodes_list": {"service": "node-managment"}}
    path = tmp_path / "typo.yml"
    path.write_text(yaml.safe_dump(config))
    r = subprocess.run([*EXPORTER, "check", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "lucid-exporter: config error: checks.nodes_list.service: unknown service 'node-managment'"]


@pytest.mark.parametrize(("key", "read"), [("wrong-key-for-test", 0), (API_KEY_READONLY, 1)])
def test_the_blockchain_checks_need_the_api_key(stack: Stack, tmp_path: Path, key: str, read: int) -> None:
    """Without the bearer JWT, the API key recipe: a wrong key is the blockchain API's HTTP 500 (and is
    never logged); a key it knows passes both of its auth layers."""
    config = exporter_config(stack.sim, blockchain_api_key=key)
    del config["status"]["blockchain_token"]
    exporter = start_exporter(tmp_path, config, name="exporter-api-key")
    try:
        series = scrape(f"{exporter.url}/probe?target=consensus_status")
        assert value(series, "lucid_probe_success", target="blockchain-engine/consensus_status") == read
        if not read:
            assert (value(series, "lucid_probe_errors_total", target="blockchain-engine/consensus_status",
                          reason="http_status") or 0) >= 1
        else:
            assert value(series, "lucid_consensus_reached") == 1
        assert key not in exporter.log()
    finally:
        exporter.proc.stop()
