"""A delaying fake of many HTTP services, for the fan-out benchmark (its own process).

One listener per service on 127.0.0.1, each with its own port (so the exporter's per-host
connection limits apply per service, as against real services on their own hosts). Each
listener stands in front of an upstream (a service of the simulator): the first request for a
(method, path, Origin) is fetched from the upstream once and recorded; every request is answered
``delay`` seconds after it arrived (the first one of a kind after its fetch). The listeners
speak HTTP/1.1 through a small protocol of their own that sends the recorded bytes as they are,
so that the fake's own work per request stays well under the exporter's: one process stands for
hundreds of services, and a request must not wait for the others' to be parsed. So every
service answers with the simulator's bodies and headers (status JSON, rate-limit and CORS
headers), each request taking the delay and nothing the simulator does in between.

``GET /stats`` on the control port answers {"connections": accepted connections,
"requests": requests, "by_listener": [accepted connections of each listener]}.

usage: delaying_fake.py SPEC.json PORTS.json
  spec: {"delay": s, "upstreams": ["http://127.0.0.1:q", ...]}: one listener per upstream, each on a
  free port; once all listen, PORTS.json gets {"ports": [port of each listener], "control": port}.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from aiohttp.web_server import Server

KEEP_HEADERS = ("content-type", "retry-after")
KEEP_PREFIXES = ("x-ratelimit-", "access-control-")
REASONS = {200: "OK", 204: "No Content", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def serialize(status: int, headers: dict[str, str], body: bytes) -> tuple[bytes, bytes]:
    """(head, body) of a recorded reply, written once and sent as they are on every request."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"), body


class Listener(asyncio.Protocol):
    """One connection to one fake service: each request answered after the delay with the recorded
    reply. A protocol of its own, not aiohttp's server: at 250 services the fake's own CPU per
    request (aiohttp's server parses and builds every request and reply) queued the replies behind
    each other on its one thread, and the full scrape paid for the fake's work, not the exporter's."""

    def __init__(self, fake: Fake, index: int) -> None:
        self.fake = fake
        self.index = index
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.fake.stats["connections"] += 1
        self.fake.stats["by_listener"][self.index] += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4:]
            self.fake.request(self, head)

    def send(self, reply: tuple[bytes, bytes], head_only: bool) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply[0] if head_only else reply[0] + reply[1])


class Fake:
    def __init__(self, delay: float, upstreams: list[str]) -> None:
        self.delay = delay
        self.upstreams = [u.rstrip("/") for u in upstreams]
        self.recorded: dict[tuple[int, str, str, str, str], tuple[bytes, bytes]] = {}
        self.pending: dict[tuple[int, str, str, str, str], asyncio.Future[tuple[bytes, bytes]]] = {}
        self.stats: dict[str, Any] = {"connections": 0, "requests": 0, "by_listener": [0] * len(upstreams)}
        self.http: ClientSession | None = None

    def request(self, conn: Listener, head: str) -> None:
        self.stats["requests"] += 1
        lines = head.split("\r\n")
        method, _, rest = lines[0].partition(" ")
        path = rest.rsplit(" ", 1)[0]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        # Which upstream: the listener's own (the recording is per listener: services differ).
        key = (conn.index, method, path, headers.get("origin", ""), headers.get("authorization", "")[:16])
        loop = asyncio.get_running_loop()
        reply = self.recorded.get(key)
        if reply is not None:
            loop.call_later(self.delay, conn.send, reply, method == "HEAD")
            return
        fut = self.pending.get(key)
        if fut is None:
            fut = self.pending[key] = asyncio.ensure_future(self.fetch(conn.index, method, path, headers))

        def done(f: asyncio.Future[tuple[bytes, bytes]]) -> None:
            self.recorded[key] = f.result()
            loop.call_later(self.delay, conn.send, f.result(), method == "HEAD")

        fut.add_done_callback(done)

    async def fetch(self, index: int, method: str, path: str, headers: dict[str, str]) -> tuple[bytes, bytes]:
        if self.http is None:
            self.http = ClientSession()
        wanted = {k: v for k, v in headers.items()
                  if k in ("accept", "authorization", "origin") or k.startswith("access-control-")}
        async with self.http.request(method, self.upstreams[index] + path, headers=wanted,
                                     allow_redirects=False) as r:
            body = await r.read()
            kept = {k: v for k, v in r.headers.items()
                    if k.lower() in KEEP_HEADERS or k.lower().startswith(KEEP_PREFIXES)}
            return serialize(r.status, kept, body)


async def main(spec: dict[str, Any], ports_file: Path) -> None:
    fake = Fake(float(spec["delay"]), spec["upstreams"])

    async def control(request: web.BaseRequest) -> web.StreamResponse:
        return web.json_response(fake.stats)

    loop = asyncio.get_running_loop()
    servers = []
    ports = []
    for i in range(len(fake.upstreams)):
        server = await loop.create_server(lambda i=i: Listener(fake, i), "127.0.0.1", 0, backlog=512)
        servers.append(server)
        ports.append(server.sockets[0].getsockname()[1])
    ctl = await loop.create_server(Server(control, access_log=None), "127.0.0.1", 0)
    servers.append(ctl)
    tmp = ports_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"ports": ports, "control": ctl.sockets[0].getsockname()[1]}))
    tmp.rename(ports_file)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in servers:
        s.close()
    if fake.http is not None:
        await fake.http.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])))
