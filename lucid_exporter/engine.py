"""Runs probes concurrently, each inside its own timeout, behind a min-interval cache.

Collect-on-scrape: a scrape runs every probe whose cached result is older than its
minimum interval, and waits at most for the scrape's budget. Two Prometheus replicas
scraping at once share one run (single flight) and, within the interval, one result,
so the backends see the load of one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

from . import __version__
from .errors import ProbeError, classify
from .metrics import Sample, counter, gauge
from .probes.base import Probe, ProbeContext
from .redact import redact
from .resolver import SharedResolver

if TYPE_CHECKING:
    from .config import Settings

log = logging.getLogger("lucid_exporter.engine")


@dataclass
class ProbeResult:
    probe: Probe
    samples: list[Sample]
    success: bool
    duration: float
    finished_at: float  # wall clock, for the status page
    finished_mono: float
    reason: str = ""
    message: str = ""
    cached: bool = False
    timeout: float = 0.0  # the timeout this run was given (configured, capped by the scrape budget)


@dataclass
class _Slot:
    last: ProbeResult | None = None
    task: asyncio.Task[ProbeResult] | None = None
    last_success_at: float = 0.0


@dataclass
class Round:
    results: list[ProbeResult] = field(default_factory=list)


class Engine:
    def __init__(self, settings: Settings, probes: Iterable[Probe]) -> None:
        self.settings = settings
        self.probes = list(probes)
        self._slots: dict[int, _Slot] = {id(p): _Slot() for p in self.probes}
        self._errors: dict[tuple[str, str, str], int] = {}
        self._sem = asyncio.Semaphore(settings.probes.concurrency)
        self._http: aiohttp.ClientSession | None = None
        self.first_round_done = asyncio.Event()

    async def start(self) -> None:
        if self._http is None:
            # One pooled session for every HTTP probe: no connection per scrape. Its name lookups
            # run in the resolver's own threads: a few lookups stuck on a dead name server must not
            # stall the loop's default executor that other libraries share.
            connector = aiohttp.TCPConnector(limit=64, limit_per_host=4, ttl_dns_cache=30,
                                             resolver=SharedResolver(self.settings.probes.io_threads))
            self._http = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": f"lucid-exporter/{__version__}"}
            )

    async def close(self) -> None:
        for slot in self._slots.values():
            if slot.task is not None and not slot.task.done():
                slot.task.cancel()
        for p in self.probes:
            try:
                await p.close()
            except Exception as e:  # closing must not stop the others from closing
                log.debug("closing probe %s/%s: %s", p.kind, p.target, e)
        if self._http is not None:
            await self._http.close()
            self._http = None

    def names(self) -> set[str]:
        out: set[str] = set()
        for p in self.probes:
            out |= p.selectors
        return out

    def select(self, name: str) -> list[Probe]:
        return [p for p in self.probes if name in p.selectors]

    async def collect(self, budget: float, probes: list[Probe] | None = None) -> Round:
        """Run (or reuse) every probe within ``budget`` seconds."""
        await self.start()
        chosen = self.probes if probes is None else probes
        results = await asyncio.gather(*(self._result(p, budget) for p in chosen))
        if probes is None:
            self.first_round_done.set()
        return Round(list(results))

    def last_results(self) -> list[ProbeResult]:
        return [s.last for s in self._slots.values() if s.last is not None]

    def cached_results(self, probes: list[Probe] | None = None) -> list[ProbeResult]:
        """The last result of each probe that has one, marked cached, without running anything
        (a scrape that found every slot busy for its whole budget)."""
        chosen = self.probes if probes is None else probes
        return [dataclasses.replace(last, cached=True) for p in chosen
                if (last := self._slots[id(p)].last) is not None]

    async def _result(self, probe: Probe, budget: float) -> ProbeResult:
        slot = self._slots[id(probe)]
        interval = probe.min_interval if probe.min_interval is not None else self.settings.probes.min_interval_seconds
        now = time.monotonic()
        if slot.last is not None and now - slot.last.finished_mono < interval:
            return dataclasses.replace(slot.last, cached=True)
        if slot.task is None or slot.task.done():
            slot.task = asyncio.create_task(self._run(probe, budget, slot))
        try:
            # shield: a scrape that gives up does not cancel the run another scrape shares.
            return await asyncio.wait_for(asyncio.shield(slot.task), timeout=budget + 0.05)
        except TimeoutError:
            return self._failure(probe, time.monotonic() - now, "timeout", "scrape budget exhausted", slot,
                                 timeout=budget)

    async def _run(self, probe: Probe, budget: float, slot: _Slot) -> ProbeResult:
        assert self._http is not None
        timeout = min(probe.timeout or self.settings.probes.timeout_seconds, budget)
        async with self._sem:
            start = time.monotonic()
            ctx = ProbeContext(self._http, self.settings, deadline=start + timeout)
            try:
                samples = await asyncio.wait_for(probe.run(ctx), timeout=timeout)
            except asyncio.CancelledError:
                raise
            except ProbeError as e:
                res = self._failure(probe, time.monotonic() - start, e.reason, e.message, slot, e.samples,
                                    timeout=timeout)
            except TimeoutError:
                res = self._failure(probe, time.monotonic() - start, "timeout",
                                    f"no answer within {timeout:.1f}s", slot, timeout=timeout)
            except Exception as e:  # a probe bug or an unexpected reply must not break the scrape
                reason, message = classify(e)
                res = self._failure(probe, time.monotonic() - start, reason, message, slot, timeout=timeout)
            else:
                duration = time.monotonic() - start
                if slot.last is not None and not slot.last.success:
                    log.info("probe recovered", extra={"probe": probe.kind, "target": probe.target})
                res = ProbeResult(probe, samples, True, duration, time.time(), time.monotonic(), timeout=timeout)
                slot.last_success_at = res.finished_at
        slot.last = res
        return res

    def _failure(self, probe: Probe, duration: float, reason: str, message: str, slot: _Slot,
                 samples: list[Sample] | None = None, timeout: float = 0.0) -> ProbeResult:
        message = redact(message)
        key = (probe.kind, probe.target, reason)
        self._errors[key] = self._errors.get(key, 0) + 1
        prev = slot.last
        # Log on a change of state, not on every scrape: a down backend must not flood the log.
        level = logging.WARNING if prev is None or prev.success or prev.reason != reason else logging.DEBUG
        log.log(level, "probe failed", extra={"probe": probe.kind, "target": probe.target,
                                              "reason": reason, "error": message})
        try:
            extra = probe.failure_samples(reason)
        except Exception:  # failure_samples is simple, but it must never raise out either
            extra = []
        res = ProbeResult(probe, [*(samples or []), *extra], False, duration, time.time(),
                          time.monotonic(), reason, message, timeout=timeout)
        slot.last = res
        return res

    def self_samples(self, results: list[ProbeResult]) -> list[Sample]:
        out: list[Sample] = [gauge("lucid_exporter_build_info", 1, "lucid-exporter version", version=__version__)]
        for r in results:
            lbl = {"probe": r.probe.kind, "target": r.probe.target}
            out.append(gauge("lucid_probe_success", 1 if r.success else 0,
                             "1 when the probe's last run succeeded", **lbl))
            out.append(gauge("lucid_probe_duration_seconds", r.duration,
                             "Duration of the probe's last run", **lbl))
            if r.timeout > 0:
                # The near-timeout alert compares the duration with this, not with a fixed number:
                # the timeout depends on the configuration and on the scrape's own timeout.
                out.append(gauge("lucid_probe_timeout_seconds", r.timeout,
                                 "Timeout the probe's last run was given (configured, capped by the scrape "
                                 "budget)", **lbl))
            last_ok = self._slots[id(r.probe)].last_success_at
            if last_ok:
                out.append(gauge("lucid_probe_last_success_timestamp_seconds", last_ok,
                                 "When the probe last succeeded (Unix time)", **lbl))
        wanted = {(r.probe.kind, r.probe.target) for r in results}
        for (kind, target, reason), n in sorted(self._errors.items()):
            if (kind, target) in wanted:
                out.append(counter("lucid_probe_errors_total", n, "Probe failures by reason",
                                   probe=kind, target=target, reason=reason))
        return out
