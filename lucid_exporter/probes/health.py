"""Service health: GET each service's health path (or connect, for TCP-only services).

``lucid_service_up`` is 1 only on a 2xx whose JSON body (if any) does not report an unhealthy
state. Lucid services answer ``{"status": "healthy"|"degraded"|"unhealthy"}``; Elasticsearch's
cluster health answers green/yellow/red, read the same way. The real Lucid code adds quirks that
are judged as the services mean them (``judge``, pure, tested on recorded bodies):

- a handler that returns a ``(body, status)`` tuple is served by FastAPI as HTTP 200 with the JSON
  array ``[{"status": ...}, 503]``: judged by that object and that code (a non-2xx code is down);
- dependencies reported in the body, as maps (``dependencies``, ``integrations``, ``services``: each
  value a bool, a string such as ``"error: ..."``/``"unavailable"``/``"disabled"``, or an object with
  a ``status``) or as a field (``database``), become ``lucid_service_dependency_up`` and
  ``lucid_service_dependency_state`` (its current state as a label, value 1); one that is not ok
  makes the service degraded (a service that says ``healthy`` while its database is
  ``"error: ..."`` is not healthy). A disabled dependency is neither up nor down: it has a state
  series only;
- a 404 at the health path means the service answered but has no health endpoint there (the real
  admin interface answers at /admin/health): the check fails with that reason and the service's
  up/down is not judged, rather than paging for a running service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
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

# Where the Lucid services report their dependencies (auth: dependencies; TRON: services and
# dependencies; session-api and session-storage: services; session-controller: integrations;
# wallet-manager: a database field).
DEPENDENCY_MAPS = ("dependencies", "integrations", "services")
DEPENDENCY_FIELDS = ("database",)
DEPENDENCY_STATES = ("ok", "degraded", "down", "error", "unavailable", "disabled", "unknown")
_DEP_OK = {"ok", "true", "healthy", "up", "green", "pass", "passed", "running", "operational", "connected",
           "available", "active", "ready", "alive", "enabled", "online"}
_DEP_DEGRADED = {"degraded", "yellow", "warn", "warning", "partial", "busy"}
_DEP_DOWN = {"false", "unhealthy", "down", "red", "fail", "failed", "stopped", "not_initialized", "disconnected",
             "critical", "starting", "not_ready", "not_alive", "unreachable", "offline", "dead"}
_DEP_UNAVAILABLE = {"unavailable", "not_available", "missing", "not_found"}


@dataclass(frozen=True, slots=True)
class Dependency:
    """One dependency a health body reports: its name and its state (one of DEPENDENCY_STATES)."""

    name: str
    state: str
    raw: str = ""

    @property
    def up(self) -> float | None:
        """1 when it works (ok or degraded), 0 when it does not, None when it is disabled."""
        if self.state == "disabled":
            return None
        return 1.0 if self.state in ("ok", "degraded") else 0.0


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: str  # healthy, degraded, unhealthy or invalid
    detail: str = ""
    dependencies: tuple[Dependency, ...] = ()


def dependency_state(value: Any) -> str | None:
    """The state of one reported dependency value; None when the value says nothing (a number, null)."""
    if isinstance(value, bool):
        return "ok" if value else "down"
    if isinstance(value, dict):
        inner = value.get("status", value.get("state"))
        if inner is None:
            return "error" if value.get("error") else None
        return dependency_state(inner)
    if not isinstance(value, str):
        return None
    s = value.strip().lower()
    if s.startswith("error"):
        return "error"
    if s == "disabled":
        return "disabled"
    for states, name in ((_DEP_OK, "ok"), (_DEP_DEGRADED, "degraded"), (_DEP_DOWN, "down"),
                         (_DEP_UNAVAILABLE, "unavailable")):
        if s in states:
            return name
    return "unknown"


def _raw(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("status", value.get("state", value.get("error", "")))
    return str(value).lower() if isinstance(value, bool) else str(value)[:80]


def dependencies(body: dict[str, Any]) -> tuple[Dependency, ...]:
    """The dependencies a health body reports, in the order written; the first of a repeated name wins."""
    found: dict[str, Dependency] = {}
    for key in DEPENDENCY_MAPS:
        block = body.get(key)
        if not isinstance(block, dict):
            continue
        if set(block) == {"error"} and isinstance(block["error"], str):
            # The whole map could not be built (session-controller: {"integrations": {"error": "..."}}).
            found.setdefault(key, Dependency(key, "error", block["error"][:80]))
            continue
        for name, value in block.items():
            state = dependency_state(value)
            if state is not None:
                found.setdefault(str(name), Dependency(str(name), state, _raw(value)))
    for key in DEPENDENCY_FIELDS:
        if key in body and not isinstance(body[key], dict):
            state = dependency_state(body[key])
            if state is not None:
                found.setdefault(key, Dependency(key, state, _raw(body[key])))
    return tuple(found.values())


def _status_object(data: Any) -> tuple[dict[str, Any] | None, int | None]:
    """The status object of a health body, and the HTTP code a tuple-returning handler put beside it."""
    if isinstance(data, dict):
        return data, None
    if isinstance(data, list) and data and isinstance(data[0], dict) and \
            any(k in data[0] for k in ("status", "state", "healthy")):
        code = data[1] if len(data) > 1 and isinstance(data[1], int) and not isinstance(data[1], bool) else None
        return data[0], code
    return None, None


def _verdict(obj: dict[str, Any]) -> tuple[str, str]:
    status = obj.get("status", obj.get("state"))
    if status is None:
        healthy = obj.get("healthy")
        if isinstance(healthy, bool):
            return ("healthy", "") if healthy else ("unhealthy", "healthy: false")
        return "healthy", ""
    s = str(status).strip().lower()
    if s in UNHEALTHY:
        detail = obj.get("error") or obj.get("message") or ""
        return "unhealthy", f"status {s}" + (f": {str(detail)[:120]}" if detail else "")
    if s in DEGRADED:
        return "degraded", f"status {s}"
    if s in HEALTHY:
        return "healthy", ""
    return "unhealthy", f"unknown status {str(status)[:40]!r}"


def judge(body: bytes, content_type: str) -> Judgement:
    """Judge a 2xx health body: healthy, degraded, unhealthy, or invalid (with the reason).

    A non-JSON body on a 2xx is healthy (plain ``OK`` endpoints), unless it claims to be JSON.
    """
    text = body.strip()
    looks_json = "json" in content_type or text[:1] in (b"{", b"[")
    if not text or not looks_json:
        return Judgement("healthy")
    try:
        data: Any = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return Judgement("invalid", f"health body is not valid JSON: {getattr(e, 'msg', e)}")
    obj, code = _status_object(data)
    if obj is None:
        return Judgement("healthy")
    verdict, detail = _verdict(obj)
    deps = dependencies(obj)
    if code is not None and not 200 <= code < 300:
        # FastAPI serialised a (body, status) tuple: the service meant to answer with this code.
        said = f"status {obj.get('status')}; " if obj.get("status") is not None else ""
        return Judgement("unhealthy", f"{said}HTTP {code} inside an HTTP 200 reply (a (body, status) tuple)", deps)
    failing = [d for d in deps if d.state not in ("ok", "disabled")]
    if verdict == "healthy" and failing:
        verdict = "degraded"
    if failing and verdict != "unhealthy":
        detail = "; ".join(filter(None, [detail, "dependency " + ", ".join(
            f"{d.name} {d.raw or d.state}" for d in failing[:3])]))
    return Judgement(verdict, detail, deps)


def judge_body(body: bytes, content_type: str) -> tuple[str, str]:
    """(verdict, detail) of ``judge``."""
    j = judge(body, content_type)
    return j.verdict, j.detail


def dependency_samples(service: str, deps: Iterable[Dependency]) -> list[Sample]:
    out: list[Sample] = []
    for d in deps:
        if d.up is not None:
            out.append(gauge("lucid_service_dependency_up", d.up,
                             "1 when a dependency the service reports works (ok or degraded); absent when disabled",
                             service=service, dependency=d.name))
        # The current state only (value 1), not a series for each of the seven states: a TRON health
        # alone reports nine dependencies, and five containers serve it.
        out.append(gauge("lucid_service_dependency_state", 1,
                         "State of a dependency the service reports: one series, labelled with the current state",
                         service=service, dependency=d.name, state=d.state))
    return out


def refusal_text(body: bytes, content_type: str) -> str:
    """A short, printable reason from a non-2xx health reply (``Invalid host header``, a ``detail``)."""
    text = body.strip()[:400]
    if not text:
        return ""
    reason: Any = None
    if "json" in content_type or text[:1] in (b"{", b"["):
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict):
            reason = data.get("detail") or data.get("error") or data.get("message")
            if isinstance(reason, dict):
                reason = reason.get("message") or reason.get("code")
    elif content_type.startswith("text/plain"):
        reason = text.decode("utf-8", errors="replace")
    if not isinstance(reason, str):
        return ""
    clean = "".join(c if c.isprintable() else " " for c in reason)
    return " ".join(clean.split())[:80]


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
        self._unjudged = False  # the last run was answered 404: no verdict on the service

    def _labels(self) -> dict[str, str]:
        return {"service": self.service.name, "cluster": self.service.cluster}

    def _status(self, up: bool, degraded: bool = False) -> list[Sample]:
        return service_status(self.service.name, self.service.cluster, up, degraded)

    def failure_samples(self, reason: str) -> list[Sample]:
        if self._unjudged:
            return []
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
        self._unjudged = False
        start = time.monotonic()
        reply = await request(ctx, "GET", self.service.health_url, auth=self.service.credentials)
        duration = time.monotonic() - start
        lbl = self._labels()
        timing = [
            gauge("lucid_service_health_duration_seconds", duration, "Duration of the health check", **lbl),
            gauge("lucid_service_http_status", reply.status, "HTTP status of the health check", **lbl),
        ]
        content_type = reply.headers.get("Content-Type", "")
        if not 200 <= reply.status < 300:
            why = refusal_text(reply.body, content_type)
            message = f"health check answered HTTP {reply.status}" + (f": {why}" if why else "")
            if reply.status == 404:
                # It answered: it runs, but its health is not at this path. Not judged (no up 0).
                self._unjudged = True
                message += (f" (the service answers but has no health endpoint at {self.service.health_path};"
                            " set its health_path: the real admin interface answers at /admin/health,"
                            " status.profile: lucid)")
            reported = judge(reply.body, content_type).dependencies if 400 <= reply.status < 600 else ()
            raise ProbeError("http_status", message, [*timing, *dependency_samples(self.service.name, reported)])
        j = judge(reply.body, content_type)
        if j.verdict == "invalid":
            raise ProbeError("parse", j.detail, timing)
        deps = dependency_samples(self.service.name, j.dependencies)
        if j.verdict == "unhealthy":
            # The service answered and says it is unhealthy: the probe worked, the service is down.
            return [*timing, *self._status(False), *deps]
        return [*timing, *self._status(True, degraded=j.verdict == "degraded"), *deps]


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
