"""The real `lucid-exporter serve` against the real sim, under both personalities (guide sim + guide
profile, lucid sim + lucid profile): every service's health, each fault kind, /probe, readiness, a
hanging service, bad config, secrets, basic auth."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from lucid_exporter import inventory

from ..conftest import PROFILES, Exporter, Sim, start_exporter, start_sim
from ..support import EXPORTER, http_get, scrape, value, wait_until

pytestmark = pytest.mark.integration


def health_checked(profile: str) -> int:
    """The services with a health check under the API profile: the guide gives rate-limiter no port; the
    real stack has no rate-limiter at all."""
    return sum(1 for s in inventory.default_catalogue(profile).values() if s.health != "none")


@pytest.fixture(scope="module", params=PROFILES)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sim, Exporter]]:
    tmp = tmp_path_factory.mktemp(f"health-{request.param}")
    sim = start_sim(tmp, profile=request.param)
    cfg = {**sim.config, "probes": {"min_interval_seconds": 0, "timeout_seconds": 1}}
    try:
        exp = start_exporter(tmp, cfg)
    except BaseException:
        sim.proc.stop()
        raise
    yield sim, exp
    exp.proc.stop()
    sim.proc.stop()


@pytest.fixture
def clean(stack: tuple[Sim, Exporter]) -> Iterator[tuple[Sim, Exporter]]:
    stack[0].clear()
    yield stack
    stack[0].clear()


def test_every_service_of_the_guide_is_up_on_a_healthy_stack(clean: tuple[Sim, Exporter]) -> None:
    sim, exp = clean
    series = scrape(f"{exp.url}/metrics")
    ups = {dict(lbl)["service"]: v for (n, lbl), v in series.items() if n == "lucid_service_up"}
    assert len(ups) == health_checked(sim.profile)
    assert set(ups.values()) == {1.0}, {k: v for k, v in ups.items() if v != 1}
    assert value(series, "lucid_probe_success", probe="health", target="auth-service") == 1
    assert value(series, "lucid_service_http_status", service="auth-service") == 200
    assert value(series, "lucid_service_up", service="elasticsearch", cluster="foundation") == 1
    assert value(series, "lucid_exporter_build_info") == 1


@pytest.mark.parametrize(("kind", "reason"), [
    ("down", "refused"), ("error", "http_status"), ("garbage", "parse"),
])
def test_failing_service_shows_up_0_with_its_reason(clean: tuple[Sim, Exporter], kind: str, reason: str) -> None:
    sim, exp = clean
    sim.fault("auth-service", kind)
    series = scrape(f"{exp.url}/metrics")
    assert value(series, "lucid_service_up", service="auth-service") == 0
    assert value(series, "lucid_probe_success", probe="health", target="auth-service") == 0
    assert (value(series, "lucid_probe_errors_total", probe="health", target="auth-service", reason=reason) or 0) >= 1
    # The other services are untouched.
    assert value(series, "lucid_service_up", service="api-gateway") == 1


def test_tcp_service_down_is_refused(clean: tuple[Sim, Exporter]) -> None:
    sim, exp = clean
    sim.fault("redis", "down")
    series = scrape(f"{exp.url}/metrics")
    assert value(series, "lucid_service_up", service="redis") == 0
    assert (value(series, "lucid_probe_errors_total", target="redis", reason="refused") or 0) >= 1


def test_unhealthy_body_is_up_0_while_the_probe_itself_works(clean: tuple[Sim, Exporter]) -> None:
    sim, exp = clean
    sim.fault("session-api", "unhealthy")
    series = scrape(f"{exp.url}/metrics")
    assert value(series, "lucid_service_up", service="session-api") == 0
    assert value(series, "lucid_probe_success", probe="health", target="session-api") == 1


def test_degraded_service_stays_up_and_sets_degraded(clean: tuple[Sim, Exporter]) -> None:
    sim, exp = clean
    degraded = "blockchain-engine"
    if sim.lucid:
        # The real blockchain API's health is a constant; the real auth service is degraded (HTTP 200)
        # when one of its stores is out of reach.
        assert sim.refuses("blockchain-engine", "degraded") == (
            "degraded on blockchain-engine: its health is a static {status: healthy} that checks nothing")
        degraded = "auth-service"
        sim.fault(degraded, "database_down")
    else:
        sim.fault(degraded, "degraded")
    series = scrape(f"{exp.url}/metrics")
    assert value(series, "lucid_service_up", service=degraded) == 1
    assert value(series, "lucid_service_degraded", service=degraded) == 1
    assert value(series, "lucid_service_degraded", service="api-gateway") == 0


def test_elasticsearch_red_is_down_and_yellow_is_degraded(clean: tuple[Sim, Exporter]) -> None:
    sim, exp = clean
    sim.fault("elasticsearch", "unhealthy")
    assert value(scrape(f"{exp.url}/metrics"), "lucid_service_up", service="elasticsearch") == 0
    sim.clear()
    sim.fault("elasticsearch", "degraded")
    series = scrape(f"{exp.url}/metrics")
    assert value(series, "lucid_service_up", service="elasticsearch") == 1
    assert value(series, "lucid_service_degraded", service="elasticsearch") == 1


def test_a_hanging_service_does_not_hold_the_scrape(clean: tuple[Sim, Exporter]) -> None:
    sim, exp = clean
    sim.fault("xrdp", "hang")
    start = time.monotonic()
    series = scrape(f"{exp.url}/metrics", timeout_header=3)
    elapsed = time.monotonic() - start
    assert elapsed < 3, f"scrape took {elapsed:.2f}s with a 3s scrape timeout"
    assert value(series, "lucid_service_up", service="xrdp") == 0
    assert (value(series, "lucid_probe_errors_total", target="xrdp", reason="timeout") or 0) >= 1
    ups = [v for (n, lbl), v in series.items() if n == "lucid_service_up" and dict(lbl)["service"] != "xrdp"]
    assert len(ups) == health_checked(sim.profile) - 1 and set(ups) == {1.0}


def test_a_tiny_scrape_timeout_header_still_answers(clean: tuple[Sim, Exporter]) -> None:
    sim, exp = clean
    sim.fault("xrdp", "hang")
    start = time.monotonic()
    status, _ = http_get(f"{exp.url}/metrics", {"X-Prometheus-Scrape-Timeout-Seconds": "0.2"})
    assert status == 200 and time.monotonic() - start < 1.5
    status, _ = http_get(f"{exp.url}/metrics", {"X-Prometheus-Scrape-Timeout-Seconds": "bogus"})
    assert status == 200


def test_probe_endpoint_runs_one_configured_service(clean: tuple[Sim, Exporter]) -> None:
    _, exp = clean
    status, body = http_get(f"{exp.url}/probe?target=auth-service")
    assert status == 200
    assert 'lucid_service_up{cluster="auth",service="auth-service"} 1.0' in body
    assert "api-gateway" not in body


@pytest.mark.parametrize("query", ["target=http://169.254.169.254/latest", "target=nope", "", "target="])
def test_probe_endpoint_refuses_unknown_names(clean: tuple[Sim, Exporter], query: str) -> None:
    _, exp = clean
    status, body = http_get(f"{exp.url}/probe?{query}")
    assert status == 400
    assert "target" in body


def test_health_ready_and_status_page(clean: tuple[Sim, Exporter]) -> None:
    sim, exp = clean
    assert http_get(f"{exp.url}/-/healthy")[0] == 200
    wait_until(lambda: http_get(f"{exp.url}/-/ready")[0] == 200, what="ready")
    sim.fault("wallet-manager", "error")
    scrape(f"{exp.url}/metrics")
    status, page = http_get(f"{exp.url}/")
    assert status == 200
    assert "wallet-manager" in page and "http_status" in page and "HTTP 500" in page
    assert http_get(f"{exp.url}/nope")[0] == 404


def test_bad_config_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yml"
    cfg.write_text("probes:\n  timeout_seconds: zero\nservices:\n  auth-service:\n    url: ftp://x\n")
    r = subprocess.run([*EXPORTER, "serve", "--config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert any("probes.timeout_seconds" in line for line in lines)
    assert any("services.auth-service.url" in line for line in lines)
    assert "Traceback" not in r.stderr


def test_config_command_warns_about_shared_addresses(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text("services:\n  xrdp:\n    url: http://lucid-rdp-manager:8090\n")
    r = subprocess.run([*EXPORTER, "config", "--config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert "rdp-manager, xrdp share the address" in r.stderr


def test_secrets_never_appear_in_metrics_page_config_or_log(clean: tuple[Sim, Exporter], tmp_path: Path) -> None:
    sim, _ = clean
    password = "correct-horse-battery-staple"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    url_secret = "url-pass-9f8e7d"
    cfg = {**sim.config, "web": {"basic_auth_users": {"ops": hashed}}}
    # A credential in a service URL, and the service failing so that the URL shows up in errors.
    cfg["services"] = {**sim.config["services"], "api-gateway": {"url": f"http://ops:{url_secret}@127.0.0.1:1"}}
    exp = start_exporter(tmp_path, cfg)
    try:
        auth = {"Authorization": "Basic " + base64.b64encode(f"ops:{password}".encode()).decode()}
        assert http_get(f"{exp.url}/metrics")[0] == 401
        assert http_get(f"{exp.url}/metrics", {"Authorization": "Basic b3BzOndyb25n"})[0] == 401
        status, metrics = http_get(f"{exp.url}/metrics", auth)
        assert status == 200 and "lucid_service_up" in metrics
        status, page = http_get(f"{exp.url}/", auth)
        assert status == 200
        dumped = subprocess.run([*EXPORTER, "config", "--config", str(tmp_path / "exporter.yml")],
                                capture_output=True, text=True, timeout=30)
        assert dumped.returncode == 0 and "<secret>" in dumped.stdout
        log = exp.log()
        for text in (metrics, page, dumped.stdout, dumped.stderr, log):
            assert password not in text
            assert hashed not in text
            assert url_secret not in text
    finally:
        exp.proc.stop()
    assert url_secret not in exp.log() and hashed not in exp.log()


def test_a_failure_is_logged_once_with_its_reason(clean: tuple[Sim, Exporter]) -> None:
    sim, exp = clean
    scrape(f"{exp.url}/metrics")  # up again after whatever the module's other tests did
    logged_before = len(exp.log())
    sim.fault("payout-router", "down")
    for _ in range(3):
        scrape(f"{exp.url}/metrics")
    lines = [line for line in exp.log()[logged_before:].splitlines()
             if "target=payout-router" in line and "probe failed" in line]
    # Logged on the change of state, not on every scrape.
    assert len(lines) == 1 and "reason=refused" in lines[0]


def test_tls_serves_metrics_over_https(tmp_path: Path) -> None:
    import ssl
    import urllib.request

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    sim = start_sim(tmp_path)
    try:
        exp = start_exporter(tmp_path, {**sim.config, "web": {"tls_cert_file": str(cert), "tls_key_file": str(key)}})
        try:
            ctx = ssl.create_default_context(cafile=str(cert))
            ctx.check_hostname = False
            url = exp.url.replace("http://", "https://") + "/-/healthy"
            with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
                assert r.status == 200
        finally:
            exp.proc.stop()
    finally:
        sim.proc.stop()


def test_check_prints_a_table_and_exits_1_when_a_probe_fails(clean: tuple[Sim, Exporter]) -> None:
    sim, _ = clean
    sim.fault("payment-gateway", "error")
    r = subprocess.run([*EXPORTER, "check", "--config", str(sim.config_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "payment-gateway" in r.stdout and "FAIL" in r.stdout and "http_status" in r.stdout
    r = subprocess.run([*EXPORTER, "check", "--json", "--target", "auth-service", "--config", str(sim.config_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    report = json.loads(r.stdout)
    assert report["ok"] is True
    targets = [p["target"] for p in report["probes"]]
    assert "auth-service" in targets and all(t.split("/")[0] == "auth-service" for t in targets)


def test_doctor_names_the_guide_problem_and_exits_0_once_fixed(clean: tuple[Sim, Exporter]) -> None:
    sim, _ = clean
    sim.fault("node-management", "down")
    cmd = [*EXPORTER, "doctor", "--config", str(sim.config_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "Node Registration Failures" in r.stdout
    assert "curl http://localhost:8095/api/v1/nodes/status" in r.stdout  # the guide's steps, verbatim
    assert "docker logs lucid-node-management --tail 50" in r.stdout
    r = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=60)
    report = json.loads(r.stdout)
    assert [f["problem"] for f in report["findings"]] == ["node-registration-failures"]
    sim.clear()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout
