"""The HTTP server's policies, in-process: basic auth that no flood of wrong passwords can turn
against a legitimate scraper, open liveness and readiness, and a scrape budget that counts from
the request's arrival even when every probe slot is busy."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import bcrypt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from lucid_exporter.config import load
from lucid_exporter.engine import Engine, Probe, ProbeContext
from lucid_exporter.metrics import Sample, gauge
from lucid_exporter.server import BASIC_AUTH, BasicAuth, make_app

from ..support import parse_metrics, value

PASSWORD = "scraper-password-1"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Hanging(Probe):
    kind = "fake"
    target = "hanging"

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        await asyncio.sleep(3600)
        return []


class Quick(Probe):
    kind = "fake"
    target = "quick"

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        return [gauge("lucid_fake_value", 1)]


Factory = Callable[..., Any]


@pytest.fixture
async def client_for() -> AsyncIterator[Factory]:
    made: list[tuple[TestClient[Any, Any], Engine]] = []

    async def make(web: dict[str, Any], *probes: Probe,
                   probes_cfg: dict[str, Any] | None = None) -> TestClient[Any, Any]:
        settings = load(None, {"web": web, "probes": probes_cfg or {"min_interval_seconds": 0}})
        engine = Engine(settings, probes)
        client: TestClient[Any, Any] = TestClient(TestServer(make_app(engine, settings)))
        await client.start_server()
        made.append((client, engine))
        return client

    yield make
    for client, engine in made:
        await client.close()
        await engine.close()


def auth_of(client: TestClient[Any, Any]) -> BasicAuth:
    assert client.app is not None
    return client.app[BASIC_AUTH]


async def test_liveness_and_readiness_answer_without_credentials_everything_else_needs_them(
        client_for: Factory) -> None:
    client = await client_for({"basic_auth_users": {"ops": HASH}}, Quick())
    assert (await client.get("/-/healthy")).status == 200
    assert (await client.get("/-/ready")).status in (200, 503)  # open: no 401
    for path in ("/metrics", "/", "/probe?target=quick"):
        reply = await client.get(path)
        assert reply.status == 401 and reply.headers["WWW-Authenticate"].startswith("Basic")
    assert (await client.get("/metrics", headers=basic("ops", PASSWORD))).status == 200


async def test_each_outcome_is_verified_once_then_remembered(client_for: Factory) -> None:
    client = await client_for({"basic_auth_users": {"ops": HASH}}, Quick())
    auth = auth_of(client)
    for _ in range(3):
        assert (await client.get("/metrics", headers=basic("ops", PASSWORD))).status == 200
    assert auth.verifications == 1
    for _ in range(3):
        assert (await client.get("/metrics", headers=basic("ops", "wrong-password-1"))).status == 401
    assert auth.verifications == 2


async def test_an_unknown_user_costs_a_verification_like_a_known_one(client_for: Factory) -> None:
    # The dummy-hash path: an unknown name is not answered faster than a wrong password.
    client = await client_for({"basic_auth_users": {"ops": HASH}}, Quick())
    auth = auth_of(client)
    assert (await client.get("/metrics", headers=basic("nobody", PASSWORD))).status == 401
    assert auth.verifications == 1


async def test_identical_attempts_arriving_together_share_one_verification(client_for: Factory) -> None:
    client = await client_for({"basic_auth_users": {"ops": HASH}}, Quick())
    auth = auth_of(client)
    replies = await asyncio.gather(*(client.get("/metrics", headers=basic("ops", "wrong-password-1"))
                                     for _ in range(20)))
    assert {r.status for r in replies} <= {401, 429} and auth.verifications == 1


async def test_a_client_past_its_failures_gets_429_without_work_while_a_cached_scraper_is_served(
        client_for: Factory) -> None:
    client = await client_for({"basic_auth_users": {"ops": HASH}, "basic_auth_max_failures": 3}, Quick())
    auth = auth_of(client)
    assert (await client.get("/metrics", headers=basic("ops", PASSWORD))).status == 200
    statuses = [(await client.get("/metrics", headers=basic("ops", f"wrong-password-{i}"))).status
                for i in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]
    assert auth.verifications == 1 + 3
    # Same address, credentials already verified: the flood does not touch the scraper.
    assert (await client.get("/metrics", headers=basic("ops", PASSWORD))).status == 200


async def test_pending_verifications_are_bounded(client_for: Factory) -> None:
    client = await client_for({"basic_auth_users": {"ops": HASH}, "basic_auth_max_pending": 2,
                               "basic_auth_max_failures": 1000}, Quick())
    auth = auth_of(client)
    replies = await asyncio.gather(*(client.get("/metrics", headers=basic("ops", f"wrong-password-{i}"))
                                     for i in range(12)))
    statuses = sorted(r.status for r in replies)
    assert 429 in statuses and set(statuses) <= {401, 429}
    assert auth.verifications == statuses.count(401) <= 12


async def test_a_scrape_that_finds_every_slot_busy_gets_the_cache_within_its_budget(client_for: Factory) -> None:
    client = await client_for({"max_requests_in_flight": 1}, Hanging(), Quick(),
                              probes_cfg={"min_interval_seconds": 0, "timeout_seconds": 30,
                                          "scrape_timeout_offset_seconds": 0.2})
    header = {"X-Prometheus-Scrape-Timeout-Seconds": "1"}
    first = await client.get("/metrics", headers=header)  # fills the cache: hanging times out
    assert first.status == 200
    start = time.monotonic()
    replies = await asyncio.gather(*(client.get("/metrics", headers=header) for _ in range(4)))
    took = time.monotonic() - start
    # A correctness bound (Prometheus gives up at the header's timeout), not a speed claim.
    assert took < 1.0, took
    bodies = [await r.text() for r in replies]
    assert all(r.status == 200 for r in replies)
    assert all('lucid_fake_value 1.0' in b for b in bodies)
    assert all('lucid_probe_success{probe="fake",target="hanging"} 0.0' in b for b in bodies)


async def test_nothing_cached_yet_is_503_within_the_budget(client_for: Factory) -> None:
    client = await client_for({"max_requests_in_flight": 1}, Hanging(),
                              probes_cfg={"min_interval_seconds": 0, "timeout_seconds": 30,
                                          "scrape_timeout_offset_seconds": 0.2})
    slow = asyncio.ensure_future(client.get("/metrics", headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"}))
    await asyncio.sleep(0.1)
    reply = await client.get("/metrics", headers={"X-Prometheus-Scrape-Timeout-Seconds": "0.8"})
    assert reply.status == 503 and reply.headers["Retry-After"] == "1"
    assert (await slow).status == 200


async def test_security_headers_of_the_web_config_are_sent(client_for: Factory) -> None:
    client = await client_for({"http_server_config": {"headers": {"X-Frame-Options": "deny",
                                                                  "X-Content-Type-Options": "nosniff"}}})
    reply = await client.get("/-/healthy")
    assert reply.headers["X-Frame-Options"] == "deny" and reply.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_scrape_and_each_probe_report_the_timeout_they_were_given(client_for: Factory) -> None:
    """The near-timeout alerts compare durations with these, not with fixed numbers: the scrape's
    timeout as Prometheus sent it, each probe's as the engine gave it (configured, capped by the budget)."""
    client = await client_for({}, Quick(), probes_cfg={"min_interval_seconds": 0, "timeout_seconds": 5,
                                                       "scrape_timeout_offset_seconds": 0.5})

    async def scrape(header: str | None) -> tuple[float | None, float | None]:
        headers = {"X-Prometheus-Scrape-Timeout-Seconds": header} if header else {}
        series = parse_metrics(await (await client.get("/metrics", headers=headers)).text())
        return (value(series, "lucid_exporter_scrape_timeout_seconds"),
                value(series, "lucid_probe_timeout_seconds", probe="fake", target="quick"))

    scrape_timeout, probe_timeout = await scrape("3")
    assert scrape_timeout == 3 and probe_timeout == pytest.approx(2.5, abs=0.05)  # the budget: 3 s less the offset
    assert await scrape("30") == (30, 5)  # the configured probe timeout
    assert (await scrape(None))[0] == 10  # no header: the configured default
