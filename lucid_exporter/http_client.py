"""The HTTP/1.1 client of the probes: a pool of kept-alive connections, one read-only request at a time.

Why not aiohttp's client (the server side of the exporter is aiohttp): a probe sends one GET,
HEAD or OPTIONS and reads a small reply, and a scrape sends one per status check, hundreds at
once. aiohttp's client spends about 50 µs of Python per request on what a probe does not use
(cookies, redirects, proxies, tracing, client middlewares, payload writers, decompression), and
all requests of a scrape are sent one after another on the one event-loop thread: at 250
services that was 14 ms of the time before the last request left (docs/performance.md, fan-out).
Here a request is its bytes written to a pooled connection and a small incremental parser of the
reply (status line, headers, then a Content-Length, chunked or close-delimited body), bounded in
size.

What it does: keep-alive per (scheme, host, port, TLS settings), at most ``max_idle_per_host``
connections kept per host; a kept connection the server closed in the meantime is replaced once,
at once (the methods are idempotent); name lookups through the engine's ``SharedResolver``;
TLS with the system's CA (or a probe's own context); ``TCP_NODELAY``. What it does not: redirects
(a 3xx is the answer), proxies, compression (no Accept-Encoding is sent), cookies, request bodies.
Failures are the standard exceptions (ConnectionRefusedError, socket.gaierror, ssl.SSLError,
TimeoutError), which ``errors.classify`` turns into reasons; a reply over the size limit is
``ProbeError("too_large")``, an unreadable one ``ProbeError("parse")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping

from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .errors import ProbeError
from .resolver import SharedResolver

MAX_HEAD_BYTES = 64 * 1024  # status line and headers
IDLE_SECONDS = 30.0  # a kept connection unused for longer is closed rather than reused
NO_BODY_STATUS = frozenset({204, 304})

Key = tuple[str, str, int, int]  # scheme, host, port, id of the TLS context


class _Stale(Exception):
    """A kept connection closed by the server before any byte of the reply: send again on a new one."""


class _Connection(asyncio.Protocol):
    """One connection; ``exchange`` sends a request and waits for its whole reply."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[tuple[int, CIMultiDictProxy[str], bytes]] | None = None
        self._buf = bytearray()
        self._limit = 0
        self._head_only = False
        self._got_bytes = False
        self._status = 0
        self._headers: CIMultiDictProxy[str] | None = None
        self._length = -1  # -1: close-delimited, -2: chunked, else the Content-Length
        self._body = bytearray()
        self._chunk = -1  # chunked: bytes left in the current chunk (-1: a size line is next)
        self.keep_alive = False

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers is not None and self._length == -1 and exc is None:
            self._finish()  # a close-delimited body ends with the connection
        elif not self._got_bytes and exc is None:
            waiter.set_exception(_Stale())
        else:
            waiter.set_exception(exc or ConnectionResetError("the server closed the connection mid-reply"))

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.keep_alive = False  # bytes nobody asked for: out of step, never reused
            self.close()
            return
        self._got_bytes = True
        self._buf += data
        try:
            self._parse()
        except ProbeError as e:
            self.keep_alive = False
            waiter.set_exception(e)

    # -- the exchange
    async def exchange(self, request: bytes, head_only: bool, limit: int
                       ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._buf.clear()
        self._body = bytearray()
        self._limit, self._head_only, self._got_bytes = limit, head_only, False
        self._headers, self._status, self._length, self._chunk = None, 0, -1, -1
        self.keep_alive = False
        self.transport.write(request)
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def _parse(self) -> None:
        while self._headers is None:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_HEAD_BYTES:
                    raise ProbeError("too_large", f"reply headers over {MAX_HEAD_BYTES} bytes")
                return
            head = bytes(self._buf[:end]).decode("latin-1")
            del self._buf[:end + 4]
            if self._read_head(head):
                return
        if self._length >= 0:
            if len(self._buf) >= self._length:
                self._body = self._buf[:self._length]
                del self._buf[:self._length]
                self._finish()
            return
        if self._length == -1:  # close-delimited: everything until the server closes
            if len(self._buf) > self._limit:
                raise ProbeError("too_large", f"reply is over the {self._limit} byte limit")
            return
        self._parse_chunks()

    def _read_head(self, head: str) -> bool:
        """Status line and headers; True when the reply is complete (no body)."""
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProbeError("parse", f"not an HTTP reply: {lines[0][:60]!r}")
        status = int(parts[1])
        if 100 <= status < 200:
            return False  # an interim reply (100 Continue): the real one follows
        headers: CIMultiDict[str] = CIMultiDict()
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise ProbeError("parse", f"malformed reply header: {line[:60]!r}")
            headers.add(name, value.strip())
        self._status, self._headers = status, CIMultiDictProxy(headers)
        connection = headers.get("Connection", "").lower()
        self.keep_alive = parts[0] == "HTTP/1.1" and "close" not in connection
        if self._head_only or status in NO_BODY_STATUS:
            self._finish()
            return True
        if "chunked" in headers.get("Transfer-Encoding", "").lower():
            self._length = -2
        elif "Content-Length" in headers:
            try:
                self._length = int(headers["Content-Length"])
            except ValueError:
                raise ProbeError("parse", "Content-Length is not a number") from None
            if self._length > self._limit:
                raise ProbeError("too_large", f"reply of {self._length} bytes is over the {self._limit} byte limit")
        else:
            self._length = -1
            self.keep_alive = False
        return False

    def _parse_chunks(self) -> None:
        buf = self._buf
        while True:
            if self._chunk < 0:
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                line = bytes(buf[:end]).split(b";", 1)[0].strip()
                try:
                    size = int(line, 16)
                except ValueError:
                    raise ProbeError("parse", "malformed chunk size") from None
                del buf[:end + 2]
                if size == 0:
                    self._chunk = 0
                else:
                    if len(self._body) + size > self._limit:
                        raise ProbeError("too_large", f"reply is over the {self._limit} byte limit")
                    self._chunk = size
            if self._chunk == 0:  # the last chunk: trailers up to an empty line
                end = buf.find(b"\r\n\r\n") if not buf.startswith(b"\r\n") else 0
                if end < 0:
                    return
                del buf[:end + (2 if end == 0 else 4)]
                self._finish()
                return
            if len(buf) < self._chunk + 2:
                return
            self._body += buf[:self._chunk]
            del buf[:self._chunk + 2]
            self._chunk = -1

    def _finish(self) -> None:
        waiter = self._waiter
        if self._length == -1 and self._headers is not None and not self._head_only:
            self._body = self._buf[:]
            self._buf.clear()
        if self._buf:
            self.keep_alive = False  # bytes beyond the reply: out of step, do not reuse
        if waiter is not None and not waiter.done():
            assert self._headers is not None
            waiter.set_result((self._status, self._headers, bytes(self._body)))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class HttpPool:
    """Kept-alive connections to every host the probes ask, shared by all probes of the exporter."""

    def __init__(self, resolver: SharedResolver, user_agent: str, max_idle_per_host: int = 4) -> None:
        self.resolver = resolver
        self.user_agent = user_agent
        self.max_idle_per_host = max_idle_per_host
        self._idle: dict[Key, list[_Connection]] = {}
        self._default_ssl: ssl.SSLContext | None = None
        self.opened = 0  # connections opened so far (tests read it)

    def _ssl_for(self, scheme: str, context: ssl.SSLContext | None) -> ssl.SSLContext | None:
        if scheme != "https":
            return None
        if context is not None:
            return context
        if self._default_ssl is None:
            self._default_ssl = ssl.create_default_context()
        return self._default_ssl

    async def request(self, method: str, url: URL, headers: Mapping[str, str], timeout: float | None, limit: int,
                      ssl_context: ssl.SSLContext | None = None) -> tuple[int, CIMultiDictProxy[str], bytes]:
        """One request and its whole reply: (status, headers, body). ``timeout`` None: the caller's
        own deadline bounds it (the engine's per-probe timeout), no second timer per request."""
        scheme, host, port = url.scheme, url.host or "", url.port
        if scheme not in ("http", "https") or not host or port is None:
            raise ProbeError("other", f"not an http(s) URL with a host: {url.scheme}://{url.host or ''}")
        tls = self._ssl_for(scheme, ssl_context)
        key = (scheme, host, port, id(tls))
        payload = self._request_bytes(method, url, host, port, headers)
        async with asyncio.timeout(timeout) if timeout is not None else contextlib.nullcontext():
            for attempt in (1, 2):
                conn = self._take(key)
                kept = conn is not None
                if conn is None:
                    conn = await self._open(host, port, tls)
                try:
                    reply = await conn.exchange(payload, method == "HEAD", limit)
                except _Stale:
                    conn.close()
                    if kept and attempt == 1:
                        continue  # the server closed a kept connection: once more, on a new one
                    raise ConnectionResetError("the server closed the connection before answering") from None
                except BaseException:
                    conn.close()  # timeout, cancellation, a broken reply: the stream is out of step
                    raise
                self._give_back(key, conn)
                return reply
        raise AssertionError("unreachable")

    def _request_bytes(self, method: str, url: URL, host: str, port: int, headers: Mapping[str, str]) -> bytes:
        default_port = 443 if url.scheme == "https" else 80
        shown = f"[{host}]" if ":" in host else host
        lines = [f"{method} {url.raw_path_qs or '/'} HTTP/1.1",
                 f"Host: {shown}" if port == default_port else f"Host: {shown}:{port}"]
        given = {k.lower() for k in headers}
        if "user-agent" not in given:
            lines.append(f"User-Agent: {self.user_agent}")
        if "accept" not in given:
            lines.append("Accept: */*")
        for name, value in headers.items():
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
                raise ProbeError("other", f"header {name[:40]!r} refused: a line break or colon in it")
            lines.append(f"{name}: {value}")
        # UTF-8, as aiohttp wrote them: a token or password is sent byte for byte as configured.
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")

    def _take(self, key: Key) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < IDLE_SECONDS:
                return conn
            conn.close()
        return None

    def _give_back(self, key: Key, conn: _Connection) -> None:
        if conn.closed or not conn.keep_alive:
            conn.close()
            return
        idle = self._idle.setdefault(key, [])
        if len(idle) >= self.max_idle_per_host:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    async def _open(self, host: str, port: int, tls: ssl.SSLContext | None) -> _Connection:
        loop = asyncio.get_running_loop()
        addresses: list[tuple[str, int]]
        if _is_ip(host):
            addresses = [(host, int(socket.AF_INET6 if ":" in host else socket.AF_INET))]
        else:
            found = await self.resolver.resolve(host, port, socket.AF_UNSPEC)
            addresses = [(r["host"], int(r["family"])) for r in found]
        last: OSError | None = None
        for address, family in addresses:
            conn = _Connection()
            try:
                await loop.create_connection(lambda c=conn: c, address, port, family=family, ssl=tls,
                                             server_hostname=host if tls is not None else None)
            except OSError as e:  # refused, unreachable, TLS (ssl.SSLError is an OSError): the next address
                last = e
                continue
            self.opened += 1
            return conn
        assert last is not None
        raise last

    async def close(self) -> None:
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()
        await self.resolver.close()
