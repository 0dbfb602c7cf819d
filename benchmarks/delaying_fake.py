"""A delaying fake of many HTTP services, for the fan-out benchmark (its own process).

One listener per service on 127.0.0.1, each with its own port (so the exporter's per-host
connection limits apply per service, as against real services on their own hosts). Each
listener stands in front of an upstream (a service of the simulator): the first request for a
(method, path, Origin) is fetched from the upstream once and recorded; every request, first
or not, is answered after ``delay`` seconds. So every service answers with the simulator's
bodies and headers (status JSON, rate-limit and CORS headers), each request taking the delay
and nothing the simulator does in between.

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


class CountingServer(Server):
    """aiohttp's low-level server, counting the connections it accepts."""

    def __init__(self, stats: dict[str, Any], index: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stats = stats
        self.index = index

    def connection_made(self, handler: Any, transport: asyncio.Transport) -> None:
        self.stats["connections"] += 1
        self.stats["by_listener"][self.index] += 1
        super().connection_made(handler, transport)


async def main(spec: dict[str, Any], ports_file: Path) -> None:
    delay = float(spec["delay"])
    recorded: dict[tuple[str, str, str, str], tuple[int, dict[str, str], bytes]] = {}
    pending: dict[tuple[str, str, str, str], asyncio.Future[tuple[int, dict[str, str], bytes]]] = {}
    stats: dict[str, Any] = {"connections": 0, "requests": 0, "by_listener": [0] * len(spec["upstreams"])}
    http = ClientSession()

    async def fetch(upstream: str, request: web.BaseRequest) -> tuple[int, dict[str, str], bytes]:
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("accept", "authorization", "origin") or k.lower().startswith("access-control-")}
        async with http.request(request.method, upstream + request.path_qs, headers=headers,
                                allow_redirects=False) as r:
            body = await r.read()
            kept = {k: v for k, v in r.headers.items()
                    if k.lower() in KEEP_HEADERS or k.lower().startswith(KEEP_PREFIXES)}
            return r.status, kept, body

    def handler_for(upstream: str) -> Any:
        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            stats["requests"] += 1
            key = (request.method, request.path_qs, request.headers.get("Origin", ""),
                   request.headers.get("Authorization", "")[:16])
            reply = recorded.get(key)
            if reply is None:
                fut = pending.get(key)
                if fut is None:
                    fut = pending[key] = asyncio.ensure_future(fetch(upstream, request))
                reply = recorded[key] = await fut
            await asyncio.sleep(delay)
            status, headers, body = reply
            return web.Response(status=status, headers=headers, body=body)

        return handle

    async def control(request: web.BaseRequest) -> web.StreamResponse:
        return web.json_response(stats)

    loop = asyncio.get_running_loop()
    servers = []
    ports = []
    for i, upstream in enumerate(spec["upstreams"]):
        srv = CountingServer(stats, i, handler_for(upstream.rstrip("/")), access_log=None)
        server = await loop.create_server(srv, "127.0.0.1", 0, backlog=512)
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
    await http.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])))
