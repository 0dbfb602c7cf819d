"""API gateway (guide: Rate Limiting Not Working, CORS Errors) against the sim, under both personalities.

The real gateway keeps its counters in memory and sends ``X-RateLimit-*`` only on its 429, and every
route error is a plain-text 500: a working limiter and a disabled one answer the exporter alike, so
under the lucid profile only a refusal (evidence it works) or the gateway's start-up line (evidence it
is off: test_lucid_rate_limit_drill.py) decides, and nothing pages without evidence."""

from __future__ import annotations

from ..servers_status import Stack, _clear_faults, stack_fixture  # noqa: F401
from ..support import http_get, value

# What a route of the gateway answers when it is let through: the guide's {"message": "ok"}, the real
# gateway's plain 500 (its exception handler raises).
ALLOWED = {"guide": 200, "lucid": 500}


def _route(stack: Stack) -> str:
    return stack.sim.config["services"]["api-gateway"]["url"] + "/api/v1/test"


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
    if stack.lucid:
        # Headers only on a 429: none on the exporter's allowed request, which is no evidence either way,
        # and a working real gateway does not page.
        assert value(series, "lucid_gateway_rate_limit_headers_present") == 0
        assert value(series, "lucid_gateway_rate_limit_enforced") is None
        _, report = stack.doctor("--target", "api-gateway")
        assert "rate-limiting-not-working" not in {f["problem"] for f in report["findings"]}
    else:
        assert value(series, "lucid_gateway_rate_limit_headers_present") == 1
        assert value(series, "lucid_gateway_rate_limit_limit") == 100
    stack.sim.fault("api-gateway", "rate_limiter_off")
    series = stack.probe("api-gateway")
    assert value(series, "lucid_gateway_rate_limit_headers_present") == 0
    assert value(series, "lucid_gateway_rate_limit_limit") is None
    # And the limit is really off: the guide's 110 requests all pass.
    assert {http_get(_route(stack))[0] for _ in range(110)} == {ALLOWED[stack.profile]}
    if stack.lucid:
        # The real gateway with its limiter off answers as a working one: only its log can tell.
        assert value(stack.probe("api-gateway"), "lucid_gateway_rate_limit_enforced") is None


def test_rate_limiting_guide_110_requests_refused_past_100_and_remaining_shows_it(stack: Stack) -> None:
    """The guide's 110 requests, sent by the test (the exporter never does): the exporter's next request
    from the same address is refused too, and the refusal carries the limit."""
    remaining = value(stack.probe("api-gateway"), "lucid_gateway_rate_limit_remaining")
    if stack.lucid:
        assert remaining is None  # no header on an allowed answer
    else:
        assert remaining is not None and 0 < remaining < 100
    codes = [http_get(_route(stack))[0] for _ in range(110)]
    assert codes.count(429) >= 10
    assert set(codes) == {ALLOWED[stack.profile], 429}
    if not stack.lucid:
        assert set(codes[: int(remaining or 0)]) == {200}
    series = stack.probe("api-gateway")
    assert value(series, "lucid_gateway_rate_limited") == 1
    assert value(series, "lucid_gateway_rate_limit_enforced") == 1  # a refusal is evidence the limiter works
    if stack.lucid:
        assert value(series, "lucid_gateway_rate_limit_limit") == 100  # read from the 429
    else:
        assert value(series, "lucid_gateway_rate_limit_remaining") == 0
    # A minute later (on the sim's clock) the window has slid by: the exporter's checks pass again.
    stack.sim.advance(61)
    series = stack.probe("api-gateway")
    assert value(series, "lucid_gateway_rate_limited") == 0
    assert value(series, "lucid_gateway_cors_preflight_ok", origin=stack.sim.config["status"]["cors_origins"][0]) == 1
