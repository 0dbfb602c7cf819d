"""Probe failures and their bounded set of reasons.

Every failure maps to one of ``REASONS`` so that ``lucid_probe_errors_total{reason}``
stays bounded whatever the backend says. The message is for logs and the status page;
it must never carry a secret (``redact`` is applied before it is shown).
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import ssl
from typing import Final

from .metrics import Sample

REASONS: Final = ("timeout", "refused", "dns", "tls", "http_status", "parse", "auth", "too_large", "other")


class ProbeError(Exception):
    """Raised by a probe to fail with a known reason.

    ``samples`` are still exposed (for example ``lucid_service_up 0``): a failed probe
    says what it knows rather than disappearing.
    """

    def __init__(self, reason: str, message: str, samples: list[Sample] | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown probe error reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.samples = samples or []


def classify(exc: BaseException) -> tuple[str, str]:
    """Map any exception to (reason, one-line message)."""
    if isinstance(exc, ProbeError):
        return exc.reason, exc.message
    # aiohttp wraps OS errors; look through the chain for the root cause.
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in chain:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
        inner = getattr(chain[-1], "os_error", None)
        if isinstance(inner, BaseException) and cur is None:
            cur = inner
    for e in chain:
        name = type(e).__name__
        if isinstance(e, asyncio.TimeoutError | TimeoutError) or "Timeout" in name:
            return "timeout", "timed out"
        if isinstance(e, socket.gaierror) or "NameResolution" in name or "DNS" in name:
            return "dns", f"name resolution failed: {_short(e)}"
        if isinstance(e, ssl.SSLError | ssl.CertificateError) or "SSL" in name or "Certificate" in name:
            return "tls", f"TLS error: {_short(e)}"
        if isinstance(e, ConnectionRefusedError) or (
            isinstance(e, OSError) and e.errno in (errno.ECONNREFUSED,)
        ):
            return "refused", "connection refused"
        if isinstance(e, json.JSONDecodeError | UnicodeDecodeError):
            return "parse", f"invalid reply: {_short(e)}"
        if "Authentication" in name or "AuthError" in name or ("OperationFailure" in name and "auth" in str(e).lower()):
            return "auth", f"authentication failed: {_short(e)}"
    return "other", f"{type(exc).__name__}: {_short(exc)}"


def _short(e: BaseException, limit: int = 200) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
