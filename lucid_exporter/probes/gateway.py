"""The API gateway's rate limiting and CORS (guide: Rate Limiting Not Working, CORS Errors).

Rate limit: one ordinary request per run, never a flood; its X-RateLimit-* headers are read.
CORS: one preflight (OPTIONS) per configured origin, sent concurrently.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..config import Settings
from ..errors import ProbeError
from ..inventory import Service
from ..metrics import Sample, gauge
from .base import Probe, ProbeContext
from .status import CheckProbe, runnable


def rate_limit_samples(reply_status: int, headers: Any) -> list[Sample]:
    """Samples from the X-RateLimit-* headers of one ordinary gateway reply."""
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
    return out


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
        return rate_limit_samples(reply.status, reply.headers)


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
    probes: list[Probe] = [RateLimitProbe(c, s, settings) for c, s in runnable(settings, services, "rate_limit")]
    probes += [CorsProbe(c, s, settings) for c, s in runnable(settings, services, "cors")]
    return probes
