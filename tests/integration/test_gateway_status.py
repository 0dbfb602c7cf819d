"""API gateway (guide: Rate Limiting Not Working, CORS Errors) against the sim."""

from __future__ import annotations

from ..servers_status import Stack, _clear_faults, stack_fixture  # noqa: F401
from ..support import http_get, value


def test_cors_preflight_passes_for_each_configured_origin(stack: Stack) -> None:
    series = stack.probe("api-gateway")
    for origin in stack.sim.config["status"]["cors_origins"]:
        assert value(series, "lucid_gateway_cors_preflight_ok", origin=origin) == 1


def test_cors_errors_preflight_request_failures_show_origin_rejected(stack: Stack) -> None:
    stack.sim.fault("api-gateway", "cors_origin_rejected")
    series = stack.probe("api-gateway")
    for origin in stack.sim.config["status"]["cors_origins"]:
        assert value(series, "lucid_gateway_cors_preflight_ok", origin=origin) == 0
    assert value(series, "lucid_probe_success", target="api-gateway/gateway_cors") == 1


def test_rate_limiting_not_working_no_enforcement_shows_no_rate_limit_headers(stack: Stack) -> None:
    series = stack.probe("api-gateway")
    assert value(series, "lucid_gateway_rate_limit_headers_present") == 1
    assert value(series, "lucid_gateway_rate_limit_limit") == 100
    stack.sim.fault("api-gateway", "rate_limiter_off")
    series = stack.probe("api-gateway")
    assert value(series, "lucid_gateway_rate_limit_headers_present") == 0
    assert value(series, "lucid_gateway_rate_limit_limit") is None
    # And the limit is really off: the guide's 110 requests all pass.
    url = stack.sim.config["services"]["api-gateway"]["url"] + "/api/v1/test"
    assert {http_get(url)[0] for _ in range(110)} == {200}


def test_rate_limiting_guide_110_requests_refused_past_100_and_remaining_shows_it(stack: Stack) -> None:
    """Last in this module: it uses up the window the exporter shares with the test (same address)."""
    remaining = value(stack.probe("api-gateway"), "lucid_gateway_rate_limit_remaining")
    assert remaining is not None and 0 < remaining < 100
    url = stack.sim.config["services"]["api-gateway"]["url"] + "/api/v1/test"
    codes = [http_get(url)[0] for _ in range(110)]
    assert codes.count(429) >= 10
    assert set(codes[: int(remaining)]) == {200}
    series = stack.probe("api-gateway")
    assert value(series, "lucid_gateway_rate_limit_remaining") == 0
    assert value(series, "lucid_gateway_rate_limited") == 1
