"""The exporter with ``status.profile: lucid`` against services that answer as the real Lucid code does.

The backend is tests/lucid_fake.py (the real paths, reply shapes and quirks), and also
``lucid-sim --profile lucid`` when the installed sim offers that personality: the healthy-stack tests
run against every backend found, the fault tests against the fake (its fault names are its own).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from lucid_exporter import catalogue

from ..conftest import Exporter, start_exporter
from ..lucid_fake import WALLETS, LucidFake
from ..support import EXPORTER, SIM, Proc, Series, http_get, http_send, scrape, sim_ports, value, wait_port, wait_until

pytestmark = pytest.mark.integration

LUCID = {c.name: c for c in catalogue.profile("lucid").checks}
REAL = sorted(n for n, c in LUCID.items() if not c.unavailable)


def sim_has_lucid_personality() -> bool:
    try:
        r = subprocess.run([*SIM, "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and "--profile" in r.stdout


@dataclass
class Backend:
    name: str
    config: dict[str, Any]
    fake: LucidFake | None = None
    procs: list[Proc] = field(default_factory=list)

    def stop(self) -> None:
        if self.fake is not None:
            self.fake.stop()
        for p in self.procs:
            p.stop()


def start_fake() -> Backend:
    fake = LucidFake().start()
    return Backend("fake", fake.config(), fake)


def start_lucid_sim(tmp: Path) -> Backend:
    """``lucid-sim --profile lucid``: its written config, with the lucid profile and the fake's stores off."""
    base, control = sim_ports()
    cfg = tmp / "sim-lucid.yml"
    proc = Proc([*SIM, "--profile", "lucid", "--base-port", str(base), "--control-port", str(control),
                 "--write-config", str(cfg)], tmp / "sim-lucid.log")
    wait_port(control, proc=proc.p)
    wait_until(lambda: cfg.exists() and cfg.stat().st_size > 0, what="sim config written")
    config = yaml.safe_load(cfg.read_text())
    config.setdefault("status", {})["profile"] = "lucid"
    config["probes"] = {"min_interval_seconds": 0, "timeout_seconds": 3}
    for source in ("docker", "logs", "network", "host"):
        config[source] = {"enabled": False}
    return Backend("lucid-sim", config, procs=[proc])


BACKENDS = ["fake", *(["lucid-sim"] if sim_has_lucid_personality() else [])]


