"""The simulated Lucid stack: every catalogue service on its own loopback port.

Each HTTP service is its own aiohttp application with its own listener, so that a
``down`` fault can really close the port (connection refused). TCP-only services
(MongoDB, Redis stand-ins) accept and close connections. A control application on its
own port injects and clears faults at runtime, and moves the sim's clock on (clock.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from lucid_exporter.config import deep_merge

from . import bodies
from .catalogue import Service, default_catalogue
from .clock import ClockError, SimClock
from .faults import FaultError, Faults

log = logging.getLogger("lucid_sim")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A route a service answers besides its health path: (method, path, handler factory).
RouteFactory = Callable[["SimStack", Service], list[tuple[str, str, Handler]]]

_HANG_SECONDS = 3600.0


@dataclass
class _Listener:
    service: Service
    port: int
    runner: web.AppRunner | None = None
    site: web.TCPSite | None = None
    tcp_server: asyncio.Server | None = None


@dataclass
class SimStack:
    host: str = "127.0.0.1"
    base_port: int = 18080
    control_port: int = 18079
    services: dict[str, Service] = field(default_factory=default_catalogue)
    route_factories: list[RouteFactory] = field(default_factory=list)
    extra_fault_kinds: dict[str, str] = field(default_factory=dict)
    # Extra exporter config (deep-merged into exporter_config), e.g. tokens the probes need.
    config_contributors: list[Callable[[SimStack], dict[str, Any]]] = field(default_factory=list)
    # Called after a fault is set or cleared at runtime (the status world starts or stops its stalls).
    on_fault_change: list[Callable[[], None]] = field(default_factory=list)
    clock: SimClock = field(default_factory=SimClock)
    # The personality the stack answers with (cli.py --profile): "guide" answers as the
    # troubleshooting guide's examples, with the health route below; "lucid" as the real code, whose
    # route factory serves every path itself (builtin_health False), with its own 500 bodies
    # (error_response) and its veto on the faults it cannot express (fault_refusal).
    profile: str = "guide"
    builtin_health: bool = True
    error_response: Callable[[Service], web.StreamResponse] | None = None
    fault_refusal: Callable[[str, str], str | None] | None = None
    # Extra entries of the control port's index (GET /), e.g. which services a fault kind applies to.
    index_extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.faults = Faults(set(self.services), dict(self.extra_fault_kinds), refuse=self.fault_refusal)
        self._listeners: dict[str, _Listener] = {}
        self._control: web.AppRunner | None = None
        ports = iter(range(self.base_port, self.base_port + 1000))
        for s in self.services.values():
            if s.health != "none":
                self._listeners[s.name] = _Listener(s, next(ports))

    # -- addresses ---------------------------------------------------------------------
    def url(self, name: str) -> str:
        lst = self._listeners[name]
        scheme = "tcp" if lst.service.health == "tcp" else "http"
        return f"{scheme}://{self.host}:{lst.port}"

    def exporter_config(self) -> dict[str, Any]:
        """A config that points the exporter at this stack."""
        services: dict[str, Any] = {n: {"url": self.url(n)} for n in self._listeners}
        # The sim's MongoDB and Redis are TCP stand-ins and its Elasticsearch only serves
        # _cluster/health: the store probes (probes/mongodb.py, redis.py, elasticsearch.py)
        # need real servers, so they are off here and the catalogue health checks run instead.
        # make demo turns them on against real servers (scripts/demo_foundation.py).
        out: dict[str, Any] = {"services": services, "mongodb": {"enabled": False}, "redis": {"enabled": False},
                               "elasticsearch": {"enabled": False}}
        for contribute in self.config_contributors:
            out = deep_merge(out, contribute(self))
        return out

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        for lst in self._listeners.values():
            await self._open(lst)
        control = web.Application()
        control.router.add_get("/", self._h_index)
        control.router.add_get("/faults", self._h_list)
        control.router.add_route("PUT", "/faults/{service}/{kind}", self._h_add)
        control.router.add_route("POST", "/faults/{service}/{kind}", self._h_add)
        control.router.add_delete("/faults/{service}/{kind}", self._h_clear)
        control.router.add_delete("/faults/{service}", self._h_clear)
        control.router.add_delete("/faults", self._h_clear)
        control.router.add_get("/clock", self._h_clock)
        control.router.add_post("/clock/advance", self._h_advance)
        self._control = web.AppRunner(control, access_log=None)
        await self._control.setup()
        await web.TCPSite(self._control, self.host, self.control_port).start()

    async def stop(self) -> None:
        for lst in self._listeners.values():
            await self._close(lst)
        if self._control is not None:
            await self._control.cleanup()
            self._control = None

    async def set_fault(self, service: str, kind: str) -> None:
        self.faults.add(service, kind)
        self._faults_changed()
        await self._sync(service)

    async def clear_fault(self, service: str | None = None, kind: str | None = None) -> None:
        self.faults.clear(service, kind)
        self._faults_changed()
        for name in [service] if service else list(self._listeners):
            await self._sync(name)

    def _faults_changed(self) -> None:
        for listener in self.on_fault_change:
            listener()

    async def _sync(self, service: str) -> None:
        """Open or close a listener to match the ``down`` fault."""
        lst = self._listeners.get(service)
        if lst is None:
            return
        is_open = lst.site is not None or lst.tcp_server is not None
        if self.faults.has(service, "down") and is_open:
            await self._close(lst)
        elif not self.faults.has(service, "down") and not is_open:
            await self._open(lst)

    async def _open(self, lst: _Listener) -> None:
        if self.faults.has(lst.service.name, "down"):
            return
        if lst.service.health == "tcp":
            lst.tcp_server = await asyncio.start_server(self._tcp_client(lst.service.name), self.host, lst.port,
                                                        reuse_address=True)
            return
        if lst.runner is None:
            lst.runner = web.AppRunner(self._service_app(lst.service), access_log=None,
                                       shutdown_timeout=0.1)
            await lst.runner.setup()
        lst.site = web.TCPSite(lst.runner, self.host, lst.port, reuse_address=True)
        await lst.site.start()

    async def _close(self, lst: _Listener) -> None:
        if lst.tcp_server is not None:
            lst.tcp_server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(lst.tcp_server.wait_closed(), 1)
            lst.tcp_server = None
        if lst.site is not None:
            await lst.site.stop()
            lst.site = None
            # A process that dies closes its connections at once: a client's idle kept-alive connection
            # is dropped from its pool, and its next request is refused rather than cut mid-way.
            if lst.runner is not None and lst.runner.server is not None:
                for connection in lst.runner.server.connections:
                    connection.force_close()
        if lst.runner is not None and self._control is None:  # full shutdown
            await lst.runner.cleanup()
            lst.runner = None

    def _tcp_client(self, name: str) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if self.faults.has(name, "hang"):
                with contextlib.suppress(Exception):
                    await reader.read()  # hold the connection until the client leaves
            writer.close()

        return handle

    # -- service applications ----------------------------------------------------------------
    def _service_app(self, service: Service) -> web.Application:
        name = service.name

        @web.middleware
        async def faults(request: web.Request, handler: Handler) -> web.StreamResponse:
            fault = self.faults.http_fault(name)
            if fault == "down":
                # The listener is closed; also drop connections a client kept alive from before.
                if request.transport is not None:
                    request.transport.abort()
                raise web.HTTPServiceUnavailable()
            if fault == "hang":
                await asyncio.sleep(_HANG_SECONDS)
            if fault == "error":
                if self.error_response is not None:
                    return self.error_response(service)
                return web.json_response({"detail": "Internal Server Error (simulated)"}, status=500)
            if fault == "garbage":
                return web.Response(body=b'{"status": "heal', content_type="application/json")
            return await handler(request)

        app = web.Application(middlewares=[faults])

        async def health(request: web.Request) -> web.Response:
            fault = self.faults.http_fault(name)
            status = fault if fault in ("unhealthy", "degraded") else "healthy"
            if name == "elasticsearch":
                color = {"unhealthy": "red", "degraded": "yellow"}.get(status, "green")
                return web.json_response(bodies.es_cluster_health(color))
            return web.json_response(bodies.health(name, status))

        if self.builtin_health:
            app.router.add_get(service.health_path or "/health", health)
        for factory in self.route_factories:
            for method, path, handler in factory(self, service):
                app.router.add_route(method, path, handler)
        return app

    # -- control -------------------------------------------------------------------------------
    async def _h_index(self, request: web.Request) -> web.Response:
        return web.json_response({
            "profile": self.profile,
            "services": {n: self.url(n) for n in self._listeners},
            "fault_kinds": self.faults.kinds(),
            **self.index_extras,
            "usage": "PUT /faults/{service}/{kind}; DELETE /faults/{service}[/{kind}]; DELETE /faults; "
                     "GET /clock; POST /clock/advance?seconds=N",
        })

    async def _h_list(self, request: web.Request) -> web.Response:
        return web.json_response({s: sorted(k) for s, k in self.faults.active.items() if k})

    async def _h_add(self, request: web.Request) -> web.Response:
        try:
            await self.set_fault(request.match_info["service"], request.match_info["kind"])
        except FaultError as e:
            return web.json_response({"error": str(e)}, status=400)
        return await self._h_list(request)

    async def _h_clear(self, request: web.Request) -> web.Response:
        service = request.match_info.get("service")
        if service is not None and service not in self.services:
            return web.json_response({"error": f"unknown service {service!r}"}, status=400)
        await self.clear_fault(service, request.match_info.get("kind"))
        return await self._h_list(request)


    async def _h_clock(self, request: web.Request) -> web.Response:
        now = time.time()
        return web.json_response({"now": bodies.iso(now), "now_seconds": now,
                                  "advanced_seconds": self.clock.advanced})

    async def _h_advance(self, request: web.Request) -> web.Response:
        raw = request.query.get("seconds")
        try:
            if raw is None:
                raise ClockError("give the seconds to advance: POST /clock/advance?seconds=N")
            try:
                seconds = float(raw)
            except ValueError:
                raise ClockError(f"seconds must be a number, got {raw!r}") from None
            self.clock.advance(seconds)
        except ClockError as e:
            return web.json_response({"error": str(e)}, status=400)
        return await self._h_clock(request)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2)
