"""HTTP requests for probes: bounded body size, reasons for every failure (see http_client.py)."""

from __future__ import annotations

import base64
import json
import ssl as ssl_module
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from multidict import CIMultiDictProxy
from yarl import URL

from ..errors import ProbeError
from ..urls import BasicCredentials
from .base import ProbeContext


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """Parsed JSON body, or ProbeError(parse)."""
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ProbeError("parse", f"reply is not JSON: {e.msg if hasattr(e, 'msg') else e}") from None


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@lru_cache(maxsize=4096)
def _parsed(url: str) -> URL:
    """A probe's URL, parsed once: the same few hundred URLs are requested on every scrape."""
    return URL(url)


async def request(ctx: ProbeContext, method: str, url: str, *, headers: dict[str, str] | None = None,
                  timeout: float | None = None, auth: BasicCredentials | None = None,
                  ssl: ssl_module.SSLContext | None = None) -> Reply:
    """One request through the shared pool (lucid_exporter.http_client). Raises ProbeError(too_large)
    past the size limit; connection errors propagate for the engine to classify (refused, dns,
    tls, timeout).

    ``url`` never holds credentials (config.py splits them off); ``auth`` is sent as basic auth
    unless the request carries its own Authorization header (a bearer token wins). ``ssl``: the
    TLS settings of a backend with its own CA or client certificate (default: the system's).
    """
    if method.upper() not in READ_ONLY_METHODS:
        # The exporter only reads; config refuses other methods, this is the last guard.
        raise ProbeError("other", f"method {method[:10]!r} refused: only GET, HEAD and OPTIONS are sent")
    limit = ctx.settings.probes.max_response_bytes
    # Without a timeout of its own, the request ends with the probe's deadline, which the engine
    # enforces around the whole run: no second timer for the same instant.
    if auth is not None and not any(k.lower() == "authorization" for k in (headers or {})):
        # RFC 7617 with UTF-8: any character of the password is sent as it is.
        token = base64.b64encode(f"{auth.username}:{auth.password.get_secret_value()}".encode()).decode("ascii")
        headers = {**(headers or {}), "Authorization": f"Basic {token}"}
    status, reply_headers, body = await ctx.http.request(method.upper(), _parsed(url), headers or {}, timeout, limit,
                                                         ssl)
    return Reply(status, reply_headers, body)
