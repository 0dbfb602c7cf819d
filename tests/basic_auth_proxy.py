"""A reverse proxy that demands HTTP basic auth, for "Elasticsearch behind security" tests:
osmem-server has no security of its own, so this puts a real authenticating hop in front of it
(as nginx or Elasticsearch's own security would): 401 without the right user and password,
otherwise the request is forwarded unchanged.

    python -m tests.basic_auth_proxy --port P --upstream http://127.0.0.1:9200
with the credentials in PROXY_USER and PROXY_PASSWORD (any characters), or the password in the
file PROXY_PASSWORD_FILE, read on every request (a test changes it between cases).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import os
from collections.abc import Callable
from pathlib import Path

from aiohttp import ClientSession, web

HOP_BY_HOP = {"authorization", "host", "connection", "keep-alive", "transfer-encoding", "content-length"}


def make_app(upstream: str, user: str, password: Callable[[], str]) -> web.Application:
    async def proxy(request: web.Request) -> web.StreamResponse:
        expected = f"{user}:{password()}".encode()
        header = request.headers.get("Authorization", "")
        try:
            presented = base64.b64decode(header.removeprefix("Basic "), validate=True)
        except (binascii.Error, ValueError):
            presented = b""
        if not header.startswith("Basic ") or not hmac.compare_digest(presented, expected):
            return web.json_response({"error": "security_exception", "status": 401}, status=401,
                                     headers={"WWW-Authenticate": 'Basic realm="security"'})
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        session: ClientSession = request.app["session"]
        async with session.request(request.method, upstream + request.path_qs, headers=headers,
                                   data=await request.read()) as reply:
            body = await reply.read()
            out = {k: v for k, v in reply.headers.items() if k.lower() not in HOP_BY_HOP | {"content-encoding"}}
            return web.Response(status=reply.status, body=body, headers=out)

    async def start(app: web.Application) -> None:
        app["session"] = ClientSession()

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/{tail:.*}", proxy)
    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    args = ap.parse_args()
    password_file = os.environ.get("PROXY_PASSWORD_FILE")
    if password_file:
        def password() -> str:
            return Path(password_file).read_text(encoding="utf-8")
    else:
        def password() -> str:
            return os.environ["PROXY_PASSWORD"]
    web.run_app(make_app(args.upstream.rstrip("/"), os.environ["PROXY_USER"], password),
                host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
