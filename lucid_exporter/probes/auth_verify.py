"""The auth service's token verification (guide: JWT Token Validation Failures).

The exporter's own read-only monitoring token is sent to the auth service's verify endpoint; its
``exp`` claim is read locally (PyJWT, signature not verified: the exporter does not hold the key) so
that an expiring token is seen before it stops working. The token is never logged or labelled.

Under an API profile without a usable verify endpoint (the real auth service answers 401 to every
token), only the local ``exp`` reading runs (``TokenExpiryProbe``, no request).
"""

from __future__ import annotations

import json

import jwt

from ..checks import Check
from ..config import Settings
from ..errors import ProbeError
from ..inventory import Service
from ..metrics import Sample, gauge
from .base import Probe, ProbeContext
from .httpget import Reply
from .status import CheckProbe, runnable

VERIFY_HELP = "1 when the auth service accepts the monitoring token"


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, decoded WITHOUT verifying the signature; None if absent.

    Only for the exporter's own monitoring token: it tells when the token stops working.
    Never raises and never returns any part of the token.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


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


def expiry_samples(ctx: ProbeContext) -> list[Sample]:
    token = ctx.settings.status.token
    exp = jwt_expiry(token.get_secret_value()) if token is not None else None
    if exp is None:
        return []
    return [gauge("lucid_auth_probe_token_expiry_timestamp_seconds", exp,
                  "When the exporter's monitoring token expires (its exp claim, Unix seconds)")]


class AuthVerifyProbe(CheckProbe):
    def failure_samples(self, reason: str) -> list[Sample]:
        return [gauge("lucid_auth_token_verify_ok", 0, VERIFY_HELP)]

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        out = expiry_samples(ctx)
        reply = await self.get(ctx)
        if reply.status >= 500 or (reply.status >= 300 and reply.status not in (400, 401, 403)):
            raise ProbeError("http_status", f"/verify answered HTTP {reply.status}", out)
        out.append(gauge("lucid_auth_token_verify_ok", 1 if verify_ok(reply) else 0, VERIFY_HELP))
        return out


class TokenExpiryProbe(Probe):
    """The monitoring token's expiry alone, when the profile has no endpoint that verifies it."""

    kind = "lucid_status"

    def __init__(self, check: Check) -> None:
        self.check = check
        self.target = f"{check.service}/{check.name}"

    @property
    def selectors(self) -> frozenset[str]:
        return frozenset({self.target, self.check.service, self.check.name})

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        return expiry_samples(ctx)


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    probes: list[Probe] = [AuthVerifyProbe(c, s, settings) for c, s in runnable(settings, services, "auth_verify")]
    probes += [TokenExpiryProbe(c) for c, _ in runnable(settings, services, "auth_verify", unavailable=True)]
    return probes
