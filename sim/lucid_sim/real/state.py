"""What the real Lucid services hold in memory, on the sim's clock: pipelines, chunk counters,
RDP servers, nodes, the TRON chain as TronGrid shows it, and the rate limiters' counters.

Facts from docs/lucid-real-api.md (read from the public Lucid code; no code of it here).
Where the real code answers a constant (block height 12345, USDT balance 1000.0, anchoring
5/2/150), the personality answers that constant too (services.py): fidelity first. A fault on
such a value is unobservable, and faults.py refuses it. What the real code keeps as live state
(pipelines, chunk counters, RDP servers, registered nodes, the TRON chain it reads from TronGrid)
evolves here, so that faults on it are observable the way they would be on a real deployment.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt

from ..clock import Ticker
from ..world import NODES, SIM_JWT_SECRET, Life, mint_token

# Simulation-only credentials (public, like SIM_JWT_SECRET): the blockchain API's API_KEY_* values.
# The written exporter config carries a bearer JWT instead (state.token), which alone passes both of
# the blockchain API's auth layers; these keys are for clients that use the key recipe.
API_KEY_READONLY = "lucid-sim-readonly-api-key"
API_KEY_BLOCKCHAIN = "lucid-sim-blockchain-api-key"
API_KEY_API = "lucid-sim-api-api-key"  # passes the route dependency only, not the middleware
# The blockchain API's users (dependencies.py): name -> permissions.
BLOCKCHAIN_USERS = {"blockchain_user": ("read", "write", "admin"), "api_user": ("read", "write"),
                    "readonly_user": ("read",)}
API_KEY_USERS = {API_KEY_BLOCKCHAIN: "blockchain_user", API_KEY_API: "api_user", API_KEY_READONLY: "readonly_user"}
MIDDLEWARE_API_KEYS = (API_KEY_BLOCKCHAIN, API_KEY_READONLY)

# The admin interface's TRUSTED_HOSTS as a deployment that works sets it: the container name and the
# loopback names (the sim's --host is added by the personality). Unset (fault trusted_hosts_unset),
# the real default is an empty list: every request is refused.
TRUSTED_HOSTS = ("lucid-admin-interface", "localhost", "127.0.0.1")

GATEWAY_RATE_LIMIT = 100  # RATE_LIMIT_REQUESTS_PER_MINUTE default
GATEWAY_WINDOW = 60.0
# The blockchain API's limits per path category (rate_limiter.py), per RATE_LIMIT_WINDOW_SECONDS 60.
BLOCKCHAIN_LIMITS = {"blockchain_queries": 500, "transaction_submission": 100, "session_anchoring": 50,
                     "consensus_operations": 200, "merkle_operations": 300}
BLOCKCHAIN_WINDOW = 60.0

RDP_PORT_RANGE = range(13389, 14389 + 1)  # PortManager: 1001 ports
RDP_MAX_SERVERS = 50
XRDP_MAX_PROCESSES = 10
TRON_BLOCK_SECONDS = 3.0
CHUNK_QUEUE_REFRESH = 10.0  # the processor refreshes metrics.queue_size every 10 s

# Pipeline states (state_machine.py), in the order a pipeline goes through them, one per slot;
# after cleanup it is destroyed and leaves active_pipelines.
PIPELINE_FLOW = ("created", "starting", "active", "active", "active", "active", "active", "active", "stopping",
                 "stopped", "cleanup")
PIPELINE_STAGES = ("recorder", "chunk_generator", "compressor", "encryptor", "merkle_builder", "storage")
PIPELINE_MAX_SESSIONS = 100  # MAX_CONCURRENT_SESSIONS: more pipelines are refused at creation


def naive_iso(ts: float) -> str:
    """``datetime.utcnow().isoformat()`` (and ``datetime.now()`` in a UTC container): no zone."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat()


