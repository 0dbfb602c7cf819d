"""The probe engine: concurrency, timeouts, the min-interval cache, isolation of failures."""

from __future__ import annotations

import asyncio

from lucid_exporter.config import load
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
