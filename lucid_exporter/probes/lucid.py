"""Lucid JSON status checks: one probe per check of the catalogue (lucid_exporter/checks.py).

Generic JSON checks turn fields of a reply into metrics; three kinds need a little code:
the gateway's rate-limit headers (one ordinary request, never a flood), the gateway's CORS
preflight for each configured origin, and the auth service's ``/verify`` for the monitoring
token, whose ``exp`` claim is read locally (the token is never logged or labelled).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

from yarl import URL

from ..checks import DEFAULT_CHECKS, Check, extract_all, merge
from ..config import Settings
from ..engine import Probe, ProbeContext
from ..errors import ProbeError
from ..inventory import Service
from ..metrics import Sample, gauge
from ..urls import BasicCredentials
from .httpget import Reply, request

log = logging.getLogger("lucid_exporter.probes.lucid")


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, decoded WITHOUT verifying the signature; None if absent.

    Only for the exporter's own monitoring token: it tells when the token stops working.
    Never raises and never returns any part of the token.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


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


def verify_ok(reply: Reply) -> bool:
    """2xx, and a JSON body (if any) that does not say ``valid: false``."""
    if not 200 <= reply.status < 300:
        return False
    try:
        body = json.loads(reply.body) if reply.body.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return True
    if isinstance(body, dict):
        for key in ("valid", "is_valid", "verified"):
            if key in body:
                return body[key] is True
    return True


class StatusProbe(Probe):
    kind = "lucid_status"

    def __init__(self, check: Check, service: Service | None, settings: Settings) -> None:
        self.check = check
        self.service = service
        self.target = f"{check.service}/{check.name}"
        st = settings.status
        self.min_interval = st.min_interval_seconds
        # Basic auth from the base URL's user:password (never part of self.url); a check's own
        # Authorization header (the monitoring token) wins over it.
        self.auth: BasicCredentials | None = None
        if check.url:
            self.url = check.url
        elif check.base == "trongrid":
            self.url = str(URL(st.trongrid_url.public.rstrip("/") + check.path))
            self.auth = st.trongrid_url.credentials
        else:
            assert service is not None
            self.url = str(URL(service.url).with_path(check.path.split("?")[0])
                           .with_query(check.path.split("?", 1)[1] if "?" in check.path else None))
            self.auth = service.credentials

    @property
    def selectors(self) -> frozenset[str]:
        return frozenset({self.target, self.check.service, self.check.name})

    def _headers(self, ctx: ProbeContext) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.check.headers}
        token = ctx.settings.status.token
        if self.check.auth == "token" and token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        return headers

    def failure_samples(self, reason: str) -> list[Sample]:
        if self.check.kind == "cors":
            return []
        if self.check.ok_metric:
            return [gauge(self.check.ok_metric, 0, "1 when the monitoring token can read it")]
        if self.check.kind == "auth_verify":
            return [gauge("lucid_auth_token_verify_ok", 0, "1 when the auth service accepts the monitoring token")]
        return []

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        if self.check.kind == "rate_limit":
            reply = await request(ctx, self.check.method, self.url, headers=self._headers(ctx), auth=self.auth)
            if reply.status >= 500:
                raise ProbeError("http_status", f"gateway answered HTTP {reply.status}")
            return rate_limit_samples(reply.status, reply.headers)
        if self.check.kind == "cors":
            return await self._cors(ctx)
        if self.check.kind == "auth_verify":
            return await self._verify(ctx)
        return await self._json(ctx)

    async def _json(self, ctx: ProbeContext) -> list[Sample]:
        reply = await request(ctx, self.check.method, self.url, headers=self._headers(ctx), auth=self.auth)
        ok_help = "1 when the monitoring token can read it"
        if reply.status in (401, 403):
            if self.check.ok_metric:
                return [gauge(self.check.ok_metric, 0, ok_help)]
            raise ProbeError("auth", f"{self.check.name} answered HTTP {reply.status}")
        if not 200 <= reply.status < 300:
            raise ProbeError("http_status", f"{self.check.name} answered HTTP {reply.status}")
        data = reply.json()
        samples, problems = extract_all(self.check, data, default_cap=ctx.settings.status.per_node_series_cap,
                                        wallets=ctx.settings.status.wallets)
        if self.check.ok_metric:
            samples.append(gauge(self.check.ok_metric, 1, ok_help))
        if problems:
            raise ProbeError("parse", f"{self.check.name}: reply of unexpected shape: " + "; ".join(problems[:3]),
                             samples)
        return samples

    async def _cors(self, ctx: ProbeContext) -> list[Sample]:
        out: list[Sample] = []
        for origin in ctx.settings.status.cors_origins:
            headers = {**self.check.headers, "Origin": origin, "Access-Control-Request-Method": "GET",
                       "Access-Control-Request-Headers": "X-Requested-With"}
            reply = await request(ctx, "OPTIONS", self.url, headers=headers, auth=self.auth)
            if reply.status >= 500:
                raise ProbeError("http_status", f"CORS preflight answered HTTP {reply.status}", out)
            out.append(gauge("lucid_gateway_cors_preflight_ok", 1 if cors_ok(origin, reply.status, reply.headers)
                             else 0, "1 when the gateway's CORS preflight allows the origin", origin=origin))
        return out

    async def _verify(self, ctx: ProbeContext) -> list[Sample]:
        token = ctx.settings.status.token
        out: list[Sample] = []
        if token is not None:
            exp = jwt_expiry(token.get_secret_value())
            if exp is not None:
                out.append(gauge("lucid_auth_probe_token_expiry_timestamp_seconds", exp,
                                 "When the exporter's monitoring token expires (its exp claim, Unix seconds)"))
        reply = await request(ctx, self.check.method, self.url, headers=self._headers(ctx), auth=self.auth)
        if reply.status >= 500 or (reply.status >= 300 and reply.status not in (400, 401, 403)):
            raise ProbeError("http_status", f"/verify answered HTTP {reply.status}", out)
        out.append(gauge("lucid_auth_token_verify_ok", 1 if verify_ok(reply) else 0,
                         "1 when the auth service accepts the monitoring token"))
        return out


def build_checks(settings: Settings) -> list[Check]:
    checks, problems = merge(DEFAULT_CHECKS, settings.checks)
    if problems:
        from ..inventory import CatalogueError

        raise CatalogueError("\n".join(problems))
    return checks


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    if not settings.status.enabled:
        return []
    out: list[Probe] = []
    for check in build_checks(settings):
        if check.auth == "token" and settings.status.token is None:
            log.debug("check %s skipped: no status.token configured", check.name)
            continue
        service = services.get(check.service)
        # A check follows its service: a disabled (or TCP-only) service takes its checks with it.
        if not check.url and (service is None or (check.base == "service" and not service.url.startswith("http"))):
            continue
        out.append(StatusProbe(check, service, settings))
    return out
