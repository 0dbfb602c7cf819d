"""HTTP requests for probes: bounded body size, reasons for every failure."""

from __future__ import annotations

import base64
import json
import ssl as ssl_module
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import aiohttp
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
_NO_TIMER = aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None)


@lru_cache(maxsize=4096)
def _parsed(url: str) -> URL:
    """A probe's URL, parsed once: the same few hundred URLs are requested on every scrape."""
    return URL(url)


async def request(ctx: ProbeContext, method: str, url: str, *, headers: dict[str, str] | None = None,
                  timeout: float | None = None, auth: BasicCredentials | None = None,
                  ssl: ssl_module.SSLContext | None = None) -> Reply:
    """One request through the shared pool. Raises ProbeError(too_large) past the size limit;
    connection errors propagate for the engine to classify (refused, dns, tls, timeout).

    ``url`` never holds credentials (config.py splits them off); ``auth`` is sent as basic auth
    unless the request carries its own Authorization header (a bearer token wins). ``ssl``: the
    TLS settings of a backend with its own CA or client certificate (default: the system's).
    """
    if method.upper() not in READ_ONLY_METHODS:
        # The exporter only reads; config refuses other methods, this is the last guard.
        raise ProbeError("other", f"method {method[:10]!r} refused: only GET, HEAD and OPTIONS are sent")
    limit = ctx.settings.probes.max_response_bytes
    if auth is not None and not any(k.lower() == "authorization" for k in (headers or {})):
        # RFC 7617 with UTF-8: any character of the password is sent as it is.
        token = base64.b64encode(f"{auth.username}:{auth.password.get_secret_value()}".encode()).decode("ascii")
        headers = {**(headers or {}), "Authorization": f"Basic {token}"}
    # A request without a timeout of its own ends with the probe's deadline, which the engine
    # enforces around the whole run (asyncio.timeout): aiohttp arms no second timer for it.
    client_timeout = _NO_TIMER if timeout is None else aiohttp.ClientTimeout(total=timeout)
    async with ctx.http.request(method, _parsed(url), headers=headers, allow_redirects=False,
                                timeout=client_timeout, ssl=True if ssl is None else ssl) as resp:
        declared = resp.content_length
        if declared is not None:
            if declared > limit:
                raise ProbeError("too_large", f"reply of {declared} bytes is over the {limit} byte limit")
            if "Content-Encoding" not in resp.headers:
                # A declared length within the limit and no compression that could inflate it:
                # one read (aiohttp stops at the declared length).
                return Reply(resp.status, resp.headers, await resp.read())
        body = bytearray()
        async for chunk in resp.content.iter_chunked(65536):
            body += chunk
            if len(body) > limit:
                raise ProbeError("too_large", f"reply is over the {limit} byte limit")
        return Reply(resp.status, resp.headers, bytes(body))
