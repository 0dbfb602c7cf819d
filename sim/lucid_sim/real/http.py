"""The HTTP a real Lucid service speaks, as the ``lucid`` personality needs it: a request as a
service sees it (``Req``), an answer (``Reply``, serialised as FastAPI's JSONResponse does), and
Starlette's routing (``Router``: declaration order, 405, trailing-slash redirects, 404)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Req:
    """What a service sees of a request."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    client: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lower), None)

    def client_ip(self) -> str:
        """X-Forwarded-For's first entry, else the peer (every Lucid limiter does this)."""
        forwarded = self.header("X-Forwarded-For")
        return forwarded.split(",")[0].strip() if forwarded else self.client


@dataclass
class Reply:
    """An answer: a JSON body (``body``), or text (``text``) with its content type."""

    status: int = 200
    body: Any = None
    text: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if self.text is not None:
            return self.text.encode()
        # FastAPI's JSONResponse: compact separators, a tuple serialised as a list.
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode()

    def json(self) -> Any:
        return json.loads(self.payload())


def ok(body: Any) -> Reply:
    return Reply(200, body)


def detail(status: int, message: Any, headers: dict[str, str] | None = None) -> Reply:
    """FastAPI's HTTPException body."""
    return Reply(status, {"detail": message}, headers=headers or {})


def plain(status: int, text: str) -> Reply:
    return Reply(status, text=text, content_type="text/plain; charset=utf-8")


def uvicorn_500() -> Reply:
    """An exception no handler turned into a response: uvicorn's (or Starlette's) plain 500."""
    return plain(500, "Internal Server Error")


RouteFn = Callable[[Req, dict[str, str]], Reply]


class Router:
    """Starlette's routing as the services use it: routes tried in declaration order (the first
    whose path matches wins, ``{param}`` matches one segment), 405 when only another method
    matches, 307 to the path with/without the trailing slash, else 404 ``Not Found``."""

    def __init__(self, routes: list[tuple[str, str, RouteFn]]) -> None:
        self.routes = [(method, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"), fn)
                       for method, path, fn in routes]

    def _match(self, path: str) -> bool:
        return any(pattern.match(path) for _, pattern, _ in self.routes)

    def __call__(self, req: Req) -> Reply:
        other_method = False
        for method, pattern, fn in self.routes:
            m = pattern.match(req.path)
            if m is None:
                continue
            if method != req.method:
                other_method = True
                continue
            return fn(req, m.groupdict())
        if other_method:
            return detail(405, "Method Not Allowed")
        if req.path != "/":
            alt = req.path[:-1] if req.path.endswith("/") else req.path + "/"
            if self._match(alt):
                host = req.header("Host") or "localhost"
                return Reply(307, text="", content_type="text/plain", headers={"Location": f"http://{host}{alt}"})
        return detail(404, "Not Found")


def authorization(req: Req) -> tuple[str, str] | None:
    """(scheme, credentials) of the Authorization header, as FastAPI splits it."""
    value = req.header("Authorization")
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    return scheme, credentials
