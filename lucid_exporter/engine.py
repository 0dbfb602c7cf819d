"""Runs probes concurrently, each inside its own timeout, behind a min-interval cache.

Collect-on-scrape: a scrape runs every probe whose cached result is older than its
minimum interval, and waits at most for the scrape's budget. Two Prometheus replicas
scraping at once share one run (single flight) and, within the interval, one result,
so the backends see the load of one.

Every probe of a scrape starts at once: a scrape lasts as long as its slowest probe, not as
long as waves of them (``probes.concurrency`` is an opt-in cap, to protect backends). The
shared HTTP pool keeps as many connections per host as the probes send it at once.

Expensive sources (a keyspace walk, ``dbStats``, ``_cat/indices``) are probes with their own,
longer interval that refresh in the background (``Probe.background``): once they have a result,
a scrape serves it and starts the next run without waiting for it;
``lucid_probe_result_age_seconds`` tells how old the served result is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from yarl import URL

from . import __version__
from .collector import Line, prepare
from .errors import ProbeError, classify
from .metrics import Sample, counter, gauge
from .probes.base import Probe, ProbeContext
from .redact import redact
from .resolver import SharedResolver

if TYPE_CHECKING:
    from .config import Settings

log = logging.getLogger("lucid_exporter.engine")
_OWN = ("lucid_probe_success", "lucid_probe_duration_seconds", "lucid_probe_timeout_seconds",
        "lucid_probe_last_success_timestamp_seconds")
_OWN_HELP = ("1 when the probe's last run succeeded", "Duration of the probe's last run",
             "Timeout the probe's last run was given (configured, capped by the scrape budget)",
             "When the probe last succeeded (Unix time)")


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
    # The samples' exposition lines, written when the result comes in (collector.Line).
    lines: list[Line] | None = None
    timeout: float = 0.0  # the timeout this run was given (configured, capped by the scrape budget)


@dataclass
class _Slot:
    last: ProbeResult | None = None
    task: asyncio.Task[ProbeResult] | None = None
    last_success_at: float = 0.0
    # The self-metrics of ``last`` (they change only with a new result), built once, and their lines.
    self_samples: list[Sample] | None = None
    self_lines: list[Line] | None = None
    self_samples_of: ProbeResult | None = None
    own_labels: dict[str, str] | None = None
    own_prefixes: list[str] = field(default_factory=list)


@dataclass
class Round:
    results: list[ProbeResult] = field(default_factory=list)


class Engine:
    def __init__(self, settings: Settings, probes: Iterable[Probe]) -> None:
        self.settings = settings
        self.probes = list(probes)
        self._slots: dict[int, _Slot] = {id(p): _Slot() for p in self.probes}
        self._errors: dict[tuple[str, str, str], int] = {}
        cap = settings.probes.concurrency
        self._sem = asyncio.Semaphore(cap) if cap else None
        self._http: aiohttp.ClientSession | None = None
        self.first_round_done = asyncio.Event()

    def http_pool_limits(self) -> tuple[int, int]:
        """(total, per host) connections of the shared HTTP pool: what the probes send at once.

        A host gets as many connections as requests the probes send it in one round (a service
        with a health check and four status checks: 5), so that no request of a scrape waits for
        another's connection, and the pool stays warm: no new connection per scrape.
        """
        per_host: Counter[tuple[str, str, int | None]] = Counter()
        for p in self.probes:
            for url, n in p.http_requests(self.settings):
                u = URL(url)
                per_host[(u.scheme, u.host or "", u.port)] += n
        configured = self.settings.probes.max_connections_per_host
        busiest = max(per_host.values(), default=1)
        limit_per_host = configured or busiest
        total = sum(min(n, limit_per_host) for n in per_host.values())
        return max(total, limit_per_host, 10), limit_per_host

    async def start(self) -> None:
        if self._http is None:
            # One pooled session for every HTTP probe: no connection per scrape. Its name lookups
            # run in the resolver's own threads: a few lookups stuck on a dead name server must not
            # stall the loop's default executor that other libraries share.
            total, per_host = self.http_pool_limits()
            connector = aiohttp.TCPConnector(limit=total, limit_per_host=per_host, ttl_dns_cache=30,
                                             resolver=SharedResolver(self.settings.probes.io_threads))
            # No cookie jar: probes send their own headers, and a service's Set-Cookie must not
            # leak into the requests of another check.
            self._http = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": f"lucid-exporter/{__version__}"},
                cookie_jar=aiohttp.DummyCookieJar(),
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
        started = time.monotonic()
        default_interval = self.settings.probes.min_interval_seconds
        results: list[ProbeResult | None] = []
        waiting: dict[int, asyncio.Task[ProbeResult]] = {}
        for i, probe in enumerate(chosen):
            slot = self._slots[id(probe)]
            last = slot.last
            interval = probe.min_interval if probe.min_interval is not None else default_interval
            if last is not None and started - last.finished_mono < interval:
                results.append(dataclasses.replace(last, cached=True))
                continue
            if slot.task is None or slot.task.done():
                slot.task = asyncio.create_task(self._run(probe, budget, slot))
            if probe.background and last is not None:
                # Stale while revalidating: the last result now, the next one for a later scrape.
                results.append(dataclasses.replace(last, cached=True))
                continue
            results.append(None)
            waiting[i] = slot.task
        if waiting:
            # One wait for the whole round. A run outlives a scrape that gives up on it (it is
            # never cancelled here): a concurrent or later scrape gets its result.
            await asyncio.wait(set(waiting.values()), timeout=budget + 0.05)
            for i, task in waiting.items():
                if task.done() and not task.cancelled():
                    results[i] = task.result()
                else:
                    results[i] = self._failure(chosen[i], time.monotonic() - started, "timeout",
                                               "scrape budget exhausted", self._slots[id(chosen[i])],
                                               timeout=budget)
        if probes is None:
            self.first_round_done.set()
        return Round([r for r in results if r is not None])

    def last_results(self) -> list[ProbeResult]:
        return [s.last for s in self._slots.values() if s.last is not None]

    def cached_results(self, probes: list[Probe] | None = None) -> list[ProbeResult]:
        """The last result of each probe that has one, marked cached, without running anything
        (a scrape that found every slot busy for its whole budget)."""
        chosen = self.probes if probes is None else probes
        return [dataclasses.replace(last, cached=True) for p in chosen
                if (last := self._slots[id(p)].last) is not None]

    async def _run(self, probe: Probe, budget: float, slot: _Slot) -> ProbeResult:
        if self._sem is None:
            return await self._run_now(probe, budget, slot)
        async with self._sem:
            return await self._run_now(probe, budget, slot)

    async def _run_now(self, probe: Probe, budget: float, slot: _Slot) -> ProbeResult:
        assert self._http is not None
        timeout = min(probe.timeout or self.settings.probes.timeout_seconds, budget)
        start = time.monotonic()
        ctx = ProbeContext(self._http, self.settings, deadline=start + timeout)
        try:
            # asyncio.timeout, not wait_for: no second task per probe run.
            async with asyncio.timeout(timeout):
                samples = await probe.run(ctx)
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
            res = ProbeResult(probe, samples, True, duration, time.time(), time.monotonic(), lines=prepare(samples),
                              timeout=timeout)
            slot.last_success_at = res.finished_at
        slot.last = res
        self._own(res)  # its self-metrics written now, while other probes still wait for answers
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
        all_samples = [*(samples or []), *extra]
        res = ProbeResult(probe, all_samples, False, duration, time.time(), time.monotonic(), reason, message,
                          lines=prepare(all_samples), timeout=timeout)
        slot.last = res
        return res

    def self_samples(self, results: list[ProbeResult]) -> list[Sample]:
        """The exporter's own metrics about these results (lucid_probe_success, ...)."""
        out = self._per_scrape_samples(results)
        for r in results:
            out += self._own(r)[0]
        return out

    def exposition(self, results: list[ProbeResult]) -> list[list[Line]]:
        """Every line of a scrape, one list per result: the results' samples and the self-metrics,
        mostly written already (per result, when it came in)."""
        groups: list[list[Line]] = []
        for r in results:
            groups.append(r.lines if r.lines is not None else prepare(r.samples))
            groups.append(self._own(r)[1])
        groups.append(prepare(self._per_scrape_samples(results)))
        return groups

    def _own(self, r: ProbeResult) -> tuple[list[Sample], list[Line]]:
        """The self-metrics of one result, built (and written) once per probe run; their labels
        are written once per probe (``_Slot.own_prefixes``)."""
        slot = self._slots[id(r.probe)]
        if slot.self_samples is None or slot.self_lines is None or not _same_run(slot.self_samples_of, r):
            probe = r.probe
            if slot.own_labels is None:
                slot.own_labels = {"probe": probe.kind, "target": probe.target}
                # The labels as the encoder writes them (escaped), cut from one line: between the
                # name and the last space, before the value.
                text = Line(gauge(_OWN[0], 0, **slot.own_labels)).text
                labels = text[len(_OWN[0]):text.rindex(" ")]
                slot.own_prefixes = [name + labels + " " for name in _OWN]
            lbl, prefixes = slot.own_labels, slot.own_prefixes
            keys, values = ("probe", "target"), (probe.kind, probe.target)
            own = [(0, Sample(_OWN[0], 1.0 if r.success else 0.0, lbl, _OWN_HELP[0])),
                   (1, Sample(_OWN[1], r.duration, lbl, _OWN_HELP[1]))]
            if r.timeout > 0:
                # The near-timeout alert compares the duration with this, not with a fixed number:
                # the timeout depends on the configuration and on the scrape's own timeout.
                own.append((2, Sample(_OWN[2], r.timeout, lbl, _OWN_HELP[2])))
            if slot.last_success_at:
                own.append((3, Sample(_OWN[3], slot.last_success_at, lbl, _OWN_HELP[3])))
            slot.self_samples, slot.self_samples_of = [sample for _, sample in own], r
            slot.self_lines = [Line.known(sample, keys, values, prefixes[i]) for i, sample in own]
        return slot.self_samples, slot.self_lines

    def _per_scrape_samples(self, results: list[ProbeResult]) -> list[Sample]:
        out: list[Sample] = [gauge("lucid_exporter_build_info", 1, "lucid-exporter version", version=__version__)]
        now = time.time()
        for r in results:
            if r.probe.background:
                out.append(gauge("lucid_probe_result_age_seconds", max(0.0, now - r.finished_at),
                                 "Seconds since the served result of a probe with its own interval was produced",
                                 probe=r.probe.kind, target=r.probe.target))
        wanted = {(r.probe.kind, r.probe.target) for r in results}
        for (kind, target, reason), n in sorted(self._errors.items()):
            if (kind, target) in wanted:
                out.append(counter("lucid_probe_errors_total", n, "Probe failures by reason",
                                   probe=kind, target=target, reason=reason))
        return out


def _same_run(a: ProbeResult | None, b: ProbeResult) -> bool:
    """Whether two results (one maybe a cached copy of the other) come from the same run."""
    return a is not None and a.finished_mono == b.finished_mono and a.probe is b.probe
