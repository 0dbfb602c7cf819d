"""Service health: GET each service's health path (or connect, for TCP-only services).

``lucid_service_up`` is 1 only on a 2xx whose JSON body (if any) does not report an
unhealthy state. Lucid services answer ``{"status": "healthy"|"degraded"|"unhealthy"}``;
Elasticsearch's cluster health answers green/yellow/red, read the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from ..config import Settings
from ..errors import ProbeError
from ..inventory import Service
from ..metrics import Sample, gauge
from .base import Probe, ProbeContext
from .httpget import request

HEALTHY = {"healthy", "ok", "up", "green", "pass", "running", "operational"}
DEGRADED = {"degraded", "yellow", "warn", "warning", "partial"}
UNHEALTHY = {"unhealthy", "down", "red", "fail", "error", "critical", "unavailable"}


def judge_body(body: bytes, content_type: str) -> tuple[str, str]:
    """Classify a 2xx health body: ("healthy"|"degraded"|"unhealthy"|"invalid", detail).

    A non-JSON body on a 2xx is healthy (plain ``OK`` endpoints), unless it claims to be JSON.
    """
    text = body.strip()
    looks_json = "json" in content_type or text[:1] in (b"{", b"[")
    if not text or not looks_json:
        return "healthy", ""
    try:
        data: Any = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return "invalid", f"health body is not valid JSON: {getattr(e, 'msg', e)}"
    if not isinstance(data, dict):
        return "healthy", ""
    status = data.get("status", data.get("state"))
    if status is None:
        healthy = data.get("healthy")
        if isinstance(healthy, bool):
            return ("healthy", "") if healthy else ("unhealthy", "healthy: false")
        return "healthy", ""
    s = str(status).strip().lower()
    if s in UNHEALTHY:
        detail = data.get("error") or data.get("message") or ""
        return "unhealthy", f"status {s}" + (f": {str(detail)[:120]}" if detail else "")
    if s in DEGRADED:
        return "degraded", f"status {s}"
    if s in HEALTHY:
        return "healthy", ""
    return "unhealthy", f"unknown status {str(status)[:40]!r}"


def service_status(service: str, cluster: str, up: bool, degraded: bool = False) -> list[Sample]:
    """``lucid_service_up`` and ``lucid_service_degraded`` of one service: the health probe's
    verdict, and the store probes' for MongoDB and Redis (whose TCP check they replace)."""
    return [gauge("lucid_service_up", 1 if up else 0, "1 when the service's health check passes",
                  service=service, cluster=cluster),
            gauge("lucid_service_degraded", 1 if degraded else 0, "1 when the service reports itself degraded",
                  service=service, cluster=cluster)]


class HealthProbe(Probe):
    kind = "health"

    def __init__(self, service: Service) -> None:
        self.service = service
        self.target = service.name

    def _labels(self) -> dict[str, str]:
        return {"service": self.service.name, "cluster": self.service.cluster}

    def _status(self, up: bool, degraded: bool = False) -> list[Sample]:
        return service_status(self.service.name, self.service.cluster, up, degraded)

    def failure_samples(self, reason: str) -> list[Sample]:
        return self._status(False)

    def http_requests(self, settings: Settings) -> list[tuple[str, int]]:
        return [(self.service.health_url, 1)] if self.service.health == "http" else []

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        if self.service.health == "tcp":
            return await self._tcp(ctx)
        return await self._http(ctx)

    async def _tcp(self, ctx: ProbeContext) -> list[Sample]:
        start = time.monotonic()
        _, writer = await asyncio.open_connection(self.service.host, self.service.port)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return [*self._status(True), gauge("lucid_service_health_duration_seconds", time.monotonic() - start,
                                           "Duration of the health check", **self._labels())]

    async def _http(self, ctx: ProbeContext) -> list[Sample]:
        start = time.monotonic()
        reply = await request(ctx, "GET", self.service.health_url, auth=self.service.credentials)
        duration = time.monotonic() - start
        lbl = self._labels()
        timing = [
            gauge("lucid_service_health_duration_seconds", duration, "Duration of the health check", **lbl),
            gauge("lucid_service_http_status", reply.status, "HTTP status of the health check", **lbl),
        ]
        if not 200 <= reply.status < 300:
            raise ProbeError("http_status", f"health check answered HTTP {reply.status}", timing)
        verdict, detail = judge_body(reply.body, reply.headers.get("Content-Type", ""))
        if verdict == "invalid":
            raise ProbeError("parse", detail, timing)
        if verdict == "unhealthy":
            # The service answered and says it is unhealthy: the probe worked, the service is down.
            return [*timing, *self._status(False)]
        return [*timing, *self._status(True, degraded=verdict == "degraded")]


def covered_by_store_probes(settings: Settings) -> set[str]:
    """Services whose lucid_service_up their own store probe reports, while it is enabled:
    MongoDB and Redis over their pooled connections (instead of a TCP connect per scrape),
    Elasticsearch from the _cluster/health the probe reads anyway, with the probe's credentials
    (an unauthenticated GET would say 0 behind security, and fetch the same page twice)."""
    return {name for name, on in (("mongodb", settings.mongodb.enabled), ("redis", settings.redis.enabled),
                                  ("elasticsearch", settings.elasticsearch.enabled)) if on}


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    covered = covered_by_store_probes(settings)
    return [HealthProbe(s) for s in services.values()
            if s.health != "none" and s.url and s.name not in covered]
