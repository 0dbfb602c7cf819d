"""The probes' HTTP client (http_client.py), against real servers on loopback: every way an HTTP/1.1
reply can be framed, kept-alive connections, a kept connection the server closed, the size limit,
and the failures a probe reports with a reason."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from yarl import URL

from lucid_exporter.errors import ProbeError, classify
from lucid_exporter.http_client import HttpPool
from lucid_exporter.resolver import SharedResolver

LIMIT = 1024 * 1024


class RawServer:
    """A TCP server answering each request with ``reply(request_head)`` (bytes); ``close_after``
    closes the connection after the reply. Counts the connections it accepted."""

    def __init__(self, reply: Callable[[bytes], bytes], close_after: bool = False) -> None:
        self.reply = reply
        self.close_after = close_after
        self.connections = 0
        self.heads: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                writer.write(self.reply(head))
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        for w in self.writers:
            w.close()
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def pool() -> AsyncIterator[HttpPool]:
    p = HttpPool(SharedResolver(4), "lucid-exporter/test")
    yield p
    await p.close()


Serve = Callable[..., Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[RawServer] = []

    async def start(reply: Callable[[bytes], bytes], close_after: bool = False) -> tuple[str, RawServer]:
        srv = RawServer(reply, close_after)
        servers.append(srv)
        return await srv.start(), srv

    yield start
    for srv in servers:
        await srv.stop()


def fixed(reply: bytes) -> Callable[[bytes], bytes]:
    return lambda head: reply


async def get(pool: HttpPool, url: str, method: str = "GET", **headers: str) -> tuple[int, object, bytes]:
    return await pool.request(method, URL(url), headers, 5, LIMIT)


async def test_a_reply_with_a_length_and_the_connection_kept_for_the_next_requests(
        pool: HttpPool, serve: Serve) -> None:
    url, srv = await serve(fixed(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n"
                            b'{"status":"healthy"}'))
    for _ in range(5):
        status, headers, body = await get(pool, url + "/health", Accept="application/json")
        assert (status, body) == (200, b'{"status":"healthy"}')
        assert headers["content-type"] == "application/json"  # type: ignore[index]
    assert srv.connections == 1 and pool.opened == 1
    head = srv.heads[0].decode()
    assert head.startswith("GET /health HTTP/1.1\r\nHost: 127.0.0.1:")
    assert "Accept: application/json" in head and "User-Agent: lucid-exporter/test" in head


async def test_a_chunked_reply_is_put_together_and_repeated_headers_are_all_kept(
        pool: HttpPool, serve: Serve) -> None:
    url, srv = await serve(fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nVary: Origin\r\n"
                                 b"vary: Accept\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n"))
    for _ in range(2):
        _status, headers, body = await get(pool, url)
        assert body == b"hello, world"
        assert headers.getall("Vary") == ["Origin", "Accept"]
    assert srv.connections == 1


async def test_a_reply_without_length_ends_when_the_server_closes(pool: HttpPool, serve: Serve) -> None:
    url, srv = await serve(fixed(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nOK from an old server"),
                      close_after=True)
    for _ in range(2):
        assert (await get(pool, url))[2] == b"OK from an old server"
    assert srv.connections == 2


async def test_head_and_204_have_no_body_whatever_their_headers_say(pool: HttpPool, serve: Serve) -> None:
    url, srv = await serve(lambda head: (b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" if head.startswith(b"HEAD")
                                    else b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"))
    status, _, body = await get(pool, url, "HEAD")
    assert (status, body) == (200, b"")
    status, _, body = await get(pool, url, "OPTIONS")
    assert (status, body) == (204, b"")
    assert srv.connections == 1


async def test_a_kept_connection_the_server_closed_is_replaced_at_once(pool: HttpPool, serve: Serve) -> None:
    url, srv = await serve(fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    assert (await get(pool, url))[2] == b"ok"
    for w in srv.writers:
        w.close()  # the server's keep-alive timeout
    await asyncio.sleep(0.05)
    assert (await get(pool, url))[2] == b"ok"
    assert srv.connections == 2


async def test_replies_over_the_size_limit_fail_with_too_large(pool: HttpPool, serve: Serve) -> None:
    declared, _ = await serve(fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000))
    with pytest.raises(ProbeError) as e:
        await pool.request("GET", URL(declared), {}, 5, 1024)
    assert e.value.reason == "too_large"
    chunked, _ = await serve(fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + b"400\r\n" + b"x" * 1024 + b"\r\n" + b"400\r\n" + b"x" * 1024 + b"\r\n0\r\n\r\n"))
    with pytest.raises(ProbeError) as e:
        await pool.request("GET", URL(chunked), {}, 5, 1500)
    assert e.value.reason == "too_large"


async def test_no_answer_is_a_timeout_and_a_closed_port_refused(pool: HttpPool, serve: Serve) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TimeoutError) as timeout:
            await pool.request("GET", URL(f"http://127.0.0.1:{port}/"), {}, 0.2, LIMIT)
        assert classify(timeout.value)[0] == "timeout"
    finally:
        server.close()
    with pytest.raises(OSError) as refused:
        await pool.request("GET", URL("http://127.0.0.1:9/"), {}, 2, LIMIT)
    assert classify(refused.value)[0] == "refused"


async def test_not_http_is_a_parse_failure_and_a_header_cannot_smuggle_a_line(pool: HttpPool, serve: Serve) -> None:
    url, _srv = await serve(fixed(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"))
    with pytest.raises(ProbeError) as e:
        await get(pool, url)
    assert e.value.reason == "parse"
    with pytest.raises(ProbeError):
        await pool.request("GET", URL(url), {"X-Token": "a\r\nX-Injected: 1"}, 5, LIMIT)


async def test_against_aiohttp_s_own_server_json_and_streamed_replies(pool: HttpPool) -> None:
    async def streamed(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"X-RateLimit-Remaining": "99"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for part in (b'{"items": [', b"1, 2, 3", b"]}"):
            await resp.write(part)
        await resp.write_eof()
        return resp

    app = web.Application()
    async def healthy(request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy"})

    app.router.add_get("/json", healthy)
    app.router.add_get("/stream", streamed)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        status, _, body = await get(pool, f"http://127.0.0.1:{port}/json")
        assert (status, body) == (200, b'{"status": "healthy"}')
        status, headers, body = await get(pool, f"http://127.0.0.1:{port}/stream")
        assert body == b'{"items": [1, 2, 3]}' and headers["x-ratelimit-remaining"] == "99"  # type: ignore[index]
        assert pool.opened == 1
    finally:
        await runner.cleanup()
