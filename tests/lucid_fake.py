"""A small fake of the real Lucid services, for the tests of the ``lucid`` API profile.

It answers as the public Lucid code does (HamiGames/Lucid; facts in docs/status-checks.md), not as
the guide's examples: the real paths and reply shapes (the recorded replies of
tests/fixtures/status/lucid/ with fresh times), health bodies with dependency maps, a pipeline whose
timestamp is loop time, the blockchain API's two layers of credentials (HTTP 500 without them),
``/blocks/latest`` shadowed (404), the admin health at ``/admin/health`` behind a host check, a gateway
that rate-limits in memory and sends ``X-RateLimit-*`` only on its 429, and a handful of faults.

One aiohttp application per service, each on its own port, run in a thread of the test process
(``start()``; ``fault(service, kind)`` / ``clear()`` switch the faults). ``config()`` is the exporter
configuration that points the lucid profile at it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from lucid_exporter import catalogue

FIX = Path(__file__).resolve().parent / "fixtures" / "status" / "lucid"
HEALTH = Path(__file__).resolve().parent / "fixtures" / "health"
API_KEY = "fake-readonly-key-0451"
ADMIN_TOKEN = "fake-admin-session-7731"
GATEWAY_LIMIT = 100  # requests a minute per client, as RATE_LIMIT_REQUESTS_PER_MINUTE defaults
WALLETS = ["TXmHYtqEo9gnwCETwXG24MZQRU8CtL4X7X", "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"]
TRON_SERVICES = ("tron-client", "payout-router", "usdt-manager", "trx-staking", "payment-gateway")
FAULTS: dict[str, tuple[str, ...]] = {
    "auth-service": ("database_down", "redis_down", "hardware_wallet_unavailable", "hardware_wallet_disabled"),
    "payout-router": ("tuple_unhealthy",),
    "wallet-manager": ("database_error",),
    "admin-interface": ("untrusted_host",),
    "api-gateway": ("rate_limiter_off",),
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def recorded(name: str, folder: Path = FIX) -> Any:
    return json.loads((folder / f"{name}.json").read_text())


def iso(ts: float | None = None) -> str:
    """The real services' naive UTC ISO time (no Z)."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


