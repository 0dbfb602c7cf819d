"""An HTTP reverse proxy in front of a real server, as a load balancer or a sidecar in front of
Elasticsearch or a Lucid service would be, whose answers the drill can spoil: slow (every answer
after ``delay`` seconds), garbage (HTTP 200 with invalid JSON) or error (HTTP 500 with a JSON body).
It runs in the test process, like the Alertmanager webhook."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from ..support import free_port

Mode = Literal["pass", "slow", "garbage", "error"]


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.mode: Mode = "pass"
        self.delay = 0.0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status: int, body: bytes, content_type: str = "application/json",
                        headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _proxy(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                mode, delay = proxy.mode, proxy.delay
                if mode == "slow":
                    time.sleep(delay)
                elif mode == "garbage":
                    self._answer(200, b'{"status": "gre')
                    return
                elif mode == "error":
                    self._answer(500, b'{"error": "Internal Server Error (drill)"}')
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() in
                           ("accept", "authorization", "content-type", "origin", "x-opaque-id")}
                req = urllib.request.Request(proxy.upstream + self.path, data=data, method=self.command,
                                             headers=headers)
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        body, status, ctype = r.read(), r.status, r.headers.get("Content-Type", "")
                        extra = {k: v for k, v in r.headers.items() if k.lower().startswith(("x-", "access-control"))}
                except urllib.error.HTTPError as e:
                    body, status, ctype, extra = e.read(), e.code, e.headers.get("Content-Type", ""), {}
                except OSError:
                    self._answer(502, b'{"error": "upstream unreachable"}')
                    return
                self._answer(status, body, ctype or "application/json", extra)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = _proxy

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up on a slow answer (BrokenPipe): nothing to report

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, mode: Mode, delay: float = 0.0) -> None:
        self.mode, self.delay = mode, delay

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
