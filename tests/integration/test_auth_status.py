"""Auth service (guide: JWT Token Validation Failures) against the sim, under both personalities (the
real auth service verifies no token: POST /auth/verify is 401 to every token, so only the token's
expiry, read locally, is watched under the lucid profile)."""

from __future__ import annotations

import time
from pathlib import Path

from lucid_sim.world import mint_token

from ..conftest import start_exporter
from ..servers_status import Stack, _clear_faults, exporter_config, stack_fixture  # noqa: F401
from ..support import http_get, scrape, value

# lucid_auth_token_verify_ok of the monitoring token: verified (guide), or never asked (lucid).
VERIFIED = {"guide": 1, "lucid": None}


def test_monitoring_token_verifies_and_its_expiry_is_exposed(stack: Stack) -> None:
    series = stack.probe("auth-service")
    assert value(series, "lucid_auth_token_verify_ok") == VERIFIED[stack.profile]
    exp = value(series, "lucid_auth_probe_token_expiry_timestamp_seconds")
    assert exp is not None and exp - time.time() > 3600
    if stack.lucid:
        assert stack.blind("auth_verify", "lucid_auth_token_verify_ok") == {"LucidAuthTokenVerificationFailing"}


def test_jwt_token_validation_failures_invalid_token_errors_show_verify_not_ok(stack: Stack) -> None:
    if stack.lucid:
        reason = stack.refused("auth-service", "token_verification_failing")
        assert reason.startswith("not expressible: the real auth service already refuses every token")
        assert stack.blind("auth_verify", "lucid_auth_token_verify_ok") == {"LucidAuthTokenVerificationFailing"}
        return
    stack.sim.fault("auth-service", "token_verification_failing")
    series = stack.probe("auth-service")
    assert value(series, "lucid_auth_token_verify_ok") == 0


def test_jwt_token_validation_failures_token_expiration_shows_expiry_soon(stack: Stack, tmp_path: Path) -> None:
    cfg = exporter_config(stack.sim, token=mint_token(ttl=120))
    exp2 = start_exporter(tmp_path, cfg, name="short-token")
    try:
        series = scrape(f"{exp2.url}/probe?target=auth-service")
        assert value(series, "lucid_auth_token_verify_ok") == VERIFIED[stack.profile]
        expiry = value(series, "lucid_auth_probe_token_expiry_timestamp_seconds")
        assert expiry is not None and 0 < expiry - time.time() <= 120
    finally:
        exp2.proc.stop()


def test_a_rejected_token_never_appears_in_metrics_logs_or_status_page(stack: Stack, tmp_path: Path) -> None:
    secret = "garbage-token-s3cr3t-Zq9"
    cfg = exporter_config(stack.sim, token=secret)
    exp2 = start_exporter(tmp_path, cfg, name="bad-token")
    try:
        body = http_get(f"{exp2.url}/metrics")[1]
        series = scrape(f"{exp2.url}/probe?target=auth-service")
        assert value(series, "lucid_auth_token_verify_ok") == (None if stack.lucid else 0)
        assert value(series, "lucid_auth_probe_token_expiry_timestamp_seconds") is None
        admin = scrape(f"{exp2.url}/probe?target=admin-interface")
        assert value(admin, "lucid_admin_rbac_ok") == 0
        page = http_get(f"{exp2.url}/")[1]
        for text in (body, page, exp2.log()):
            assert secret not in text
    finally:
        exp2.proc.stop()
    assert secret not in exp2.proc.log.read_text(errors="replace")  # including shutdown
