"""What a scrape gets back: gzip when the scraper takes it (Prometheus always asks), plain otherwise."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from lucid_exporter.config import load
from lucid_exporter.engine import Engine, Probe, ProbeContext
from lucid_exporter.metrics import Sample, gauge
from lucid_exporter.server import gzip_accepted, make_app

PROMETHEUS = {"Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
              "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "Accept-Encoding": "gzip"}


class Services(Probe):
    kind = "fake"
    target = "services"

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        return [gauge("lucid_service_up", 1, "1 when the service's health check passes", service=f"svc-{i}",
                      cluster="gateway") for i in range(100)]


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    settings = load(None, {"probes": {"min_interval_seconds": 60}})
    engine = Engine(settings, [Services()])
    c: TestClient[Any, Any] = TestClient(TestServer(make_app(engine, settings)), auto_decompress=False)
    await c.start_server()
    yield c
    await c.close()
    await engine.close()


async def test_prometheus_gets_gzip_and_the_same_exposition_inside(client: TestClient[Any, Any]) -> None:
    zipped = await client.get("/metrics", headers=PROMETHEUS)
    plain = await client.get("/metrics", headers={**PROMETHEUS, "Accept-Encoding": "identity"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert zipped.headers["Vary"] == "Accept-Encoding"
    body = gzip.decompress(await zipped.read())
    assert body == await plain.read()
    assert b'lucid_service_up{cluster="gateway",service="svc-99"} 1.0\n' in body
    assert len(await zipped.read()) < len(body) / 5


async def test_a_scraper_that_refuses_gzip_gets_plain_text(client: TestClient[Any, Any]) -> None:
    for refusal in ("gzip;q=0", "", "br, deflate"):
        reply = await client.get("/metrics", headers={"Accept-Encoding": refusal})
        assert "Content-Encoding" not in reply.headers, refusal
        assert (await reply.read()).startswith(b"# HELP ")


def test_accept_encoding_is_read_as_http_says() -> None:
    assert gzip_accepted("gzip") and gzip_accepted("deflate, gzip;q=0.5") and gzip_accepted("*")
    assert gzip_accepted("GZIP ; q=1.0")
    assert not gzip_accepted(None) and not gzip_accepted("identity") and not gzip_accepted("gzip;q=0")
    assert not gzip_accepted("gzip;q=zero") and not gzip_accepted("x-gzip-ish")
