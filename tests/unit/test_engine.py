"""The probe engine: concurrency, timeouts, the min-interval cache, isolation of failures."""

from __future__ import annotations

import asyncio

from lucid_exporter.config import Settings, load
from lucid_exporter.engine import Engine
from lucid_exporter.errors import ProbeError
from lucid_exporter.metrics import Sample, gauge
from lucid_exporter.probes.base import Probe, ProbeContext


class Fake(Probe):
    kind = "fake"

    def __init__(self, target: str, *, delay: float = 0.0, error: BaseException | None = None) -> None:
        self.target = target
        self.delay = delay
        self.error = error
        self.runs = 0

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        self.runs += 1
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return [gauge("lucid_fake_value", self.runs, target=self.target)]

    def failure_samples(self, reason: str) -> list[Sample]:
        return [gauge("lucid_fake_up", 0, target=self.target)]


def _engine(*probes: Probe, interval: float = 0.0, timeout: float = 5.0) -> Engine:
    settings = load(None, {"probes": {"min_interval_seconds": interval, "timeout_seconds": timeout}})
    return Engine(settings, probes)


async def test_a_hanging_probe_times_out_and_the_others_still_report() -> None:
    slow, ok = Fake("slow", delay=30), Fake("ok")
    engine = _engine(slow, ok, timeout=0.2)
    try:
        rnd = await asyncio.wait_for(engine.collect(budget=5), timeout=2)
    finally:
        await engine.close()
    by = {r.probe.target: r for r in rnd.results}
    assert by["slow"].success is False and by["slow"].reason == "timeout"
    assert [s.name for s in by["slow"].samples] == ["lucid_fake_up"]
    assert by["ok"].success is True and by["ok"].samples[0].value == 1


async def test_the_scrape_budget_caps_the_probe_timeout() -> None:
    slow = Fake("slow", delay=30)
    engine = _engine(slow, timeout=10)
    try:
        rnd = await asyncio.wait_for(engine.collect(budget=0.3), timeout=2)
    finally:
        await engine.close()
    assert rnd.results[0].reason == "timeout"
    assert rnd.results[0].duration < 1


async def test_an_unexpected_exception_is_classified_not_raised() -> None:
    bad = Fake("bad", error=KeyError("status"))
    refused = Fake("refused", error=ConnectionRefusedError(111, "Connection refused"))
    explicit = Fake("explicit", error=ProbeError("parse", "field missing"))
    engine = _engine(bad, refused, explicit)
    try:
        rnd = await engine.collect(budget=5)
    finally:
        await engine.close()
    reasons = {r.probe.target: r.reason for r in rnd.results}
    assert reasons == {"bad": "other", "refused": "refused", "explicit": "parse"}
    errors = [s for s in engine.self_samples(rnd.results) if s.name == "lucid_probe_errors_total"]
    assert {(s.labels["target"], s.labels["reason"]) for s in errors} == set(reasons.items())


async def test_results_within_the_min_interval_come_from_cache() -> None:
    p = Fake("cached")
    engine = _engine(p, interval=60)
    try:
        first = await engine.collect(budget=5)
        second = await engine.collect(budget=5)
    finally:
        await engine.close()
    assert p.runs == 1
    assert second.results[0].cached and not first.results[0].cached
    assert second.results[0].samples == first.results[0].samples


async def test_two_concurrent_scrapes_share_one_run() -> None:
    p = Fake("shared", delay=0.2)
    engine = _engine(p, interval=0)
    try:
        a, b = await asyncio.gather(engine.collect(budget=5), engine.collect(budget=5))
    finally:
        await engine.close()
    assert p.runs == 1
    assert a.results[0].samples == b.results[0].samples


async def test_self_metrics_report_success_duration_and_build_info() -> None:
    engine = _engine(Fake("x"))
    try:
        rnd = await engine.collect(budget=5)
    finally:
        await engine.close()
    names = {s.name for s in engine.self_samples(rnd.results)}
    assert {"lucid_probe_success", "lucid_probe_duration_seconds", "lucid_exporter_build_info",
            "lucid_probe_last_success_timestamp_seconds"} <= names