def aware_iso(ts: float) -> str:
    """``datetime.now(timezone.utc).isoformat()``: ``+00:00``."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


@dataclass
class RateResult:
    allowed: bool
    remaining: int
    reset_time: float
    retry_after: int = 0


@dataclass
class RealWorld(Life):
    """The state behind the ``lucid`` personality's answers (services.py builds the bodies)."""

    token_ttl: float = 30 * 86400.0
    started: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        super().__post_init__()
        # One token for the monitoring client: the blockchain API takes it as a bearer JWT (signed
        # with its SECRET_KEY, here the sim's key, user_id readonly_user), the gateway as a JWT
        # (JWT_SECRET_KEY), the admin interface as a session token (its admin_sessions hold it).
        self.token = mint_token(self.token_ttl, user_id="readonly_user")
        self._gateway_hits: dict[str, list[float]] = {}
        self._auth_windows: dict[str, tuple[float, int]] = {}  # client -> (minute start, count)
        self._chain_hits: dict[tuple[str, str, str], list[float]] = {}  # (service, client, category)

    def tickers(self) -> dict[str, Ticker]:
        slot = self.slot_seconds
        return {"pipeline": Ticker(slot), "chunks": Ticker(slot / 10), "monitor": Ticker(1.0)}

    def stalls(self, name: str) -> tuple[tuple[str, str], ...]:
        return {
            "pipeline": (("session-pipeline", "pipeline_stuck"),),
            "chunks": (("chunk-processor", "chunk_queue_growing"), ("chunk-processor", "processor_stopped")),
            "monitor": (("resource-monitor", "monitoring_stalled"),),
        }[name]

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        self._gateway_hits = {c: [h - seconds for h in hits] for c, hits in self._gateway_hits.items()}
        self._auth_windows = {c: (start - seconds, n) for c, (start, n) in self._auth_windows.items()}
        self._chain_hits = {k: [h - seconds for h in hits] for k, hits in self._chain_hits.items()}

    # -- clocks -----------------------------------------------------------------------------------
    def monotonic(self) -> float:
        """The event loop's clock (``loop.time()``: monotonic seconds, e.g. since boot), which the
        pipeline and the recorder send as ``timestamp``; simulated time passes on it too."""
        return time.monotonic() + self.advanced

    def uptime(self) -> float:
        return time.time() - self.started + self.advanced

    # -- tokens -----------------------------------------------------------------------------------
    def claims(self, token: str) -> dict[str, Any] | None:
        """The claims of an HS256 JWT signed with the sim's key and not expired on the sim's clock
        (python-jose's check: ``exp`` only if present), else None."""
        try:
            claims: dict[str, Any] = jwt.decode(token, SIM_JWT_SECRET, algorithms=["HS256"],
                                                options={"verify_exp": False})
        except jwt.InvalidTokenError:
            return None
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp <= time.time() + self.advanced:
            return None
        return claims

    def admin_session_valid(self, token: str) -> bool:
        """The admin interface looks the token up in admin_sessions: the sim holds its own token,
        expiring with it."""
        return token == self.token and self.claims(token) is not None

    # -- rate limiters ------------------------------------------------------------------------------
    def gateway_hit(self, client: str, limit: int = GATEWAY_RATE_LIMIT) -> tuple[bool, int]:
        """The gateway's in-memory sliding window (60 s): (allowed, seconds to wait). A refused
        request is not counted."""
        now = time.time()
        hits = [h for h in self._gateway_hits.get(client, []) if h > now - GATEWAY_WINDOW]
        self._gateway_hits[client] = hits
        if len(hits) >= limit:
            return False, max(1, int(GATEWAY_WINDOW - (now - min(hits))))
        hits.append(now)
        return True, 0

    def auth_hit(self, client: str, limit: int) -> tuple[bool, int, int]:
        """The auth service's Redis counter ``ratelimit:<client>:<minute>``, shared by every path of
        the client, compared with the path's own limit: (allowed, count, reset epoch)."""
        now = time.time()
        minute = now - now % 60
        start, count = self._auth_windows.get(client, (minute, 0))
        if start != minute:
            start, count = minute, 0
        count += 1
        self._auth_windows[client] = (start, count)
        return count <= limit, count, int(start + 60)

    def chain_hit(self, service: str, client: str, category: str) -> RateResult:
        """The blockchain API's sliding window per client and path category (one per process)."""
        now = time.time()
        limit = BLOCKCHAIN_LIMITS.get(category, 100)
        key = (service, client, category)
        hits = [h for h in self._chain_hits.get(key, []) if h >= now - BLOCKCHAIN_WINDOW]
        self._chain_hits[key] = hits
        if len(hits) < limit:
            hits.append(now)
            return RateResult(True, limit - len(hits), now + BLOCKCHAIN_WINDOW)
        oldest = hits[0]
        return RateResult(False, 0, oldest + BLOCKCHAIN_WINDOW, max(0, int(oldest + BLOCKCHAIN_WINDOW - now)))

    # -- sessions ---------------------------------------------------------------------------------
    def pipelines(self) -> dict[str, dict[str, Any]]:
        """The pipeline manager's active_pipelines: a new pipeline in three slots of four, one state
        per slot, each processing its own number of chunks per slot (so that the sums over the live
        pipelines move, as the real ones do).

        While stuck, no pipeline changes state and new ones stay ``created`` (up to
        MAX_CONCURRENT_SESSIONS)."""
        self.follow_faults()
        now_slot = self.slots()
        moving_slot = self._tickers["pipeline"].last(now_slot)
        first = max(0, moving_slot - len(PIPELINE_FLOW) + 1)
        last = min(now_slot, moving_slot + PIPELINE_MAX_SESSIONS)
        out: dict[str, dict[str, Any]] = {}
        for k in range(first, last + 1):
            if k % 4 == 3:
                continue  # no session started in this slot
            age = moving_slot - k if k <= moving_slot else 0
            state = PIPELINE_FLOW[age]
            created = self.t0 + k * self.slot_seconds
            active_slots = max(0, min(age, 8) - 1)  # slots spent processing chunks
            out[f"sess-{k:06d}"] = {
                "pipeline_id": hashlib.sha256(f"pipeline-{k}".encode()).hexdigest()[:12],
                "state": state,
                "created_at": naive_iso(created),
                "started_at": naive_iso(created + self.slot_seconds) if age >= 2 else None,
                "error_message": None,
                "chunks": {stage: (10 + k % 5) * active_slots - i for i, stage in enumerate(PIPELINE_STAGES)
                           if (10 + k % 5) * active_slots - i > 0},
            }
        return out

    def chunk_metrics(self) -> dict[str, Any]:
        """The chunk processor's in-memory counters."""
        processed, _ = self._event("chunks")
        now = time.time()
        refreshed = now - (now - self.t0) % CHUNK_QUEUE_REFRESH  # queue_size is refreshed every 10 s
        growing_at_refresh = max(0.0, self.since("chunk-processor", "chunk_queue_growing") - (now - refreshed))
        failing = self.since("chunk-processor", "encryption_failure")
        failed = 3 + int(5 * failing)
        running = not self.fault("chunk-processor", "processor_stopped")
        return {
            "chunks_processed": processed, "chunks_failed": failed,
            "total_processing_time_ms": round(processed * 15.04, 2),
            "average_processing_time_ms": 15.04 if processed else 0.0,
            "active_workers": 2 if running else 0,
            "queue_size": 2 + int(refreshed) % 3 + int(5 * growing_at_refresh),
        }

    def recordings(self) -> int:
        return 1 + self.slots() % 3

    # -- rdp --------------------------------------------------------------------------------------
    def rdp_servers(self) -> int:
        if self.fault("rdp-manager", "port_pool_exhausted"):
            return RDP_MAX_SERVERS
        return 3 + self.slots() % 5

    def monitor_sample_time(self) -> float:
        return self._event("monitor")[1]

    # -- nodes ------------------------------------------------------------------------------------
    def nodes(self) -> list[dict[str, Any]]:
        gone = self.fault("node-management", "node_deregistered")
        now = time.time()
        return [{"node_id": n, "address": f"10.0.{i // 256}.{10 + i % 256}:8095", "stake_amount": 5000.0 + 500 * i,
                 "status": "active", "created_at": naive_iso(self.t0 - 86400 - 3600 * i),
                 "last_seen": naive_iso(now - 2 - i), "performance_metrics": {"uptime_percent": 99.5 - 0.1 * i}}
                for i, n in enumerate(NODES) if not (gone and i == len(NODES) - 1)]

    def confidence(self, index: int) -> float:
        if self.fault("node-management", "poot_collapsed"):
            return 0.02
        return round(0.55 + 0.05 * index + 0.02 * math.sin(time.time() / 7 + index), 4)

    # -- tron -------------------------------------------------------------------------------------
    def tron_block(self) -> tuple[int, float]:
        """(number, timestamp) of the TRON network's latest block, as TronGrid shows it."""
        n = self._tick(TRON_BLOCK_SECONDS)
        return 60_000_000 + n, self.t0 + n * TRON_BLOCK_SECONDS