class LucidFake:
    def __init__(self) -> None:
        self.faults: set[tuple[str, str]] = set()
        self.ports: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lucid-fake", daemon=True)
        self._runners: list[web.AppRunner] = []
        self._window: dict[str, deque[float]] = {}  # the gateway's in-memory sliding windows

    # -- control -----------------------------------------------------------------------------------
    def fault(self, service: str, kind: str) -> None:
        assert kind in FAULTS.get(service, ()), f"{service} has no fault {kind}"
        self.faults.add((service, kind))

    def clear(self) -> None:
        self.faults.clear()
        self._window.clear()

    def has(self, service: str, kind: str) -> bool:
        return (service, kind) in self.faults

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self) -> LucidFake:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    def stop(self) -> None:
        async def stop() -> None:
            for r in self._runners:
                await r.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        for name, routes in self._services().items():
            app = web.Application()
            for method, path, handler in routes:
                app.router.add_route(method, path, handler)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self._runners.append(runner)
            self.ports[name] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def config(self, **status: Any) -> dict[str, Any]:
        """Exporter configuration: the lucid profile, every service at its fake port, the stores and
        the host-level sources off (this fake is the HTTP services only)."""
        services: dict[str, Any] = {name: {"url": self.url(name)} for name in self.ports}
        for store in ("mongodb", "redis", "elasticsearch"):
            services[store] = {"enabled": False}
        return {
            "status": {"profile": "lucid", "token": ADMIN_TOKEN, "blockchain_api_key": API_KEY, "wallets": WALLETS,
                       "trongrid_url": self.url("tron-client"), "cors_origins": ["http://localhost:3000"], **status},
            "services": services,
            "probes": {"min_interval_seconds": 0, "timeout_seconds": 3},
            **{source: {"enabled": False} for source in ("mongodb", "redis", "elasticsearch", "docker", "logs",
                                                          "network", "host")},
        }

    # -- the services --------------------------------------------------------------------------------
    def _services(self) -> dict[str, list[tuple[str, str, Handler]]]:
        out: dict[str, list[tuple[str, str, Handler]]] = {}
        for name in catalogue.services():
            if name in ("mongodb", "redis", "elasticsearch", "rate-limiter"):
                continue
            out[name] = [("GET", "/health", self._health(name))]
        out["admin-interface"] = [("GET", "/admin/health", self._admin_health),
                                  ("GET", "/admin/api/v1/dashboard/overview", self._admin_overview)]
        for name in ("blockchain-engine", "session-anchoring"):
            out[name] += [("GET", "/api/v1/consensus/status", self._bc("consensus_status")),
                          ("GET", "/api/v1/chain/height", self._bc("blocks_latest")),
                          ("GET", "/api/v1/consensus/participants", self._bc("consensus_participants")),
                          ("GET", "/api/v1/anchoring/status", self._bc("anchoring_status")),
                          ("GET", "/api/v1/blocks/{block_id}", self._bc("blocks_latest_shadowed", 404))]
        out["session-pipeline"].append(("GET", "/status", self._pipeline_status))
        out["chunk-processor"].append(("GET", "/metrics", self._json("processing_status")))
        out["node-management"].append(("GET", "/nodes", self._json("nodes_list")))
        out["tron-client"] += [("GET", "/api/v1/tron/network/status", self._tron_network),
                               ("GET", "/api/v1/tron/network/health", self._json("tron_connectivity")),
                               ("GET", "/wallet/getnowblock", self._nowblock)]
        out["wallet-manager"].append(("GET", "/api/v1/tron/api/v1/tron/wallets/", self._wallets))
        out["usdt-manager"].append(("GET", "/api/v1/tron/usdt/balance/{address}", self._usdt_balance))
        out["api-gateway"].append(("OPTIONS", "/{tail:.*}", self._gateway_preflight))
        out["api-gateway"].append(("GET", "/api/v1/{tail:.*}", self._gateway_route))
        return out

    def _health(self, name: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return self._health_reply(name)

        return handler

    def _health_reply(self, name: str) -> web.StreamResponse:
        if name == "auth-service":
            deps: dict[str, Any] = {"database": not self.has(name, "database_down"),
                                    "redis": not self.has(name, "redis_down"), "hardware_wallet": "available"}
            if self.has(name, "hardware_wallet_unavailable"):
                deps["hardware_wallet"] = "unavailable"
            if self.has(name, "hardware_wallet_disabled"):
                deps["hardware_wallet"] = "disabled"
            status = "healthy" if deps["database"] and deps["redis"] else "degraded"  # never "unhealthy"
            return web.json_response({"status": status, "service": "auth-service", "version": "1.0.0",
                                      "timestamp": iso(), "environment": "production", "dependencies": deps},
                                     headers=self._auth_rate_headers())
        if name == "payout-router" and self.has(name, "tuple_unhealthy"):
            # A handler that returns (dict, 503): FastAPI serialises the tuple, with HTTP 200.
            return web.json_response([{"status": "unhealthy", "service": "tron-payout-router", "timestamp": iso(),
                                       "service_initialized": False}, 503])
        if name in TRON_SERVICES:
            body = recorded("tron_combined_degraded", HEALTH)
            body["status"] = "healthy"
            body["dependencies"]["tron_network"]["status"] = "healthy"
            body["timestamp"] = time.time()
            return web.json_response(body)
        if name == "wallet-manager":
            database = "error: ServerSelectionTimeoutError: timed out" if self.has(name, "database_error") \
                else "connected"
            return web.json_response({"status": "healthy", "service": "tron-wallet-manager",
                                      "timestamp": iso() + "+00:00", "database": database})
        if name in ("session-pipeline", "session-recorder"):
            body = recorded("pipeline_healthy", HEALTH)
            body["timestamp"] = time.monotonic()  # the event loop's clock, as the real services send
            return web.json_response(body)
        if name == "session-controller":
            body = recorded("session_controller_integrations", HEALTH)
            body["integrations"] = {k: {"status": "healthy"} for k in body["integrations"]}
            return web.json_response(body)
        if name == "rdp-manager":
            return web.json_response({**recorded("ports_status"), "timestamp": iso()})
        if name == "resource-monitor":
            return web.json_response({**recorded("monitoring_metrics"), "timestamp": iso()})
        if name == "session-storage":
            body = recorded("session_storage_unhealthy", HEALTH)
            body["status"] = "healthy"
            body["services"]["chunk_store"]["status"] = "healthy"
            return web.json_response(body)
        if name in ("blockchain-engine", "session-anchoring"):
            return web.json_response({"status": "healthy", "service": "lucid-blockchain-api"})
        if name == "api-gateway":
            return web.json_response({"status": "healthy", "service": "api-gateway"})
        return web.json_response({"status": "healthy", "service": name, "version": "1.0.0",
                                  "timestamp": iso() + "+00:00"})

    @staticmethod
    def _auth_rate_headers() -> dict[str, str]:
        # The auth service's own limiter (Redis-backed) sends its headers on every answer.
        return {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "59",
                "X-RateLimit-Reset": str(int(time.time()) // 60 * 60 + 60)}

    def _json(self, name: str, status: int = 200) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.json_response(recorded(name), status=status)

        return handler

    def _bc(self, name: str, status: int = 200) -> Handler:
        """The blockchain API: a JWT or X-API-Key for its middleware, a bearer header and api-key for the
        route dependency; a failed authentication is HTTP 500 (raised inside a middleware)."""
        async def handler(request: web.Request) -> web.StreamResponse:
            if request.headers.get("X-API-Key") != API_KEY:
                return web.json_response({"error": "Internal server error", "message": "An unexpected error occurred",
                                          "timestamp": time.time()}, status=500)
            if not request.headers.get("Authorization", "").startswith("Bearer "):
                return web.json_response({"detail": "Not authenticated"}, status=403)
            if request.headers.get("api-key") != API_KEY:
                return web.json_response({"detail": "Invalid authentication credentials"}, status=401)
            body = recorded(name)
            if name == "blocks_latest":
                body["timestamp"] = iso()  # the real /chain/height answers "now"
            return web.json_response(body, status=status)

        return handler

    async def _pipeline_status(self, request: web.Request) -> web.StreamResponse:
        body = recorded("pipeline_sessions")
        for pipeline in body["active_pipelines"].values():  # a healthy stack: no pipeline in error
            pipeline.update(state="active", error_message=None)
        body["timestamp"] = time.monotonic()
        return web.json_response(body)

    async def _wallets(self, request: web.Request) -> web.StreamResponse:
        body = recorded("wallets_status")
        for wallet in body["wallets"]:  # a healthy stack: no wallet locked
            wallet["status"] = "active"
        return web.json_response(body)

    async def _tron_network(self, request: web.Request) -> web.StreamResponse:
        body = recorded("tron_network_status")
        body["block_timestamp"] = int(time.time() * 1000) - 1500  # milliseconds, TronGrid's
        body["last_updated"] = iso()
        return web.json_response(body)

    async def _nowblock(self, request: web.Request) -> web.StreamResponse:
        body = recorded("trongrid_nowblock")
        body["block_header"]["raw_data"]["timestamp"] = int(time.time() * 1000) - 1500
        return web.json_response(body)

    async def _usdt_balance(self, request: web.Request) -> web.StreamResponse:
        address = request.match_info["address"]
        if not (address.startswith("T") and len(address) == 34 and address.isalnum()):
            return web.json_response({"detail": "Invalid TRON address format"}, status=400)
        return web.json_response({**recorded("usdt_balance"), "address": address, "last_updated": iso()})

    def _trusted(self, request: web.Request) -> bool:
        return not self.has("admin-interface", "untrusted_host")

    async def _admin_health(self, request: web.Request) -> web.StreamResponse:
        if not self._trusted(request):
            return web.Response(status=400, text="Invalid host header")
        return web.json_response({**recorded("admin_healthy", HEALTH), "timestamp": iso() + "+00:00"})

    async def _admin_overview(self, request: web.Request) -> web.StreamResponse:
        if not self._trusted(request):
            return web.Response(status=400, text="Invalid host header")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return web.json_response({"detail": "Not authenticated"}, status=403)
        if auth != f"Bearer {ADMIN_TOKEN}":
            return web.json_response({"detail": "Invalid or expired session token"}, status=401)
        return web.json_response(recorded("admin_permissions_matrix"))

    # -- the gateway: in-memory limiter, headers only on 429 -------------------------------------------
    def _limit(self, request: web.Request) -> web.StreamResponse | None:
        if self.has("api-gateway", "rate_limiter_off"):
            return None
        client = f"ip:{request.remote}"
        now = time.time()
        window = self._window.setdefault(client, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= GATEWAY_LIMIT:
            wait = max(1, int(60 - (now - window[0])))
            return web.json_response(
                {"error": {"code": "LUCID_ERR_3001", "message": f"Rate limit exceeded. Try again in {wait} seconds."}},
                status=429, headers={"X-RateLimit-Limit": str(GATEWAY_LIMIT), "X-RateLimit-Remaining": "0",
                                     "X-RateLimit-Reset": str(int(now) + wait), "Retry-After": str(wait)})
        window.append(now)
        return None  # allowed: the remaining count goes nowhere near a header

    async def _gateway_preflight(self, request: web.Request) -> web.StreamResponse:
        refused = self._limit(request)
        if refused is not None:
            return refused
        origin = request.headers.get("Origin", "")
        method = request.headers.get("Access-Control-Request-Method", "")
        if not origin or not method:
            return web.Response(status=500, text="Internal Server Error")  # routed: 405 -> the handler bug
        if origin != "http://localhost:3000":
            return web.Response(status=400, text="Disallowed CORS origin")
        if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            return web.Response(status=400, text="Disallowed CORS method")
        return web.Response(text="OK", headers={
            "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
            "Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "600", "Vary": "Origin",
            "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers", "")})

    async def _gateway_route(self, request: web.Request) -> web.StreamResponse:
        refused = self._limit(request)
        if refused is not None:
            return refused
        return web.Response(status=500, text="Internal Server Error")  # every route error, at the real gateway
