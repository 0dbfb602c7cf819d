"""How each real Lucid service answers an HTTP request: its routes (in the real code's order, so
that route-order bugs happen here too), its middlewares (rate limiters, auth, CORS, host check)
and its bodies, for the sim's ``lucid`` personality.

Facts: docs/lucid-real-api.md (read from the public Lucid code, HEAD 29c889df; behaviour
only, no code of it here). Pure functions of the world's state: ``RealServices.answer(service,
request)`` returns a ``Reply`` (http.py); the package's ``attach`` serves it over aiohttp. The unit
tests call ``answer`` without sockets.

Decisions (also in sim/README.md):
- Constants stay constants (fidelity): the blockchain API's block height/round 12345, 25
  participants, anchoring 5/2/150/30.5, chain height 12345 with timestamp "now"; the USDT balance
  1000.0; the empty USDT transactions list; node-management's active_nodes 0; the gateway's static
  health. Faults on them are unobservable and refused (faults.py).
- FastAPI's HTTPBearer answers 401 ``Not authenticated`` when the Authorization header is missing
  (FastAPI >= 0.117; the images pin ``fastapi>=0.111`` and so resolve a current one).
- The admin interface's TRUSTED_HOSTS is set as in a working deployment (its container name, the
  loopback names, the sim's --host); ``trusted_hosts_unset`` is the real default (every request 400).
- The five TRON containers run the combined app, as their images do; the standalone ``*_main.py``
  apps, whose tuple bodies the issue describes, answer only under ``tuple_unhealthy``/``tuple_degraded``.
- What the real code holds as live state evolves on the sim's clock (state.py).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from .. import bodies
from ..world import WALLETS
from .http import Reply, Req, RouteFn, Router, authorization, detail, ok, plain, uvicorn_500
from .state import (
    API_KEY_USERS,
    BLOCKCHAIN_USERS,
    GATEWAY_RATE_LIMIT,
    MIDDLEWARE_API_KEYS,
    PIPELINE_STAGES,
    RDP_MAX_SERVERS,
    RDP_PORT_RANGE,
    TRUSTED_HOSTS,
    XRDP_MAX_PROCESSES,
    RealWorld,
    aware_iso,
    naive_iso,
)

CORS_ORIGINS = ("http://localhost:3000", "https://lucid.onion")  # the gateway's CORS_ORIGINS
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
USDT_CONTRACT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
TRON_SERVICES = ("tron_client", "wallet_manager", "usdt_manager", "payout_router", "payment_gateway", "trx_staking")
# The combined TRON app's own in-process service of each container (the one a fault puts in error).
TRON_OWN = {"tron-client": "tron_client", "payout-router": "payout_router", "usdt-manager": "usdt_manager",
            "trx-staking": "trx_staking", "payment-gateway": "payment_gateway"}
# The standalone *_main.py apps and the service name in their bodies.
TRON_STANDALONE = {"payout-router": "tron-payout-router", "usdt-manager": "tron-usdt-manager",
                   "trx-staking": "tron-staking", "payment-gateway": "tron-payment-gateway"}
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


class RealServices:
    """Every service of the ``lucid`` personality, answering from ``world``'s state."""

    def __init__(self, world: RealWorld, known: set[str], host: str = "127.0.0.1") -> None:
        self.w = world
        self.known = known
        self.trusted_hosts = {*TRUSTED_HOSTS, host}
        self.apps: dict[str, Callable[[Req], Reply]] = {}
        for name in known:
            app = self._app(name)
            if app is not None:
                self.apps[name] = app

    def answer(self, service: str, req: Req) -> Reply:
        app = self.apps.get(service)
        return app(req) if app is not None else detail(404, "Not Found")

    def f(self, service: str, kind: str) -> bool:
        return self.w.fault(service, kind)

    def _app(self, name: str) -> Callable[[Req], Reply] | None:
        if name == "auth-service":
            return self._auth()
        if name == "api-gateway":
            return self._gateway()
        if name in ("blockchain-engine", "session-anchoring"):
            return self._blockchain(name)
        if name in TRON_OWN:
            return self._tron(name)
        builders: dict[str, Callable[[], Callable[[Req], Reply]]] = {
            "elasticsearch": self._elasticsearch, "session-pipeline": self._pipeline,
            "session-recorder": self._recorder, "chunk-processor": self._processor,
            "session-storage": self._storage, "session-api": self._session_api, "rdp-manager": self._rdp_manager,
            "xrdp": self._xrdp, "session-controller": self._controller, "resource-monitor": self._monitor,
            "node-management": self._nodes, "admin-interface": self._admin, "wallet-manager": self._wallets,
        }
        build = builders.get(name)
        return build() if build is not None else None

    # -- the ``error`` fault: each service's own 500 ---------------------------------------------
    def error_reply(self, service: str) -> Reply:
        now = time.time()
        lucid_5000: dict[str, Any] = {"code": "LUCID_ERR_5000", "message": "Internal server error"}
        bodies_: dict[str, Any] = {
            "auth-service": {"error": {**lucid_5000, "service": "auth-service", "timestamp": naive_iso(now)}},
            "blockchain-engine": {"error": "Internal server error", "message": "An unexpected error occurred",
                                  "timestamp": now},
            "session-pipeline": {"error": {**lucid_5000, "details": "An unexpected error occurred"}},
            "session-recorder": {"error": {**lucid_5000, "details": "An unexpected error occurred"}},
            "chunk-processor": {"error": {**lucid_5000, "timestamp": naive_iso(now)}},
            "session-api": {"error": {**lucid_5000, "details": {"exception": "simulated failure"},
                                      "timestamp": naive_iso(now)}},
            "session-controller": {"error": {"code": "LUCID_ERR_2200", "message": "Internal server error"}},
            "resource-monitor": {"error": {"code": "LUCID_ERR_2300", "message": "Internal server error",
                                           "details": "An unexpected error occurred"}},
            "xrdp": {"error": {**lucid_5000, "details": "An unexpected error occurred"}},
            "node-management": {"detail": "Internal server error"},
            "admin-interface": {"error": {"code": "LUCID_ADMIN_ERR_5000", "message": "Internal server error",
                                          "timestamp": aware_iso(now)}},
        }
        bodies_["session-anchoring"] = bodies_["blockchain-engine"]
        if service in TRON_OWN:
            return Reply(500, {"status": "error", "timestamp": now, "error": "simulated failure"})
        if service == "elasticsearch":
            return Reply(500, {"error": {"type": "internal_server_error", "reason": "simulated failure"},
                               "status": 500})
        body = bodies_.get(service)
        return Reply(500, body) if body is not None else uvicorn_500()

    # -- foundation -----------------------------------------------------------------------------
    def _elasticsearch(self) -> Callable[[Req], Reply]:
        def health(req: Req, p: dict[str, str]) -> Reply:
            color = "red" if self.f("elasticsearch", "unhealthy") else (
                "yellow" if self.f("elasticsearch", "degraded") else "green")
            return ok(bodies.es_cluster_health(color))

        return Router([("GET", "/_cluster/health", health)])

    # -- auth-service (auth/main.py) --------------------------------------------------------------
    def auth_health(self) -> dict[str, Any]:
        database = not self.f("auth-service", "database_down")
        redis = not self.f("auth-service", "redis_down")
        hardware_wallet = ("disabled" if self.f("auth-service", "hardware_wallet_disabled") else
                           "error" if self.f("auth-service", "hardware_wallet_error") else
                           "unavailable" if self.f("auth-service", "hardware_wallet_unavailable") else "available")
        return {"status": "healthy" if database and redis else "degraded", "service": "auth-service",
                "version": "1.0.0", "timestamp": naive_iso(time.time()), "environment": "production",
                "dependencies": {"database": database, "redis": redis, "hardware_wallet": hardware_wallet}}

    @staticmethod
    def auth_limit(path: str) -> int:
        """The limit of the path's group (auth/config/endpoints.yaml): health has none configured and
        falls back to default_limit 60; paths of no group get RATE_LIMIT_PUBLIC 100."""
        for prefix, limit in (("/auth", 30), ("/users", 100), ("/sessions", 100), ("/hw", 60), ("/health", 60),
                              ("/meta", 60)):
            if path.startswith(prefix):
                return limit
        return 100

    def _auth(self) -> Callable[[Req], Reply]:
        router = Router([
            ("GET", "/health", lambda r, p: ok(self.auth_health())),
            ("GET", "/meta/info", lambda r, p: ok({
                "service_name": "lucid-auth-service", "cluster": "09-authentication", "version": "1.0.0",
                "port": 8089, "features": {"hardware_wallet": True, "tron_signatures": True, "rbac": True},
                "token_expiry": {"access_token_minutes": 15, "refresh_token_days": 7},
                "rbac_roles": ["USER", "NODE_OPERATOR", "ADMIN", "SUPER_ADMIN"]})),
            # AuthMiddleware is never registered: request.state.user_id is never set, every call is 401.
            ("POST", "/auth/verify", lambda r, p: detail(401, "Invalid token")),
        ])

        def app(req: Req) -> Reply:
            if self.f("auth-service", "redis_down"):
                return router(req)  # the limiter's Redis call fails: it lets the request through, no headers
            limit = self.auth_limit(req.path)
            allowed, count, reset = self.w.auth_hit(f"ip:{req.client_ip()}", limit)
            if not allowed:
                return Reply(429, {"error": {
                    "code": "LUCID_ERR_3001", "message": f"Rate limit exceeded. Maximum {limit} requests per minute "
                                                          "allowed.",
                    "details": {"limit": limit, "current": count, "reset_at": reset}, "service": "auth-service",
                    "timestamp": naive_iso(time.time())}},
                    headers={"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": str(reset), "Retry-After": str(reset - int(time.time()))})
            reply = router(req)
            reply.headers.update({"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(limit - count),
                                  "X-RateLimit-Reset": str(reset)})
            return reply

        return app

    # -- api-gateway (03_api_gateway/api/app/main.py) ---------------------------------------------
    _GATEWAY_PUBLIC = ("/health", "/api/v1/meta/info", "/api/v1/meta/health", "/api/v1/meta/version",
                       "/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/verify", "/api/v1/auth/refresh",
                       "/docs", "/redoc", "/openapi.json")

    def _gateway(self) -> Callable[[Req], Reply]:
        def app(req: Req) -> Reply:
            # Middlewares, outer to inner: ServerError, Auth, RateLimit, Logging, CORS, TrustedHost (*).
            user = None
            if not req.path.startswith(self._GATEWAY_PUBLIC):
                auth = req.header("Authorization")
                if auth is not None:
                    if not auth.startswith("Bearer "):
                        return Reply(401, {"error": {"code": "LUCID_ERR_2001",
                                                     "message": "Invalid authorization header format"}})
                    claims = self.w.claims(auth[7:])
                    if claims is None:
                        return Reply(401, {"error": {"code": "LUCID_ERR_2001", "message": "Invalid or expired token"}})
                    user = claims.get("sub")
            if not self.f("api-gateway", "rate_limiter_off") and req.path not in ("/health", "/api/v1/meta/health"):
                client = f"user:{user}" if user else f"ip:{req.client_ip()}"
                allowed, wait = self.w.gateway_hit(client)
                if not allowed:
                    # Only the refusal carries X-RateLimit-*; it never reaches the logging or CORS layers.
                    return Reply(429, {"error": {"code": "LUCID_ERR_3001",
                                                 "message": f"Rate limit exceeded. Try again in {wait} seconds."}},
                                 headers={"X-RateLimit-Limit": str(GATEWAY_RATE_LIMIT), "X-RateLimit-Remaining": "0",
                                          "X-RateLimit-Reset": str(int(time.time()) + wait), "Retry-After": str(wait)})
            origin = req.header("Origin")
            if req.method == "OPTIONS" and origin is not None and req.header("Access-Control-Request-Method"):
                reply = self._preflight(req, origin)
            elif req.method == "GET" and req.path == "/health":
                reply = ok({"status": "healthy", "service": "api-gateway"})
                if origin is not None and self._origin_allowed(origin):
                    reply.headers.update({"Access-Control-Allow-Origin": origin,
                                          "Access-Control-Allow-Credentials": "true", "Vary": "Origin"})
            else:
                # Every other path (404s, the 501 stubs, /api/v1/meta/*) ends in an exception handler that
                # itself raises (datetime.timezone()): uvicorn's plain 500, past the logging and CORS layers.
                return uvicorn_500()
            reply.headers["X-Request-ID"] = str(uuid.uuid4())
            return reply

        return app

    def _origin_allowed(self, origin: str) -> bool:
        return origin in CORS_ORIGINS and not self.f("api-gateway", "cors_origin_rejected")

    def _preflight(self, req: Req, origin: str) -> Reply:
        """Starlette's CORSMiddleware preflight (allow_credentials, allow_headers *)."""
        headers = {"Access-Control-Allow-Methods": ", ".join(CORS_METHODS), "Access-Control-Max-Age": "600",
                   "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
        failures = []
        if self._origin_allowed(origin):
            headers["Access-Control-Allow-Origin"] = origin
        else:
            failures.append("origin")
        if req.header("Access-Control-Request-Method") not in CORS_METHODS:
            failures.append("method")
        requested = req.header("Access-Control-Request-Headers")
        if requested is not None:
            headers["Access-Control-Allow-Headers"] = requested
        reply = plain(400, "Disallowed CORS " + ", ".join(failures)) if failures else plain(200, "OK")
        reply.headers.update(headers)
        return reply

    # -- blockchain-engine and session-anchoring: one app (blockchain/api/app/main.py) ------------
    @staticmethod
    def chain_category(path: str) -> str:
        for prefix, category in (("/api/v1/chain/", "blockchain_queries"), ("/api/v1/blocks", "blockchain_queries"),
                                 ("/api/v1/transactions", "transaction_submission"),
                                 ("/api/v1/anchoring", "session_anchoring"),
                                 ("/api/v1/consensus", "consensus_operations"),
                                 ("/api/v1/merkle", "merkle_operations")):
            if path.startswith(prefix):
                return category
        return "blockchain_queries"

    def chain_500(self) -> Reply:
        """The catch-all handler's body: what an HTTPException raised inside a middleware becomes."""
        return Reply(500, {"error": "Internal server error", "message": "An unexpected error occurred",
                           "timestamp": time.time()})

    def _chain_user(self, req: Req) -> Reply | None:
        """The route dependency (HTTPBearer, then api-key or a JWT's user_id, then ``read``): None
        when it passes, else its refusal."""
        bearer = authorization(req)
        if bearer is None or not bearer[0] or not bearer[1]:
            return detail(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
        if bearer[0].lower() != "bearer":
            return detail(401, "Invalid authentication credentials", {"WWW-Authenticate": "Bearer"})
        user = API_KEY_USERS.get(req.header("api-key") or "")
        if user is None:
            claims = self.w.claims(bearer[1])
            user_id = claims.get("user_id") if claims else None
            user = user_id if isinstance(user_id, str) and user_id in BLOCKCHAIN_USERS else None
        if user is None:
            return detail(401, "Invalid authentication credentials")
        if "read" not in BLOCKCHAIN_USERS[user]:
            return detail(403, "Read permissions required")
        return None

    def _blockchain(self, name: str) -> Callable[[Req], Reply]:
        def guarded(fn: Callable[[Req, dict[str, str]], Any]) -> RouteFn:
            def route(req: Req, p: dict[str, str]) -> Reply:
                refusal = self._chain_user(req)
                if refusal is not None:
                    return refusal
                out = fn(req, p)
                return out if isinstance(out, Reply) else ok(out)

            return route

        def now_iso() -> str:
            return naive_iso(time.time())  # datetime.now().isoformat() in a UTC container

        def block(req: Req, p: dict[str, str]) -> Reply | dict[str, Any]:
            block_id = p["block_id"]
            if not block_id.startswith("block_"):
                return Reply(404, {"detail": {"error": f"Block not found: {block_id}", "error_code": "BLOCK_001",
                                              "additional_info": {"block_id": block_id}}})
            try:
                height = int(block_id.split("_")[1])
            except ValueError:
                return detail(500, "Failed to retrieve block")
            return mock_block(height)

        def mock_block(height: int) -> dict[str, Any]:
            return {"block_id": f"block_{height}", "height": height, "hash": f"hash_{height}",
                    "previous_hash": f"hash_{height - 1}", "merkle_root": f"merkle_root_{height}",
                    "timestamp": now_iso(), "nonce": 12345, "difficulty": 1234567.89, "transaction_count": 42,
                    "block_size_bytes": 1024,
                    "transactions": [{"tx_id": f"tx_{height}_1", "type": "session_anchor", "size_bytes": 256,
                                      "fee": 0.1, "timestamp": now_iso()}],
                    "validator": "validator_001", "signature": f"signature_{height}"}

        def block_at(req: Req, p: dict[str, str]) -> Reply | dict[str, Any]:
            try:
                return mock_block(int(p["height"]))
            except ValueError:
                return Reply(422, {"detail": [{"type": "int_parsing", "loc": ["path", "height"],
                                               "msg": "Input should be a valid integer, unable to parse string as "
                                                      "an integer", "input": p["height"]}]})

        def participants(req: Req, p: dict[str, str]) -> dict[str, Any]:
            return {"participants": [{"node_id": f"node_{i:03d}", "address": "blockchain-engine:8084",
                                      "status": "active" if i < 23 else "standby", "stake": 40000.0 + i * 1000.0,
                                      "last_activity": now_iso()} for i in range(25)],
                    "total_count": 25, "active_count": 23}

        def prometheus(req: Req, p: dict[str, str]) -> str:
            # The handler returns a str without a plain-text response class: a JSON-encoded string.
            return (f"# HELP blockchain_api_uptime_seconds Total uptime in seconds\n"
                    f"# TYPE blockchain_api_uptime_seconds gauge\nblockchain_api_uptime_seconds {self.w.uptime()}\n")

        router = Router([
            ("GET", "/api/v1/chain/info", guarded(lambda r, p: {
                "network_name": "lucid_blocks", "version": "1.0.0", "consensus_algorithm": "PoOT (Proof of Observation "
                "Time)", "block_time": 10, "current_height": 12345, "total_transactions": 98765,
                "network_hash_rate": "1.23 TH/s", "difficulty": 1234567.89, "chain_id": "lucid_blocks_mainnet",
                "genesis_block": "0" * 64, "last_block_hash": hashlib.sha256(b"block-12345").hexdigest(),
                "last_block_time": now_iso(), "total_supply": 1000000.0, "circulating_supply": 850000.0,
                "staking_rewards": 5.0, "validator_count": 25, "active_validators": 23})),
            ("GET", "/api/v1/chain/status", guarded(lambda r, p: {
                "status": "healthy", "sync_status": "synced", "peer_count": 15, "uptime": 86400,
                "last_block_time": now_iso(), "block_production_rate": 0.1, "transaction_throughput": 100,
                "memory_usage": 512, "cpu_usage": 45.5, "disk_usage": 2.5, "network_latency": 150,
                "consensus_health": "healthy", "validator_status": "active"})),
            ("GET", "/api/v1/chain/height", guarded(lambda r, p: {
                "height": 12345, "timestamp": now_iso(), "block_hash": hashlib.sha256(b"block-12345").hexdigest(),
                "transaction_count": 42, "block_size": 1024, "validator": "validator_001"})),
            ("GET", "/api/v1/blocks/", guarded(lambda r, p: {
                "blocks": [{"block_id": f"block_{12345 - i}", "height": 12345 - i, "hash": f"hash_{12345 - i}_{i}",
                            "timestamp": now_iso(), "transaction_count": 42 + i, "block_size_bytes": 1024 + i * 100,
                            "validator": f"validator_{i % 5 + 1}"} for i in range(10)],
                "pagination": {"page": 1, "limit": 20, "total": 12345, "pages": 618}})),
            # Declared before /blocks/latest: "latest" is taken for a block id (BLOCK_001, 404).
            ("GET", "/api/v1/blocks/{block_id}", guarded(block)),
            ("GET", "/api/v1/blocks/height/{height}", guarded(block_at)),
            ("GET", "/api/v1/blocks/latest", guarded(lambda r, p: mock_block(12345))),
            ("GET", "/api/v1/anchoring/status", guarded(lambda r, p: {
                "status": "healthy", "pending_anchorings": 5, "processing_anchorings": 2, "completed_today": 150,
                "average_confirmation_time": 30.5})),
            ("GET", "/api/v1/consensus/status", guarded(lambda r, p: {
                "current_round": 12345, "phase": "voting", "block_height": 12345, "active_validators": 23,
                "total_stake": 1000000.0, "consensus_reached": True, "last_block_time": now_iso()})),
            ("GET", "/api/v1/consensus/participants", guarded(participants)),
            ("GET", "/api/v1/monitoring/metrics/prometheus", guarded(prometheus)),
            ("GET", "/health", lambda r, p: ok({"status": "healthy", "service": "lucid-blockchain-api"})),
            ("GET", "/api/v1/health", lambda r, p: ok({"status": "healthy", "service": "lucid-blockchain-api",
                                                        "version": "1.0.0"})),
        ])
        public = ("/health", "/api/v1/health", "/api/v1/docs", "/api/v1/redoc", "/api/v1/openapi.json")

        def app(req: Req) -> Reply:
            # Middlewares, outer to inner: Auth, RateLimit, Logging, CORS. An HTTPException raised in a
            # BaseHTTPMiddleware escapes FastAPI's handling: the catch-all answers 500.
            if not req.path.startswith(public):
                passed = False
                bearer = req.header("Authorization")
                if bearer and bearer.startswith("Bearer "):
                    passed = self.w.claims(bearer.split(" ")[1]) is not None
                if not passed:
                    passed = req.header("X-API-Key") in MIDDLEWARE_API_KEYS
                if not passed:
                    return self.chain_500()
            headers: dict[str, str] = {}
            if not req.path.startswith(("/health", "/api/v1/health")):
                result = self.w.chain_hit(name, req.client_ip(), self.chain_category(req.path))
                if not result.allowed:
                    return self.chain_500()
                headers = {"X-RateLimit-Limit": str(result.remaining + 1),
                           "X-RateLimit-Remaining": str(result.remaining),
                           "X-RateLimit-Reset": str(int(result.reset_time))}
            reply = router(req)
            reply.headers.update(headers)
            return reply

        return app

    # -- sessions ---------------------------------------------------------------------------------
    def _pipeline(self) -> Callable[[Req], Reply]:
        svc = "session-pipeline"

        def ready(fn: Callable[[], Any]) -> RouteFn:
            def route(req: Req, p: dict[str, str]) -> Reply:
                if self.f(svc, "not_initialized"):
                    return detail(503, "Pipeline manager not initialized")
                out = fn()
                return out if isinstance(out, Reply) else ok(out)

            return route

        config = {"service": {"name": "lucid-pipeline-manager", "version": "1.0.0", "debug": False,
                              "log_level": "INFO"},
                  "pipeline": {"max_concurrent_sessions": 100, "chunk_size_mb": 10, "compression_level": 6,
                               "timeout_seconds": 300},
                  "stages": {s: {"stage_name": s, "stage_type": s, "enabled": True} for s in PIPELINE_STAGES}}

        def health() -> Reply | dict[str, Any]:
            if self.f(svc, "unhealthy"):
                return detail(503, "Health check failed")
            return {"status": "healthy", "service": "lucid-pipeline-manager", "version": "1.0.0",
                    "active_pipelines": len(self.w.pipelines()), "timestamp": self.w.monotonic()}

        def status() -> dict[str, Any]:
            pipelines = self.w.pipelines()
            return {"service": "lucid-pipeline-manager", "status": "running",
                    "active_pipelines": {sid: {k: v for k, v in pl.items() if k != "chunks"}
                                         for sid, pl in pipelines.items()},
                    "total_pipelines": len(pipelines), "config": config, "timestamp": self.w.monotonic()}

        def metrics() -> dict[str, Any]:
            pipelines = self.w.pipelines()
            states: dict[str, int] = {}
            stages: dict[str, dict[str, Any]] = {}
            for pl in pipelines.values():
                states[pl["state"]] = states.get(pl["state"], 0) + 1
                for stage in PIPELINE_STAGES:
                    m = stages.setdefault(f"{stage}_{stage}", {"total_chunks_processed": 0, "total_errors": 0,
                                                               "average_processing_time_ms": 0.0,
                                                               "throughput_chunks_per_second": 0.0})
                    m["total_chunks_processed"] += pl["chunks"].get(stage, 0)
            active = sum(1 for pl in pipelines.values() if pl["state"] == "active")
            return {"active_pipelines": len(pipelines), "total_workers": active * len(PIPELINE_STAGES),
                    "pipeline_states": states, "stage_metrics": stages,
                    "integrations": {"session_storage": {"status": "healthy"}, "blockchain": {"status": "healthy"}}}

        def one(req: Req, p: dict[str, str]) -> Reply:
            if self.f(svc, "not_initialized"):
                return detail(503, "Pipeline manager not initialized")
            pl = self.w.pipelines().get(p["session_id"])
            if pl is None:
                # The handler's broad except swallows its own 404.
                return detail(500, "Failed to get pipeline status")
            return ok({"session_id": p["session_id"], "pipeline_id": pl["pipeline_id"], "state": pl["state"],
                       "created_at": pl["created_at"], "started_at": pl["started_at"], "stopped_at": None,
                       "error_message": None,
                       "stages": [{"name": s, "type": s, "status": "running" if pl["state"] == "active" else "idle",
                                   "worker_count": 1, "metrics": {
                                       "total_chunks_processed": pl["chunks"].get(s, 0),
                                       "average_processing_time_ms": 12.5, "error_count": 0,
                                       "throughput_chunks_per_second": 2.4 if pl["state"] == "active" else 0.0},
                                   "last_error": None} for s in PIPELINE_STAGES],
                       "config": config["pipeline"]})

        return Router([("GET", "/health", ready(health)), ("GET", "/status", ready(status)),
                       ("GET", "/pipelines/{session_id}/status", one), ("GET", "/config", ready(lambda: config)),
                       ("GET", "/metrics", ready(metrics))])

    def _recorder(self) -> Callable[[Req], Reply]:
        svc = "session-recorder"

        def health(req: Req, p: dict[str, str]) -> Reply:
            if self.f(svc, "not_initialized"):
                return detail(503, "Service not fully initialized")
            if self.f(svc, "unhealthy"):
                return detail(503, "Health check failed")
            n = self.w.recordings()
            return ok({"status": "healthy", "service": "lucid-session-recorder", "version": "1.0.0",
                       "active_recordings": n, "total_sessions_with_chunks": 3 + self.w.slots() // 10,
                       "compression_stats": {"total_compressions": 120 + 4 * self.w.slots(),
                                             "total_decompressions": 4},
                       "timestamp": self.w.monotonic()})

        def status(req: Req, p: dict[str, str]) -> Reply:
            if self.f(svc, "not_initialized"):
                return detail(503, "Service not fully initialized")
            now = time.time()
            return ok({"service": "lucid-session-recorder", "status": "running",
                       "active_recordings": [{"session_id": f"sess-rec-{i}", "owner_address": WALLETS[i % 3],
                                              "status": "recording", "started_at": naive_iso(now - 60 * (i + 1)),
                                              "chunks_created": 10 + i, "total_chunk_size": (10 + i) * 1048576}
                                             for i in range(self.w.recordings())],
                       "chunk_statistics": {"total_chunks": 3 + self.w.slots()},
                       "compression_statistics": {"algorithm": "zstd", "ratio": 0.42},
                       "timestamp": self.w.monotonic()})

        return Router([("GET", "/health", health), ("GET", "/status", status)])

    def _processor(self) -> Callable[[Req], Reply]:
        svc = "chunk-processor"

        def health(req: Req, p: dict[str, str]) -> Reply:
            now = naive_iso(time.time())
            if self.f(svc, "not_initialized"):
                return Reply(503, {"status": "unhealthy", "service": "chunk-processor", "timestamp": now,
                                   "error": "Service not initialized"})
            if self.f(svc, "unhealthy"):
                # The inner check raised: still HTTP 200.
                return ok({"status": "unhealthy", "error": "'ChunkProcessor' metrics unavailable", "timestamp": now})
            running = not self.f(svc, "processor_stopped")
            return ok({"status": "healthy" if running else "stopped", "is_running": running,
                       "metrics": self.w.chunk_metrics(),
                       "config": {"max_workers": 4, "queue_size": 1000, "max_chunk_size": 10485760},
                       "timestamp": now})

        def metrics(req: Req, p: dict[str, str]) -> Reply:
            if self.f(svc, "not_initialized"):
                return detail(500, "Failed to get metrics: 503: Service not available")
            return ok({"service": "chunk-processor", "timestamp": naive_iso(time.time()),
                       "metrics": self.w.chunk_metrics()})

        return Router([("GET", "/health", health), ("GET", "/metrics", metrics)])

    def storage_health(self) -> dict[str, Any]:
        svc = "session-storage"
        now = naive_iso(time.time())
        mongo_ok = not self.f(svc, "database_down")
        space_ok = not self.f(svc, "unhealthy")
        session_storage = {"status": "healthy" if mongo_ok else "unhealthy",
                           "mongo_db": "healthy" if mongo_ok else "unhealthy", "storage": "healthy",
                           "accessible": "healthy", "available_space_bytes": 9876543210, "timestamp": now}
        chunk_store = {"status": "healthy" if space_ok else "unhealthy", "accessible": True, "space_healthy": space_ok,
                       "compression_healthy": True, "available_space_bytes": 9876543210 if space_ok else 1024,
                       "compression_algorithm": "zstd", "timestamp": now}
        both = session_storage["status"] == "healthy" and chunk_store["status"] == "healthy"
        return {"status": "healthy" if both else "unhealthy", "timestamp": now,
                "services": {"session_storage": session_storage, "chunk_store": chunk_store}}

    def _storage(self) -> Callable[[Req], Reply]:
        def health(req: Req, p: dict[str, str]) -> Reply:
            if self.f("session-storage", "not_initialized"):
                return detail(503, "Session storage not available")
            return ok(self.storage_health())

        def metrics(req: Req, p: dict[str, str]) -> Reply:
            if self.f("session-storage", "not_initialized"):
                return detail(503, "Session storage not available")
            return ok({"session_storage": {"sessions_stored": 200 + self.w.slots()},
                       "chunk_store": {"chunks_stored": 2400 + 12 * self.w.slots()},
                       "timestamp": naive_iso(time.time())})

        return Router([("GET", "/health", health), ("GET", "/metrics", metrics)])

    def session_api_health(self) -> dict[str, Any]:
        svc = "session-api"
        now = naive_iso(time.time())
        if self.f(svc, "not_initialized"):
            return {"status": "unhealthy", "error": "Session API not initialized", "timestamp": now}
        if self.f(svc, "unhealthy"):
            return {"status": "unhealthy", "error": "Storage check failed: simulated failure", "timestamp": now}
        mongo_ok = not self.f(svc, "database_down")
        return {"status": "healthy" if mongo_ok else "unhealthy", "timestamp": now,
                "services": {"mongodb": "healthy" if mongo_ok else "unhealthy",
                             "session_storage": {"status": "healthy"}, "chunk_store": {"status": "healthy"}}}

    def _session_api(self) -> Callable[[Req], Reply]:
        def metrics(req: Req, p: dict[str, str]) -> Reply:
            slots = self.w.slots()
            text = ("# HELP sessions_total Total sessions\n# TYPE sessions_total gauge\n"
                    f'sessions_total{{status="active"}} {self.w.recordings()}\n'
                    f'sessions_total{{status="completed"}} {200 + slots}\n'
                    "# HELP chunks_processed_total Chunks processed\n# TYPE chunks_processed_total counter\n"
                    f'chunks_processed_total{{status="success"}} {2400 + 12 * slots}\n'
                    "# HELP storage_size_bytes Storage used\n# TYPE storage_size_bytes gauge\n"
                    f"storage_size_bytes {1073741824 + 1048576 * slots}\n"
                    "# HELP processing_duration_seconds Processing duration\n"
                    "# TYPE processing_duration_seconds histogram\n"
                    'processing_duration_seconds_bucket{le="0.1"} 100\n'
                    'processing_duration_seconds_bucket{le="0.5"} 150\n'
                    'processing_duration_seconds_bucket{le="+Inf"} 160\n'
                    "processing_duration_seconds_sum 32.5\nprocessing_duration_seconds_count 160\n")
            return Reply(200, text=text, content_type=PROMETHEUS)

        return Router([
            ("GET", "/health", lambda r, p: ok(self.session_api_health())),  # always HTTP 200
            ("GET", "/metrics", metrics),
            ("GET", "/", lambda r, p: ok({"service": "LUCID Session API Service", "version": "1.0.0",
                                          "status": "running", "timestamp": naive_iso(time.time())})),
        ])

    # -- rdp --------------------------------------------------------------------------------------
    def rdp_manager_health(self) -> dict[str, Any]:
        if self.f("rdp-manager", "not_initialized"):
            active, available = 0, 0  # still "healthy": the fallbacks when the managers are missing
        elif self.f("rdp-manager", "port_pool_exhausted"):
            active, available = RDP_MAX_SERVERS, 0
        else:
            active = self.w.rdp_servers()
            available = len(RDP_PORT_RANGE) - active
        return {"status": "healthy", "service": "rdp-server-manager", "timestamp": naive_iso(time.time()),
                "active_servers": active, "max_servers": RDP_MAX_SERVERS, "available_ports": available}

    def _rdp_manager(self) -> Callable[[Req], Reply]:
        def servers(req: Req, p: dict[str, str]) -> Reply:
            n = self.rdp_manager_health()["active_servers"]
            return ok({"servers": [{"server_id": f"rdp-{i:04d}", "user_id": f"user-{i}", "session_id": f"sess-rdp-{i}",
                                    "status": "running", "port": RDP_PORT_RANGE.start + i,
                                    "created_at": naive_iso(self.w.t0 + 60 * i)} for i in range(n)],
                       "total": n, "max_servers": RDP_MAX_SERVERS})

        return Router([("GET", "/health", lambda r, p: ok(self.rdp_manager_health())),
                       ("GET", "/servers", servers),
                       ("GET", "/", lambda r, p: ok({"service": "rdp-server-manager", "status": "running"}))])

    def xrdp_health(self) -> Reply:
        if self.f("xrdp", "not_initialized"):
            return detail(503, "Service not fully initialized")
        if self.f("xrdp", "unhealthy"):
            return detail(503, "Health check failed")
        return ok({"status": "healthy", "service": "lucid-rdp-xrdp", "version": "1.0.0",
                   "timestamp": aware_iso(time.time()),
                   "active_processes": min(self.w.rdp_servers(), XRDP_MAX_PROCESSES),
                   "max_processes": XRDP_MAX_PROCESSES})

    def _xrdp(self) -> Callable[[Req], Reply]:
        def statistics(req: Req, p: dict[str, str]) -> Reply:
            n = min(self.w.rdp_servers(), XRDP_MAX_PROCESSES)
            return ok({"total_processes": n, "running_processes": n, "failed_processes": 0,
                       "max_processes": XRDP_MAX_PROCESSES,
                       "processes": [{"process_id": f"xrdp-{i}", "status": "running"} for i in range(n)]})

        return Router([("GET", "/health", lambda r, p: self.xrdp_health()), ("GET", "/statistics", statistics)])

    def monitor_health(self) -> Reply:
        if self.f("resource-monitor", "not_initialized"):
            return detail(503, "Service not fully initialized")
        if self.f("resource-monitor", "unhealthy"):
            return detail(503, "Health check failed")
        return ok({"status": "healthy", "service": "rdp-resource-monitor", "version": "1.0.0",
                   "active_sessions": self.w.rdp_servers(), "timestamp": naive_iso(time.time())})

    def _monitor(self) -> Callable[[Req], Reply]:
        svc = "resource-monitor"

        def ready(fn: Callable[[Req, dict[str, str]], Any]) -> RouteFn:
            def route(req: Req, p: dict[str, str]) -> Reply:
                if self.f(svc, "not_initialized"):
                    return detail(503, "Service not fully initialized")
                out = fn(req, p)
                return out if isinstance(out, Reply) else ok(out)

            return route

        def session_metrics(req: Req, p: dict[str, str]) -> dict[str, Any]:
            return {"session_id": p["session_id"], "timestamp": naive_iso(self.w.monitor_sample_time()),
                    "cpu_percent": 12.5, "memory_percent": 20.0, "memory_used_mb": 512.0, "disk_percent": 30.0,
                    "disk_used_gb": 4.2, "network_bytes_sent": 123456, "network_bytes_recv": 654321,
                    "active_connections": 1, "process_count": 12}

        def default_registry(req: Req, p: dict[str, str]) -> Reply:
            # The rdp_* metrics live on a private registry the export never reads.
            text = ("# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                    "# TYPE process_cpu_seconds_total counter\n"
                    f"process_cpu_seconds_total {round(self.w.uptime() / 100, 2)}\n"
                    "# HELP python_info Python platform information\n# TYPE python_info gauge\n"
                    'python_info{implementation="CPython",major="3",minor="11",patchlevel="9",'
                    'version="3.11.9"} 1.0\n')
            return Reply(200, text=text, content_type=PROMETHEUS)

        n = self.w.rdp_servers
        return Router([
            ("GET", "/health", lambda r, p: self.monitor_health()),
            ("GET", "/api/v1/monitoring/summary", ready(lambda r, p: {
                "timestamp": naive_iso(time.time()),
                "system": {"cpu_percent": 23.5, "memory_percent": 41.0, "disk_percent": 37.2,
                           "network_bytes_sent": 123456789, "network_bytes_recv": 987654321},
                "sessions": {"active_count": n(), "average_cpu": 12.5, "average_memory": 20.0, "average_disk": 30.0},
                "thresholds": {"cpu_percent": 80.0, "memory_percent": 85.0, "disk_percent": 90.0}})),
            ("GET", "/api/v1/monitoring/sessions/{session_id}/metrics", ready(session_metrics)),
            ("GET", "/api/v1/metrics/summary", ready(lambda r, p: {
                "timestamp": naive_iso(time.time()), "metrics_available": True,
                "collection_active": not self.f(svc, "monitoring_stalled"), "registry_size": 14})),
            ("GET", "/api/v1/metrics", default_registry),
        ])

    def controller_health(self) -> dict[str, Any]:
        """Always healthy; ``integrations`` holds each peer's /health body, or why it could not be read."""
        integrations: dict[str, Any] = {}
        if not self.f("session-controller", "not_initialized"):
            peers = {"recorder": "session-recorder", "processor": "chunk-processor", "xrdp": "xrdp",
                     "server_manager": "rdp-manager", "monitor": "resource-monitor"}
            integrations = {name: self._peer_health(peer) for name, peer in peers.items() if peer in self.known}
        return {"status": "healthy", "service": "rdp-session-controller", "version": "1.0.0",
                "timestamp": naive_iso(time.time()), "integrations": integrations}

    def _peer_health(self, peer: str) -> dict[str, Any]:
        failure = {"down": "All connection attempts failed", "hang": "ReadTimeout",
                   "error": f"Server error '500 Internal Server Error' for url 'http://{peer}/health'",
                   "garbage": "Expecting value: line 1 column 1 (char 0)"}
        fault = self.w.stack.faults.http_fault(peer) if self.w.stack is not None else None
        if fault in failure:
            return {"status": "unhealthy", "error": f"Request failed: {failure[fault or '']}"}
        reply = self.answer(peer, Req("GET", "/health"))
        if reply.status >= 400:
            return {"status": "unhealthy", "error": f"Request failed: Client error '{reply.status}' for url "
                                                    f"'http://{peer}/health'"}
        body = reply.json()
        return body if isinstance(body, dict) else {"status": "unhealthy", "error": "unexpected body"}

    def _controller(self) -> Callable[[Req], Reply]:
        return Router([("GET", "/health", lambda r, p: ok(self.controller_health())),
                       ("GET", "/api/v1/sessions", lambda r, p: ok([]))])

    # -- node-management (node/main.py) -----------------------------------------------------------
    def node_health(self) -> dict[str, Any]:
        # NodeManager has no active_nodes attribute: always 0.
        return {"status": "healthy", "service": "node-management", "version": "1.0.0",
                "timestamp": aware_iso(time.time()), "active_nodes": 0, "max_nodes_per_pool": 100,
                "payout_threshold_usdt": 10.0}

    def poot(self, node_id: str) -> Reply:
        if self.f("node-management", "not_initialized"):
            return detail(503, "PoOT calculator not available")
        index = next((i for i, n in enumerate(self.w.nodes()) if n["node_id"] == node_id), None)
        if index is None or self.f("node-management", "poot_missing"):
            return detail(404, "PoOT proof not found")
        now = time.time()
        calculated = now - now % 60
        return ok({"node_id": node_id, "proof_type": "stake_proof", "stake_amount": 5000.0 + 500 * index,
                   "challenge": hashlib.sha256(f"challenge-{node_id}-{int(calculated)}".encode()).hexdigest(),
                   "proof_hash": hashlib.sha256(f"proof-{node_id}-{int(calculated)}".encode()).hexdigest(),
                   "signature": hashlib.sha256(f"sig-{node_id}".encode()).hexdigest() * 2,
                   "timestamp": naive_iso(calculated), "valid_until": naive_iso(calculated + 3600),
                   "confidence_score": self.w.confidence(index)})

    def _nodes(self) -> Callable[[Req], Reply]:
        svc = "node-management"

        def nodes(req: Req, p: dict[str, str]) -> Reply:
            if self.f(svc, "not_initialized"):
                return detail(503, "Node manager not available")
            return ok(self.w.nodes())  # a top-level array

        def metrics(req: Req, p: dict[str, str]) -> Reply:
            if self.f(svc, "not_initialized"):
                return detail(503, "Node manager not available")
            return detail(500, "Failed to get metrics: 'NodeManager' object has no attribute 'get_metrics'")

        return Router([
            ("GET", "/", lambda r, p: ok({"service": "node-management", "status": "running"})),
            ("GET", "/health", lambda r, p: ok(self.node_health())),
            ("GET", "/metrics", metrics),
            ("GET", "/nodes", nodes),
            # Declared before /poot/calculate-all, which it shadows.
            ("GET", "/poot/{node_id}", lambda r, p: self.poot(p["node_id"])),
        ])

    # -- admin-interface (admin/main.py) ----------------------------------------------------------
    def _admin(self) -> Callable[[Req], Reply]:
        svc = "admin-interface"

        def session(req: Req) -> Reply | None:
            bearer = authorization(req)
            if bearer is None or not bearer[1]:
                return detail(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
            if bearer[0].lower() != "bearer":
                return detail(401, "Invalid authentication credentials", {"WWW-Authenticate": "Bearer"})
            if not self.w.admin_session_valid(bearer[1]):
                return detail(401, "Invalid or expired session token")
            return None

        def overview(req: Req, p: dict[str, str]) -> Reply:
            refusal = session(req)
            if refusal is not None:
                return refusal
            if self.f(svc, "rbac_roles_missing"):
                return detail(403, "Permission denied: dashboard:view")
            now = naive_iso(time.time())
            return ok({"system_status": {"status": "operational", "uptime": f"{int(self.w.uptime())}s",
                                         "version": "1.0.0", "last_updated": now},
                       "active_sessions": {"total": 12, "active": 9, "idle": 3, "by_type": {"rdp": 9}},
                       "node_status": {"total_nodes": len(self.w.nodes()), "online_nodes": len(self.w.nodes()),
                                       "offline_nodes": 0, "load_average": 0.42},
                       "blockchain_status": {"network_height": 12345, "sync_status": "synced",
                                             "pending_transactions": 0},
                       "resource_usage": {"cpu_percentage": 23.5, "memory_percentage": 41.0,
                                          "disk_percentage": 37.2, "network_io": {"bytes_sent": 1, "bytes_recv": 2}}})

        router = Router([
            ("GET", "/admin/health", lambda r, p: ok({"status": "healthy", "service": "lucid-admin-interface",
                                                       "version": "1.0.0", "timestamp": aware_iso(time.time())})),
            ("GET", "/admin/api/v1/dashboard/overview", overview),
            ("GET", "/admin/api/v1/emergency/status", lambda r, p: ok({
                "status": "operational", "lockdown_level": "normal", "active_emergencies": 0,
                "new_sessions_enabled": True, "timestamp": naive_iso(time.time())})),
        ])

        def app(req: Req) -> Reply:
            # TrustedHostMiddleware: the Host header's name (no port) must be in TRUSTED_HOSTS.
            host = (req.header("Host") or "").split(":")[0]
            if self.f(svc, "trusted_hosts_unset") or host not in self.trusted_hosts:
                return plain(400, "Invalid host header")
            return router(req)

        return app

    # -- the combined TRON app (payment_systems/tron/main.py) -------------------------------------
    def tron_connected(self, service: str) -> bool:
        return not self.f(service, "tron_unreachable")

    def tron_health(self, service: str) -> Reply:
        """/health of the combined app, or of the standalone ``*_main.py`` (the tuple faults)."""
        if service in TRON_STANDALONE and (self.f(service, "tuple_unhealthy") or self.f(service, "tuple_degraded")):
            name = TRON_STANDALONE[service]
            body: dict[str, Any] = {"status": "degraded" if self.f(service, "tuple_degraded") else "unhealthy",
                                    "service": name, "timestamp": aware_iso(time.time()),
                                    "service_initialized": not self.f(service, "tuple_unhealthy")}
            # A Python tuple (dict, 503) returned from the handler: FastAPI answers HTTP 200 with a JSON array.
            return Reply(200, [body, 503])
        now = time.time()
        starting = self.f(service, "not_initialized")
        services = {s: {"status": "starting" if starting else "running", "last_check": None if starting else now - 7,
                        "error": None} for s in TRON_SERVICES}
        own = TRON_OWN[service]
        if self.f(service, "unhealthy") and not starting:
            services[own] = {"status": "error", "last_check": now - 7,
                             "error": f"{own} health check failed: simulated failure"}
        def dependency(status: str, message: str, details: dict[str, str] | None = None) -> dict[str, Any]:
            # The checks return their own results: response_time_ms is never filled in.
            return {"status": status, "message": message, "response_time_ms": None, "details": details}

        dependencies = {
            "mongodb": dependency("unhealthy", "MongoDB connection failed: simulated failure")
            if self.f(service, "database_down") else dependency("healthy", "MongoDB connection successful"),
            "redis": dependency("unhealthy", "Redis connection failed: simulated failure")
            if self.f(service, "redis_down") else dependency("healthy", "Redis connection successful"),
            "tron_network": dependency("healthy", "TRON network connected",
                                       {"network": "mainnet", "node_url": "https://api.trongrid.io"})
            if self.tron_connected(service) else dependency("unhealthy", "TRON network status: error"),
        }
        overall = "healthy" if all(d["status"] == "healthy" for d in dependencies.values()) else "unhealthy"
        all_running = all(s["status"] == "running" for s in services.values())
        healthy = all_running and overall == "healthy"
        return Reply(200 if healthy else 503, {"status": "healthy" if healthy else "unhealthy", "timestamp": now,
                                               "services": services, "dependencies": dependencies})

    def tron_network_status(self, service: str) -> Reply:
        if not self.tron_connected(service):
            return detail(500, "Failed to get network status: HTTPSConnectionPool(host='api.trongrid.io', port=443): "
                               "Max retries exceeded")
        number, ts = self.w.tron_block()
        return ok({"network_name": "mainnet", "network_id": "728126428", "chain_id": "0x2b6653dc",
                   "latest_block": number, "block_timestamp": int(ts * 1000), "node_url": "https://api.trongrid.io",
                   "status": "connected", "last_updated": naive_iso(time.time()), "sync_progress": 100.0,
                   "node_count": 27, "total_supply": 0, "total_transactions": 0})

    def _tron(self, service: str) -> Callable[[Req], Reply]:
        def network_health(req: Req, p: dict[str, str]) -> Reply:
            now = naive_iso(time.time())
            if not self.tron_connected(service):
                return ok({"status": "unhealthy", "error": "HTTPSConnectionPool(host='api.trongrid.io', port=443): "
                                                           "Max retries exceeded", "timestamp": now})
            number, _ = self.w.tron_block()
            return ok({"status": "healthy", "network": "mainnet", "latest_block": number, "sync_progress": 100.0,
                       "node_count": 27, "last_updated": now, "timestamp": now})

        def latest_block(req: Req, p: dict[str, str]) -> Reply:
            if not self.tron_connected(service):
                return detail(500, "Failed to get latest block: TRON network unreachable")
            number, ts = self.w.tron_block()
            return ok({"block_number": number, "block_timestamp": int(ts * 1000), "network": "mainnet",
                       "timestamp": naive_iso(time.time())})

        def balance(req: Req, p: dict[str, str]) -> Reply:
            address = p["address"]
            if not address.startswith("T") or len(address) != 34:
                return detail(400, "Invalid TRON address format")
            if not self.tron_connected(service):  # every call reads the network info first
                return detail(500, "Failed to get USDT balance: TRON network unreachable")
            return ok({"address": address, "balance_usdt": 1000.0, "balance_raw": 1000000000,  # a constant mock
                       "contract_address": USDT_CONTRACT, "last_updated": naive_iso(time.time())})

        def transactions(req: Req, p: dict[str, str]) -> Reply:
            return ok({"address": p["address"], "contract_address": USDT_CONTRACT, "transactions": [],
                       "total_count": 0, "timestamp": naive_iso(time.time())})

        def status(req: Req, p: dict[str, str]) -> Reply:
            if service in TRON_STANDALONE and self.f(service, "tuple_unhealthy"):
                return ok([{"status": "not_initialized"}, 503])  # the standalone app's tuple again
            if service in TRON_STANDALONE and self.f(service, "tuple_degraded"):
                return ok([{"error": "stats unavailable: simulated failure"}, 500])
            return ok({"timestamp": time.time(), "services": self.tron_health(service).json()["services"],
                       "config": {"tron_network": "mainnet", "debug_mode": False, "test_mode": False}})

        def live(req: Req, p: dict[str, str]) -> Reply:
            return ok({"status": "alive", "timestamp": time.time()})

        def ready(req: Req, p: dict[str, str]) -> Reply:
            if self.f(service, "not_initialized"):
                return Reply(503, {"status": "not_ready", "timestamp": time.time()})
            return ok({"status": "ready", "timestamp": time.time()})

        def wallet_stats(req: Req, p: dict[str, str]) -> Reply:
            return ok({"total_wallets": 0, "active_wallets": 0, "total_balance_trx": 0.0, "wallet_types": {},
                       "wallet_status": {"active": 0, "inactive": 0, "locked": 0, "archived": 0},
                       "timestamp": naive_iso(time.time())})

        def metrics(req: Req, p: dict[str, str]) -> Reply:
            health = self.tron_health(service)
            body = health.json()
            components = body.get("services", {}) if isinstance(body, dict) else {}
            lines = ["# HELP tron_service_health Service health (1 healthy, 0 not)",
                     "# TYPE tron_service_health gauge"]
            lines += [f'tron_service_health{{component="{c}"}} {1.0 if s["status"] == "running" else 0.0}'
                      for c, s in components.items()]
            lines += ["# HELP tron_service_uptime_seconds Uptime", "# TYPE tron_service_uptime_seconds gauge",
                      f"tron_service_uptime_seconds {self.w.uptime()}",
                      # update_network_status() is never called: these stay 0.
                      "# HELP tron_network_latest_block Latest block", "# TYPE tron_network_latest_block gauge",
                      "tron_network_latest_block 0.0",
                      "# HELP tron_network_status Network status", "# TYPE tron_network_status gauge",
                      "tron_network_status 0.0", ""]
            return Reply(200, text="\n".join(lines), content_type=PROMETHEUS)

        routes: list[tuple[str, str, RouteFn]] = [
            ("GET", "/api/v1/tron/network/status", lambda r, p: self.tron_network_status(service)),
            ("GET", "/api/v1/tron/network/health", network_health),
            ("GET", "/api/v1/tron/network/latest-block", latest_block),
            ("GET", "/api/v1/tron/usdt/balance/{address}", balance),
            ("GET", "/api/v1/tron/usdt/transactions/{address}", transactions),
            ("GET", "/health", lambda r, p: self.tron_health(service)),
            ("GET", "/health/live", live),
            ("GET", "/health/ready", ready),
            ("GET", "/metrics", metrics),
            ("GET", "/status", status),
            ("GET", "/wallet-manager/stats", wallet_stats),
        ]
        if service == "tron-client":
            # TronGrid itself (not Lucid): the sim serves it beside the TRON client, as in the guide personality.
            routes += [("GET", "/wallet/getnowblock", lambda r, p: ok(self.trongrid_nowblock())),
                       ("POST", "/wallet/getnowblock", lambda r, p: ok(self.trongrid_nowblock()))]
        return Router(routes)

    def trongrid_nowblock(self) -> dict[str, Any]:
        return bodies.trongrid_nowblock(*self.w.tron_block())

    # -- wallet-manager (payment_systems/tron/wallet_manager_main.py) -----------------------------
    def wallet_health(self) -> dict[str, Any]:
        svc = "wallet-manager"
        body: dict[str, Any] = {"status": "healthy", "service": "tron-wallet-manager",
                                "timestamp": aware_iso(time.time()), "database": "connected"}
        if self.f(svc, "not_initialized"):
            body |= {"status": "unhealthy", "database": "not_initialized"}
        elif self.f(svc, "database_down") or self.f(svc, "unhealthy"):
            body |= {"status": "unhealthy",
                     "database": "error: localhost:27017: [Errno 111] Connection refused, Timeout: 30s"}
        return body  # always HTTP 200: the handler computes 503 and never uses it

    def _wallets(self) -> Callable[[Req], Reply]:
        def wallets(req: Req, p: dict[str, str]) -> Reply:
            locked = self.f("wallet-manager", "wallet_access_error")
            now = time.time()
            ws = [{"wallet_id": f"wallet-{i}", "name": f"lucid-{i}", "description": None, "address": a,
                   "status": "locked" if locked and i else "active", "balance_trx": 100.0 * (i + 1),
                   "created_at": naive_iso(self.w.t0 - 86400), "last_updated": naive_iso(now)}
                  for i, a in enumerate(WALLETS)]
            return ok({"wallets": ws, "total_count": len(ws), "timestamp": naive_iso(now)})

        return Router([
            # The router's own prefix /api/v1/tron/wallets is mounted under /api/v1/tron again.
            ("GET", "/api/v1/tron/api/v1/tron/wallets/", wallets),
            ("GET", "/health", lambda r, p: ok(self.wallet_health())),
            ("GET", "/", lambda r, p: ok({"service": "tron-wallet-manager", "status": "running", "version": "1.0.0"})),
        ])

