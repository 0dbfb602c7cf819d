"""The API gateway's rate limiting and CORS (guide: Rate Limiting Not Working, CORS Errors).

Rate limit: one ordinary request per run, never a flood; its X-RateLimit-* headers are read. What
their absence proves depends on the API profile (the check's ``rate_limit_headers``): the guide's
gateway sends them on every answer, so a reply without them is evidence the limiter is off; the real
gateway sends them only on its 429, so a reply without them proves nothing. Hence
``lucid_gateway_rate_limit_enforced``: 1 on evidence the limiter works (a 429, or a limit above 0),
0 on evidence it does not, absent without evidence. The alert reads only evidence.

The real gateway's only other trace is its start-up log line ``RateLimitMiddleware initialized
(enabled=..., rpm=...)`` (it keeps its counters in memory, writes nothing to Redis and logs no
refusal): ``RateLimiterStartupProbe`` reads it once per container start, from the first minutes of
that container's log (a line the gateway prints only when its logging passes INFO).

CORS: one preflight (OPTIONS) per configured origin, sent concurrently.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from ..checks import Check
from ..config import Settings
from ..errors import ProbeError
from ..inventory import Service
from ..metrics import Sample, gauge
from .base import Probe, ProbeContext
from .docker import DockerAccess, DockerProbe, inspect_container, parse_docker_time, shared_access
from .status import CheckProbe, runnable

ENFORCED_HELP = ("1 on evidence the gateway rate-limits (a 429, or a limit above 0), 0 on evidence it does not; "
                 "absent without evidence")
STARTUP_WINDOW_SECONDS = 120.0  # of a container's log, from its start, searched for the start-up line
STARTUP_MAX_BYTES = 1_048_576  # read at most this much of that window
_TRUE = {"true", "1", "yes", "on"}


def rate_limit_samples(reply_status: int, headers: Any, mode: str = "every_response") -> list[Sample]:
    """Samples from the X-RateLimit-* headers of one ordinary gateway reply; ``mode`` says when the
    gateway sends them (every_response: the guide's; on_refusal: the real gateway's, only on a 429)."""
    limit = headers.get("X-RateLimit-Limit")
    remaining = headers.get("X-RateLimit-Remaining")
    present = limit is not None and remaining is not None
    out = [gauge("lucid_gateway_rate_limit_headers_present", 1 if present else 0,
                 "1 when the gateway answers with X-RateLimit-Limit and X-RateLimit-Remaining")]
    try:
        if limit is not None:
            out.append(gauge("lucid_gateway_rate_limit_limit", float(limit.split(",")[0].split(";")[0]),
                             "Requests allowed per window (X-RateLimit-Limit)"))
        if remaining is not None:
            out.append(gauge("lucid_gateway_rate_limit_remaining", float(remaining.split(",")[0].split(";")[0]),
                             "Requests left in the window for the exporter (X-RateLimit-Remaining)"))
    except ValueError:
        raise ProbeError("parse", "X-RateLimit-* header is not a number", out[:1]) from None
    out.append(gauge("lucid_gateway_rate_limited", 1 if reply_status == 429 else 0,
                     "1 when the gateway refused the exporter's request with 429"))
    enforced: float | None = None
    if reply_status == 429:
        enforced = 1.0  # a refusal is the limiter at work, whatever its headers
    elif limit is not None:
        enforced = 1.0 if float(limit.split(",")[0].split(";")[0]) > 0 else 0.0
    elif mode == "every_response":
        enforced = 0.0  # this gateway sends the headers on every answer: none means no limiter
    if enforced is not None:
        out.append(gauge("lucid_gateway_rate_limit_enforced", enforced, ENFORCED_HELP))
    return out


def startup_evidence(line: str, pattern: re.Pattern[str]) -> tuple[bool, float] | None:
    """(enabled, requests per minute) from the gateway's start-up log line; None when not that line."""
    m = pattern.search(line)
    if m is None:
        return None
    try:
        rpm = float(m.group("rpm"))
    except ValueError:
        return None
    return m.group("enabled").strip().lower() in _TRUE, rpm


def startup_samples(evidence: tuple[bool, float] | None) -> list[Sample]:
    if evidence is None:
        return []
    enabled, rpm = evidence
    return [gauge("lucid_gateway_rate_limiter_enabled", 1 if enabled else 0,
                  "1 when the gateway's start-up log says its rate limiter is enabled, 0 when it says disabled"),
            gauge("lucid_gateway_rate_limiter_requests_per_minute", rpm,
                  "Requests a minute the gateway's rate limiter allows, from its start-up log line")]