@dataclass
class Stack:
    backend: Backend
    exporter: Exporter
    tmp: Path

    @property
    def fake(self) -> LucidFake:
        assert self.backend.fake is not None, "fault tests run against the fake"
        return self.backend.fake

    def metrics(self) -> Series:
        return scrape(f"{self.exporter.url}/metrics")

    def probe(self, target: str) -> Series:
        return scrape(f"{self.exporter.url}/probe?target={target}")

    def doctor(self, config: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        path = self.tmp / "doctor.yml"
        path.write_text(yaml.safe_dump(config or self.backend.config))
        r = subprocess.run([*EXPORTER, "doctor", "--json", "--config", str(path)], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode in (0, 1), r.stderr
        return r.returncode, json.loads(r.stdout)


def _start(kind: str, tmp: Path) -> Stack:
    backend = start_fake() if kind == "fake" else start_lucid_sim(tmp)
    try:
        exporter = start_exporter(tmp, backend.config, name=f"exporter-{kind}")
    except BaseException:
        backend.stop()
        raise
    return Stack(backend, exporter, tmp)


@pytest.fixture(scope="module", params=BACKENDS)
def any_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = _start(request.param, tmp_path_factory.mktemp(f"lucid-{request.param}"))
    yield stack
    stack.exporter.proc.stop()
    stack.backend.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = _start("fake", tmp_path_factory.mktemp("lucid-fake"))
    yield s
    s.exporter.proc.stop()
    s.backend.stop()


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "stack" in request.fixturenames:
        request.getfixturevalue("stack").fake.clear()


# -- the healthy stack: every real endpoint answers, nothing pages ------------------------------------------
def test_every_check_with_a_real_endpoint_returns_data(any_stack: Stack) -> None:
    series = any_stack.metrics()
    status = {dict(lbl)["target"].split("/", 1)[1]: v for (name, lbl), v in series.items()
              if name == "lucid_probe_success" and dict(lbl)["probe"] == "lucid_status"}
    assert {n for n in REAL if status.get(n) == 1} == set(REAL), status
    assert len(REAL) == 20  # 18 JSON checks of 31, and the gateway's rate-limit and CORS checks
    # The unavailable ones are not requested; the token's expiry is still read locally.
    assert "poot_scores" not in status and status["auth_verify"] == 1
    for check in REAL:
        for ex in LUCID[check].metrics:
            assert any(n == ex.metric for n, _ in series), f"{check}: no {ex.metric}"


def test_no_alert_fires_on_the_healthy_stack(any_stack: Stack) -> None:
    code, report = any_stack.doctor()
    assert code == 0 and report["findings"] == [], report["findings"]
    assert report["profile"] == "lucid"
    blind = {a["alert"] for a in report["blind_alerts"]}
    assert {"LucidChunkEncryptionFailing", "LucidPoOTScoresMissing", "LucidAuthTokenVerificationFailing"} <= blind


def test_health_answers_and_dependencies_of_the_healthy_stack(any_stack: Stack) -> None:
    series = any_stack.metrics()
    ups = {dict(lbl)["service"]: v for (n, lbl), v in series.items() if n == "lucid_service_up"}
    assert ups and set(ups.values()) == {1.0}, ups
    assert "rate-limiter" not in ups  # no such container in the real stack
    assert value(series, "lucid_service_dependency_up", service="auth-service", dependency="database") == 1
    assert value(series, "lucid_service_dependency_state", service="auth-service", dependency="hardware_wallet",
                 state="ok") == 1


# -- health judged as the real services answer ---------------------------------------------------------------
def test_a_tuple_body_served_with_http_200_is_down(stack: Stack) -> None:
    stack.fake.fault("payout-router", "tuple_unhealthy")
    series = stack.probe("payout-router")
    assert value(series, "lucid_service_http_status", service="payout-router") == 200
    assert value(series, "lucid_service_up", service="payout-router") == 0


def test_wallet_manager_healthy_with_a_database_error_is_degraded_with_its_dependency_at_0(stack: Stack) -> None:
    stack.fake.fault("wallet-manager", "database_error")
    series = stack.probe("wallet-manager")
    assert value(series, "lucid_service_up", service="wallet-manager") == 1
    assert value(series, "lucid_service_degraded", service="wallet-manager") == 1
    assert value(series, "lucid_service_dependency_up", service="wallet-manager", dependency="database") == 0
    assert value(series, "lucid_service_dependency_state", service="wallet-manager", dependency="database",
                 state="error") == 1


def test_auth_degraded_with_its_database_down_routes_to_the_mongodb_problem(stack: Stack) -> None:
    stack.fake.fault("auth-service", "database_down")
    code, report = stack.doctor()
    assert code == 1
    problems = {f["problem"]: f for f in report["findings"]}
    assert "mongodb-connection-failures" in problems, problems
    alerts = [(a["alert"], a["labels"].get("service")) for a in problems["mongodb-connection-failures"]["alerts"]]
    assert ("LucidServiceMongoDBDependencyDown", "auth-service") in alerts
    assert "hardware-wallet-connection-issues" not in problems
    assert "jwt-token-validation-failures" not in problems  # the cause is named: no generic degraded page


def test_auth_degraded_with_its_redis_down_routes_to_the_redis_problem(stack: Stack) -> None:
    stack.fake.fault("auth-service", "redis_down")
    _, report = stack.doctor()
    assert {f["problem"] for f in report["findings"]} == {"redis-connection-failures"}


def test_hardware_wallet_unavailable_is_visible_and_alerts(stack: Stack) -> None:
    stack.fake.fault("auth-service", "hardware_wallet_unavailable")
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
    stack.fake.fault("auth-service", "hardware_wallet_disabled")
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
    stack.fake.fault("admin-interface", "untrusted_host")
    series = stack.probe("admin-interface")
    assert value(series, "lucid_service_up", service="admin-interface") == 0
    status, page = http_get(f"{stack.exporter.url}/")
    assert status == 200 and "Invalid host header" in page


def test_the_guide_profile_against_the_real_admin_does_not_page_for_a_running_service(stack: Stack) -> None:
    """The guide's /health is a 404 at the real admin interface: not judged (no up 0, no critical page);
    the probe fails and says where the health is."""
    config = stack.fake.config(profile="guide")
    config["services"] = {"admin-interface": {"url": stack.fake.url("admin-interface")}}
    exporter = start_exporter(stack.tmp, {**config, "status": {**config["status"], "enabled": False}},
                              name="exporter-guide-admin")
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
def test_a_monotonic_timestamp_is_a_parse_failure_with_a_reason_not_a_1970_series(stack: Stack) -> None:
    config = stack.fake.config()
    config["checks"] = {"pipeline_sessions": {"metrics": [
        {"metric": "lucid_pipeline_sessions_total_pipelines", "field": "total_pipelines"},
        {"metric": "lucid_pipeline_last_transition_timestamp_seconds", "agg": "timestamp", "field": "timestamp"}]}}
    exporter = start_exporter(stack.tmp, config, name="exporter-monotonic")
    try:
        series = scrape(f"{exporter.url}/probe?target=pipeline_sessions")
        assert value(series, "lucid_pipeline_last_transition_timestamp_seconds") is None
        assert value(series, "lucid_pipeline_sessions_total_pipelines") == 3  # the rest is still read
        assert value(series, "lucid_probe_success", target="session-pipeline/pipeline_sessions") == 0
        assert (value(series, "lucid_probe_errors_total", target="session-pipeline/pipeline_sessions",
                      reason="parse") or 0) >= 1
        _, page = http_get(f"{exporter.url}/")
        assert "is not a Unix time" in page and "monotonic" in page
    finally:
        exporter.proc.stop()


def test_a_check_naming_an_unknown_service_exits_2(stack: Stack) -> None:
    config = stack.fake.config()
    config["checks"] = {"nodes_list": {"service": "node-managment"}}
    path = stack.tmp / "typo.yml"
    path.write_text(yaml.safe_dump(config))
    r = subprocess.run([*EXPORTER, "check", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "lucid-exporter: config error: checks.nodes_list.service: unknown service 'node-managment'"]


def test_usdt_balances_are_read_one_wallet_at_a_time(stack: Stack) -> None:
    series = stack.probe("usdt_balance")
    assert {w: value(series, "lucid_usdt_balance", wallet=w) for w in WALLETS} == {w: 1000.0 for w in WALLETS}


def test_the_blockchain_checks_need_the_api_key(stack: Stack) -> None:
    config = stack.fake.config(blockchain_api_key="wrong-key-for-test")
    exporter = start_exporter(stack.tmp, config, name="exporter-wrong-key")
    try:
        series = scrape(f"{exporter.url}/probe?target=consensus_status")
        assert value(series, "lucid_probe_success", target="blockchain-engine/consensus_status") == 0
        assert (value(series, "lucid_probe_errors_total", target="blockchain-engine/consensus_status",
                      reason="http_status") or 0) >= 1
        assert "wrong-key-for-test" not in exporter.log()
    finally:
        exporter.proc.stop()


# -- rate limiting: a gateway with headers only on 429 does not page ------------------------------------------
def test_a_gateway_with_rate_limit_headers_only_on_429_does_not_page(stack: Stack) -> None:
    series = stack.probe("api-gateway")
    assert value(series, "lucid_gateway_rate_limit_headers_present") == 0
    assert value(series, "lucid_gateway_rate_limit_enforced") is None  # no evidence either way
    assert value(series, "lucid_gateway_cors_preflight_ok", origin="http://localhost:3000") == 1
    _, report = stack.doctor()
    assert "rate-limiting-not-working" not in {f["problem"] for f in report["findings"]}


def test_a_refusal_is_evidence_the_limiter_works(stack: Stack) -> None:
    """The guide's 110 requests, sent by the test (the exporter never does): the exporter's next request
    from the same address is refused, and the 429 carries the limit."""
    url = stack.fake.url("api-gateway") + "/api/v1/test"
    codes = [http_get(url)[0] for _ in range(110)]
    assert codes.count(429) >= 10 and set(codes) == {500, 429}  # every allowed route error is a plain 500
    series = stack.probe("api-gateway")
    assert value(series, "lucid_gateway_rate_limited") == 1
    assert value(series, "lucid_gateway_rate_limit_enforced") == 1
    assert value(series, "lucid_gateway_rate_limit_limit") == 100


def test_a_real_gateway_with_its_limiter_off_answers_like_a_working_one_so_only_its_log_can_tell(
        stack: Stack) -> None:
    stack.fake.fault("api-gateway", "rate_limiter_off")
    url = stack.fake.url("api-gateway") + "/api/v1/test"
    assert {http_get(url)[0] for _ in range(110)} == {500}  # nothing refused
    series = stack.probe("api-gateway")
    assert value(series, "lucid_gateway_rate_limit_enforced") is None
    # The page comes from the gateway's start-up line (test_lucid_rate_limit_drill.py, docker).
    assert http_send(stack.fake.url("api-gateway") + "/health", "GET")[0] == 200