class Gate(Probe):
    """Runs until ``opened``; records how many gates ran at the same time."""

    kind = "gate"
    running = 0
    most = 0

    def __init__(self, target: str, opened: asyncio.Event, expected: int) -> None:
        self.target = target
        self.opened = opened
        self.expected = expected

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        Gate.running += 1
        Gate.most = max(Gate.most, Gate.running)
        if Gate.running >= self.expected:
            self.opened.set()
        try:
            await asyncio.wait_for(self.opened.wait(), timeout=1)
        except TimeoutError:
            pass  # the cap held some back: let this one finish so that the others can start
        finally:
            Gate.running -= 1
        return []


async def _most_at_once(n: int, concurrency: int | None, opens_at: int) -> int:
    Gate.running = Gate.most = 0
    opened = asyncio.Event()
    settings = load(None, {"probes": {"min_interval_seconds": 0, "concurrency": concurrency}})
    engine = Engine(settings, [Gate(f"g{i}", opened, opens_at) for i in range(n)])
    try:
        await engine.collect(budget=10)
    finally:
        await engine.close()
    return Gate.most


async def test_every_probe_of_a_scrape_starts_at_once_unless_a_cap_is_configured() -> None:
    assert await _most_at_once(300, None, opens_at=300) == 300
    assert await _most_at_once(6, 2, opens_at=2) == 2


class Http(Probe):
    kind = "http"

    def __init__(self, target: str, url: str, n: int = 1) -> None:
        self.target, self.url, self.n = target, url, n

    def http_requests(self, settings: Settings) -> list[tuple[str, int]]:
        return [(self.url, self.n)]

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        return []


def test_the_http_pool_keeps_as_many_connections_per_host_as_the_probes_send_it_at_once() -> None:
    probes = [Http("health", "http://lucid-node-management:8095/health"),
              *(Http(f"check{i}", f"http://lucid-node-management:8095/api/{i}") for i in range(4)),
              Http("cors", "http://lucid-api-gateway:8080/api/v1/", n=3),
              Http("other", "http://lucid-admin-interface:8096/health")]
    total, per_host = Engine(load(None, {}), probes).http_pool_limits()
    assert per_host == 5 and total >= 5 + 3 + 1
    configured = Engine(load(None, {"probes": {"max_connections_per_host": 2}}), probes).http_pool_limits()
    assert configured[1] == 2


class Expensive(Probe):
    """A probe on an interval of its own, refreshed in the background; ``release`` lets a run end."""

    kind = "expensive"
    target = "store"
    background = True
    min_interval = 0.0

    def __init__(self) -> None:
        self.runs = 0
        self.release = asyncio.Event()

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        self.runs += 1
        if self.runs > 1:
            await self.release.wait()
        return [gauge("lucid_expensive_value", self.runs)]


async def test_a_background_probe_serves_its_last_result_while_the_next_run_goes_on() -> None:
    p = Expensive()
    engine = _engine(p)
    try:
        first = await engine.collect(budget=5)  # no result yet: the scrape waits for the first run
        assert first.results[0].samples[0].value == 1 and not first.results[0].cached
        second = await engine.collect(budget=5)  # stale: served at once, the next run started
        assert second.results[0].cached and second.results[0].samples[0].value == 1
        await asyncio.sleep(0)
        assert p.runs == 2
        p.release.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        third = await engine.collect(budget=5)
        assert third.results[0].samples[0].value == 2
        ages = [s for s in engine.self_samples(third.results) if s.name == "lucid_probe_result_age_seconds"]
        assert [(s.labels["probe"], s.labels["target"]) for s in ages] == [("expensive", "store")]
        assert ages[0].value >= 0
    finally:
        await engine.close()


async def test_the_scrape_s_lines_are_what_its_samples_render_to() -> None:
    from lucid_exporter.collector import render, render_lines

    quoted = Fake('odd "target" \\ name')
    failing = Fake("bad", error=ProbeError("parse", "field missing"))
    engine = _engine(Fake("ok"), quoted, failing)
    try:
        rnd = await engine.collect(budget=5)
        accept = "application/openmetrics-text;version=1.0.0"
        samples = [s for r in rnd.results for s in r.samples] + engine.self_samples(rnd.results)
        assert render_lines(engine.exposition(rnd.results), accept) == render(samples, accept)
    finally:
        await engine.close()