def cors_ok(origin: str, status: int, headers: Any, method: str = "GET") -> bool:
    """A preflight passes when it is not refused and allows this origin (or *) and the method."""
    if status >= 400:
        return False
    allow_origin = (headers.get("Access-Control-Allow-Origin") or "").strip()
    if allow_origin not in (origin, "*"):
        return False
    methods = headers.get("Access-Control-Allow-Methods")
    if methods is not None:
        allowed = {m.strip().upper() for m in methods.split(",")}
        if method not in allowed and "*" not in allowed:
            return False
    return True


class RateLimitProbe(CheckProbe):
    async def run(self, ctx: ProbeContext) -> list[Sample]:
        reply = await self.get(ctx)
        if reply.status >= 500:
            raise ProbeError("http_status", f"gateway answered HTTP {reply.status}")
        return rate_limit_samples(reply.status, reply.headers, self.check.rate_limit_headers)


class RateLimiterStartupProbe(DockerProbe):
    """The gateway's start-up log line, read once per start of its container (docker logs since the
    container's StartedAt): whether the rate limiter is enabled, and its limit."""

    kind = "logs"

    def __init__(self, check: Check, service: Service, access: DockerAccess) -> None:
        self.check = check
        self.service = service
        self.access = access
        self.target = f"{check.service}/{check.name}_startup"
        self.pattern = re.compile(check.startup_log)
        self._seen: tuple[str, str] | None = None  # (container id, StartedAt) whose window was read
        self._samples: list[Sample] = []

    @property
    def selectors(self) -> frozenset[str]:
        return frozenset({self.target, self.check.service, self.check.name})

    def _search(self, container_id: str, since: float, until: float) -> tuple[bool, float] | None:
        # follow=False explicitly: docker-py follows a streamed log unless told not to, and a running
        # container's log never ends.
        stream = self.access.api.logs(container_id, stdout=True, stderr=True, stream=True, follow=False,
                                      timestamps=False, since=max(since, 1e-6), until=until)
        read = 0
        rest = b""
        try:
            for chunk in stream:
                read += len(chunk)
                *lines, rest = (rest + chunk).split(b"\n")
                for line in lines:
                    found = startup_evidence(line.decode("utf-8", errors="replace"), self.pattern)
                    if found is not None:
                        return found
                if read > STARTUP_MAX_BYTES:
                    return None
            return startup_evidence(rest.decode("utf-8", errors="replace"), self.pattern)
        finally:
            stream.close()

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        try:
            inspect = await self.access.call(inspect_container, self.access, self.service.container)
        except ProbeError as e:
            if e.message.startswith("not found"):
                return []  # no container: the container probe says so; no evidence here
            raise
        state = inspect.get("State") or {}
        key = (str(inspect.get("Id", "")), str(state.get("StartedAt", "")))
        if key == self._seen:
            return list(self._samples)
        started = parse_docker_time(state.get("StartedAt"))
        if started <= 0:
            return []
        window_end = started + STARTUP_WINDOW_SECONDS
        now = time.time()
        found = await self.access.call(self._search, key[0], started - 1.0, min(window_end, now))
        self._samples = startup_samples(found)
        if found is not None or now > window_end:
            self._seen = key  # read for good: the line came, or the window it comes in has passed
        return list(self._samples)


class CorsProbe(CheckProbe):
    def http_requests(self, settings: Settings) -> list[tuple[str, int]]:
        return [(self.url, len(settings.status.cors_origins))]

    async def _preflight(self, ctx: ProbeContext, origin: str) -> Sample:
        headers = {**self.check.headers, "Origin": origin, "Access-Control-Request-Method": "GET",
                   "Access-Control-Request-Headers": "X-Requested-With"}
        reply = await self.get(ctx, headers, "OPTIONS")
        if reply.status >= 500:
            raise ProbeError("http_status", f"CORS preflight answered HTTP {reply.status}")
        return gauge("lucid_gateway_cors_preflight_ok", 1 if cors_ok(origin, reply.status, reply.headers) else 0,
                     "1 when the gateway's CORS preflight allows the origin", origin=origin)

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        return list(await asyncio.gather(*(self._preflight(ctx, o) for o in ctx.settings.status.cors_origins)))


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    limits = runnable(settings, services, "rate_limit")
    probes: list[Probe] = [RateLimitProbe(c, s, settings) for c, s in limits]
    if settings.docker.enabled and settings.logs.enabled:
        probes += [RateLimiterStartupProbe(c, s, shared_access(settings.docker)) for c, s in limits
                   if c.startup_log and s is not None and s.container]
    probes += [CorsProbe(c, s, settings) for c, s in runnable(settings, services, "cors")]
    return probes
