"""Evolving state behind the simulated Lucid status APIs, and the faults that break it.

State is a function of time, advanced lazily on each request: blocks every slot (the
Lucid slot time, ``--slot-seconds``), sessions moving through the pipeline, a chunk queue,
PoOT scores drifting, RDP ports being allocated and freed, TRON blocks every 3 s.
Bodies use the contracts' field names where shared/lucid-contracts defines them
(BlockResponse, ConsensusParticipant, PoOTScoreResponse, NetworkInfoResponse,
USDTBalanceResponse, USDTTransactionResponse) and the guide's paths (the defaults of the
exporter's check catalogue).

Faults are keyed per service (``PUT /faults/blockchain-engine/consensus_stall``); a fault
takes effect when it is set. Every time-dependent answer reads the sim's clock (clock.py): a test
makes simulated time pass with ``POST /clock/advance?seconds=N`` instead of sleeping.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt
from aiohttp import web

from . import bodies
from .bodies import iso
from .catalogue import Service
from .clock import Ticker

if TYPE_CHECKING:
    from .stack import SimStack

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The sim signs its monitoring tokens with this (public, simulation-only) key; 32 bytes or more,
# the minimum RFC 7518 sets for HS256.
SIM_JWT_SECRET = "lucid-sim-not-a-secret-simulation-only"

FAULT_KINDS: dict[str, str] = {
    "consensus_stall": "blockchain-engine: no new block, rounds fail, participants inactive",
    "poot_collapsed": "node-management/blockchain-engine: PoOT scores near zero",
    "poot_missing": "node-management/blockchain-engine: no PoOT scores at all",
    "anchoring_backlog": "session-anchoring: sessions pile up pending, blockchain unreachable",
    "pipeline_stuck": "session-pipeline: no session changes state",
    "chunk_queue_growing": "chunk-processor: the queue grows, nothing is processed",
    "encryption_failure": "chunk-processor: encryption fails, failed chunks grow",
    "port_pool_exhausted": "rdp-manager: every RDP port allocated",
    "monitoring_stalled": "resource-monitor: no new resource sample",
    "node_deregistered": "node-management: a node disappears from the registry",
    "rbac_roles_missing": "admin-interface: no roles, the permission matrix refuses (403)",
    "tron_unreachable": "tron-client: disconnected from the TRON network, no new block",
    "wallet_access_error": "wallet-manager: wallets in error",
    "usdt_failing": "usdt-manager: new USDT transactions fail",
    "wallet_balance_low": "usdt-manager: wallet USDT balances near zero",
    "rate_limiter_off": "api-gateway: no X-RateLimit headers, limit not enforced",
    "cors_origin_rejected": "api-gateway: CORS preflight refuses every origin",
    "token_verification_failing": "auth-service: /verify refuses every token (401)",
}

# The states the session pipeline reports (the guide's; the sim's sessions go through them in
# _FLOW order, or fail). The sim keeps its own list: it answers as the service does, whatever the
# exporter parses.
PIPELINE_STATES = ("initializing", "recording", "processing", "finalizing", "completed", "failed")

# The periodic events a fault stalls: ticker name -> (service, fault kind).
STALLS: dict[str, tuple[str, str]] = {
    "chain": ("blockchain-engine", "consensus_stall"),
    "anchoring": ("session-anchoring", "anchoring_backlog"),
    "pipeline": ("session-pipeline", "pipeline_stuck"),
    "chunks": ("chunk-processor", "chunk_queue_growing"),
    "monitor": ("resource-monitor", "monitoring_stalled"),
    "tron-client": ("tron-client", "tron_unreachable"),
}

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
CORS_ORIGINS = ("http://localhost:3000", "https://lucid.onion")
RATE_LIMIT = 100
RATE_WINDOW = 60.0
TRON_BLOCK_SECONDS = 3.0
RDP_PORTS = range(13389, 13489)


def tron_address(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest() * 2
    return "T" + "".join(_B58[b % 58] for b in digest[:33])


WALLETS = tuple(tron_address(f"lucid-wallet-{i}") for i in range(3))
NODES = tuple(f"{hashlib.md5(f'node-{i}'.encode()).hexdigest()[:8]}-0000-4000-8000-{i:012d}"
              for i in range(8))


def mint_token(ttl: float, subject: str = "lucid-exporter", role: str = "read_only", **claims: str) -> str:
    """An HS256 JWT signed with the sim's key, expiring ``ttl`` seconds from now."""
    now = int(time.time())
    return jwt.encode({"sub": subject, "role": role, **claims, "iat": now, "exp": int(now + ttl)}, SIM_JWT_SECRET,
                      algorithm="HS256")


def check_token(token: str, advanced: float = 0.0) -> bool:
    """Signed by the sim and not expired, also on the sim's clock (``advanced`` seconds ahead of the
    token's own timestamps)."""
    try:
        claims = jwt.decode(token, SIM_JWT_SECRET, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError:
        return False
    return float(claims["exp"]) > time.time() + advanced


@dataclass
class Life:
    """The sim's life on its clock: the faults now active and since when, and the periodic events
    (``tickers``) that a fault stalls. Each personality's world is one (``World`` answers as the
    guide's examples, ``real.state.RealWorld`` as the real code)."""

    stack: SimStack | None = None
    slot_seconds: float = 5.0
    t0: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.advanced = 0.0  # seconds the sim's clock was made to pass at once
        self._since: dict[tuple[str, str], float] = {}  # active fault -> when it was set
        self._tickers: dict[str, Ticker] = self.tickers()

    def tickers(self) -> dict[str, Ticker]:
        """The stallable events, by name."""
        return {}

    def stalls(self, name: str) -> tuple[tuple[str, str], ...]:
        """The (service, fault kind) pairs that stall the event ``name``."""
        return ()

    def attach(self, stack: SimStack) -> None:
        """Follow ``stack``'s faults (from the moment they are set) and its clock."""
        self.stack = stack
        stack.on_fault_change.append(self.follow_faults)
        stack.clock.on_advance(self.advance)

    # -- time and faults ------------------------------------------------------------------------
    def follow_faults(self) -> None:
        """Bring the fault durations and the stalled events up to the faults now active.

        Called when a fault is set or cleared, and before every answer (so that faults given at
        start, or set on a stack this world is not attached to, count too)."""
        now = time.time()
        active = {(s, k) for s, kinds in self.stack.faults.active.items() for k in kinds} if self.stack else set()
        for key in active - self._since.keys():
            self._since[key] = now
        for key in self._since.keys() - active:
            del self._since[key]
        for name, ticker in self._tickers.items():
            ticker.follow(self._tick(ticker.period, now), any(pair in active for pair in self.stalls(name)))

    def advance(self, seconds: float) -> None:
        """Make ``seconds`` of the sim's life pass at once: everything that has happened moves that
        far into the past, so the answers keep real timestamps. Events that are not stalled make up
        the time (blocks, rounds, samples); stalled ones fall that much further behind."""
        self.follow_faults()  # a fault set just before counts from before the jump
        self.advanced += seconds
        self.t0 -= seconds  # every tick is counted from t0
        self._since = {key: t - seconds for key, t in self._since.items()}

    def fault(self, service: str, kind: str) -> bool:
        self.follow_faults()
        return (service, kind) in self._since

    def since(self, service: str, kind: str) -> float:
        """Seconds since the fault was set (0 when off)."""
        self.follow_faults()
        start = self._since.get((service, kind))
        return 0.0 if start is None else time.time() - start

    def _tick(self, period: float, now: float | None = None) -> int:
        """The number of ``period``s since the sim's start, on its clock."""
        return int(((time.time() if now is None else now) - self.t0) // period)

    def _event(self, name: str) -> tuple[int, float]:
        """(events produced, time of the latest) of a stallable event."""
        self.follow_faults()
        ticker = self._tickers[name]
        tick = self._tick(ticker.period)
        return ticker.count(tick), self.t0 + ticker.last(tick) * ticker.period

    def slots(self) -> int:
        """Slots since the sim's start."""
        return self._tick(self.slot_seconds)


@dataclass
class World(Life):
    token_ttl: float = 30 * 86400.0  # a monitoring token lives for weeks; alerts warn 7 days ahead

    def __post_init__(self) -> None:
        super().__post_init__()
        self.token = mint_token(self.token_ttl)
        self._hits: dict[str, list[float]] = {}

    def tickers(self) -> dict[str, Ticker]:
        # Each stalling event keeps its own rhythm: blocks, anchors and sessions once a slot,
        # chunks ten times a slot, resource samples every second (collection_interval 1),
        # TRON blocks every 3 s.
        slot = self.slot_seconds
        return {
            "chain": Ticker(slot), "anchoring": Ticker(slot), "pipeline": Ticker(slot), "chunks": Ticker(slot / 10),
            "monitor": Ticker(1.0),
            # The TRON client does not make blocks, it follows the TRON network's: reconnected,
            # it reports the network's latest block at once, so its height jumps.
            "tron-client": Ticker(TRON_BLOCK_SECONDS, catches_up=True),
        }

    def stalls(self, name: str) -> tuple[tuple[str, str], ...]:
        return (STALLS[name],)

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        self._hits = {client: [h - seconds for h in hits] for client, hits in self._hits.items()}

    # -- blockchain -----------------------------------------------------------------------------
    def chain(self) -> tuple[int, float, bool]:
        # Lucid's chain numbers its blocks one after another, each naming the previous one's hash:
        # the first block after a stall is the next height, made in the current slot and stamped
        # with the current time. A slot chain leaves the empty slots out, not the heights.
        stalled = self.fault("blockchain-engine", "consensus_stall")
        produced, block_time = self._event("chain")
        return 1000 + produced, block_time, not stalled

    def consensus_status(self) -> dict[str, Any]:
        height, block_time, ok = self.chain()
        now = time.time()
        rnd = 5000 + self.slots()  # rounds go on (and fail) through a stall
        participants = self.participants()["participants"]
        active = sum(1 for p in participants if p["status"] == "active")
        return {
            "active": ok, "current_round": rnd, "phase": "commit" if ok else "propose",
            "block_height": height, "active_validators": active, "participants_count": len(participants),
            "consensus_threshold": 0.67, "consensus_reached": ok, "last_block_time": iso(block_time),
            "last_consensus_time": iso(block_time), "next_round_time": iso(now + self.slot_seconds),
        }

    def latest_block(self) -> dict[str, Any]:
        height, block_time, _ = self.chain()
        h = hashlib.sha256(f"block-{height}".encode()).hexdigest()
        return {
            "block_id": h, "height": height, "hash": h,
            "previous_hash": hashlib.sha256(f"block-{height - 1}".encode()).hexdigest(),
            "timestamp": iso(block_time), "nonce": 0, "difficulty": 1.0,
            "merkle_root": hashlib.sha256(f"root-{height}".encode()).hexdigest(), "transaction_count": height % 7,
            "transactions": [], "size_bytes": 1024 + 256 * (height % 7), "created_at": iso(block_time),
        }

    def scores(self) -> list[dict[str, Any]]:
        if self.fault("node-management", "poot_missing") or self.fault("blockchain-engine", "poot_missing"):
            return []
        collapsed = self.fault("node-management", "poot_collapsed") or self.fault("blockchain-engine",
                                                                                   "poot_collapsed")
        now = time.time()
        out = []
        for i, node in enumerate(self.nodes()):
            base = 0.02 if collapsed else 0.55 + 0.05 * i
            score = round(max(0.0, base + (0.0 if collapsed else 0.02 * math.sin(now / 7 + i))), 4)
            out.append({"node_id": node["node_id"], "score": score, "calculated_at": iso(now - now % 60),
                        "observation_count": 100 + i, "total_observation_time": 3600,
                        "factors": {"uptime": 0.99, "bandwidth": 0.9, "latency": 0.95}})
        return sorted(out, key=lambda s: -float(s["score"]))

    def participants(self) -> dict[str, Any]:
        stalled = self.fault("blockchain-engine", "consensus_stall")
        scores = {s["node_id"]: s["score"] for s in self.scores()}
        parts = []
        for i, node in enumerate(self.nodes()):
            status = "inactive" if stalled and i % 4 != 0 else "active"
            parts.append({"node_id": node["node_id"], "address": tron_address(node["node_id"]),
                          "stake": 1000.0 + 100 * i, "poot_score": scores.get(node["node_id"], 0.0),
                          "last_seen": iso(time.time() - (300 if status == "inactive" else 2)), "status": status})
        return {"participants": parts, "total_count": len(parts)}

    # -- sessions ---------------------------------------------------------------------------------
    def anchoring(self) -> dict[str, Any]:
        backlog = self.since("session-anchoring", "anchoring_backlog")
        anchored, last_anchor = self._event("anchoring")
        completed = 200 + anchored
        pending = 1 + int(backlog / max(self.slot_seconds / 4, 0.1)) if backlog else 1
        return {"status": "degraded" if backlog else "operational",
                "sessions": {"pending": pending, "processing": 0 if backlog else 1, "completed": completed,
                             "failed": 0},
                "last_anchor_time": iso(last_anchor), "queue_size": pending}

    def merkle_trees(self) -> dict[str, Any]:
        backlog = self.fault("session-anchoring", "anchoring_backlog")
        n = self.slots()
        trees = [{"tree_id": f"tree-{k}", "root_hash": hashlib.sha256(f"tree-{k}".encode()).hexdigest(),
                  "leaf_count": 16 + k % 5, "status": "pending" if backlog and k > n - 3 else "built",
                  "created_at": iso(self.t0 + k * self.slot_seconds)} for k in range(max(0, n - 9), n + 1)]
        return {"trees": trees, "total": len(trees)}

    def anchoring_chain(self) -> dict[str, Any]:
        height, _, _ = self.chain()
        ok = not self.fault("session-anchoring", "anchoring_backlog")
        return {"connected": ok, "blockchain_engine": "http://lucid-blockchain-engine:8084",
                "block_height": height, "last_sync": iso(time.time() if ok else time.time() - 600)}

    _FLOW = ("initializing", "recording", "recording", "processing", "finalizing", "completed")

    def pipeline(self) -> tuple[list[dict[str, Any]], float, int]:
        transitions, last_transition = self._event("pipeline")
        now_slot = self.slots()
        t_slot = self._tickers["pipeline"].last(now_slot)  # sessions stop moving at a stuck slot
        sessions = []
        for k in range(max(0, now_slot - 11), now_slot + 1):
            age = max(0, t_slot - k)
            state = self._FLOW[min(age, len(self._FLOW) - 1)] if k <= t_slot else "initializing"
            sessions.append({"session_id": f"sess-{k:06d}", "state": state,
                             "created_at": iso(self.t0 + k * self.slot_seconds)})
        processed = max(0, transitions - len(self._FLOW) + 1)
        return sessions, last_transition, processed

    def pipeline_status(self) -> dict[str, Any]:
        sessions, last, processed = self.pipeline()
        counts = {s: 0 for s in PIPELINE_STATES}
        for s in sessions:
            counts[s["state"]] += 1
        return {"status": "running", "active_sessions": len(sessions) - counts["completed"], "states": counts,
                "processed_sessions": processed, "last_transition_time": iso(last)}

    def processing(self) -> dict[str, Any]:
        growing = self.since("chunk-processor", "chunk_queue_growing")
        failing = self.since("chunk-processor", "encryption_failure")
        processed, last_processed = self._event("chunks")
        failed = int(5 * failing)
        queue = 2 + int(time.time()) % 3 + int(5 * growing) + int(2 * failing)
        return {"processed": processed, "failed": failed, "queue": queue, "encryption_ok": not failing,
                "last_processed": last_processed}

    # -- rdp --------------------------------------------------------------------------------------------
    def ports(self) -> tuple[int, int]:
        total = len(RDP_PORTS)
        if self.fault("rdp-manager", "port_pool_exhausted"):
            return total, 0
        allocated = 3 + self.slots() % 5
        return allocated, total - allocated

    def monitoring_sample_time(self) -> float:
        return self._event("monitor")[1]

    # -- nodes ------------------------------------------------------------------------------------------
    def nodes(self) -> list[dict[str, Any]]:
        gone = self.fault("node-management", "node_deregistered")
        return [{"node_id": n, "status": "active", "pool_id": "pool-1", "registered_at": iso(self.t0 - 86400)}
                for i, n in enumerate(NODES) if not (gone and i == len(NODES) - 1)]

    # -- tron -------------------------------------------------------------------------------------------
    def tron_block(self, client: bool) -> tuple[int, float]:
        """(number, timestamp) of the latest TRON block: as the TRON client sees it, or TronGrid."""
        if client:
            n, ts = self._event("tron-client")
        else:
            n = self._tick(TRON_BLOCK_SECONDS)
            ts = self.t0 + n * TRON_BLOCK_SECONDS
        return 60_000_000 + n, ts

    def usdt_transactions(self) -> list[dict[str, Any]]:
        failing = self.since("usdt-manager", "usdt_failing")
        now = time.time()
        out = []
        for k in range(20):
            ts = now - k * 30
            status = "pending" if k == 0 else "confirmed"
            if failing and k <= min(19, int(failing * 2)):
                status = "failed"
            out.append({"txid": hashlib.sha256(f"tx-{int(ts) // 30}".encode()).hexdigest(),
                        "block_number": 60_000_000 + k, "timestamp": int(ts * 1000), "from_address": WALLETS[0],
                        "to_address": WALLETS[k % 2 + 1], "amount": 10.0 + k, "amount_raw": (10 + k) * 10**6,
                        "status": status})
        return out

    # -- gateway rate limit -----------------------------------------------------------------------
    def hit(self, client: str) -> tuple[int, int, float]:
        """Record a request: (remaining, status, reset seconds)."""
        now = time.time()
        hits = [h for h in self._hits.get(client, []) if now - h < RATE_WINDOW]
        hits.append(now)
        self._hits[client] = hits
        remaining = max(0, RATE_LIMIT - len(hits))
        return remaining, 429 if len(hits) > RATE_LIMIT else 200, RATE_WINDOW - (now - hits[0])


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def routes(world: World) -> Callable[[SimStack, Service], list[tuple[str, str, Handler]]]:
    """The route factory for SimStack: the status endpoints of each service."""

    def j(fn: Callable[[], Any]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.json_response(fn())

        return handler

    def factory(stack: SimStack, service: Service) -> list[tuple[str, str, Handler]]:
        w = world
        name = service.name
        if name == "blockchain-engine":
            return [
                ("GET", "/api/v1/consensus/status", j(w.consensus_status)),
                ("GET", "/api/v1/blocks/latest", j(w.latest_block)),
                ("GET", "/api/v1/consensus/poot-scores", j(lambda: {"scores": w.scores(),
                                                                     "total": len(w.scores())})),
                ("GET", "/api/v1/consensus/participants", j(w.participants)),
            ]
        if name == "session-anchoring":
            return [
                ("GET", "/api/v1/anchoring/status", j(w.anchoring)),
                ("GET", "/api/v1/anchoring/merkle-trees", j(w.merkle_trees)),
                ("GET", "/api/v1/anchoring/blockchain-status", j(w.anchoring_chain)),
            ]
        if name == "session-pipeline":
            return [
                ("GET", "/api/v1/pipeline/status", j(w.pipeline_status)),
                ("GET", "/api/v1/pipeline/sessions", j(lambda: {"sessions": w.pipeline()[0]})),
            ]
        if name == "chunk-processor":
            def status() -> dict[str, Any]:
                p = w.processing()
                return {"status": "running", "processed_chunks": p["processed"], "failed_chunks": p["failed"],
                        "workers_active": 4, "last_processed_at": iso(p["last_processed"])}

            def enc() -> dict[str, Any]:
                ok = w.processing()["encryption_ok"]
                return {"status": "ok" if ok else "failing", "algorithm": "XChaCha20-Poly1305",
                        "key_available": ok, "last_error": None if ok else "key derivation failed (simulated)"}

            return [
                ("GET", "/api/v1/processing/status", j(status)),
                ("GET", "/api/v1/processing/queue", j(lambda: {"queue_size": w.processing()["queue"],
                                                               "max_queue_size": 10000})),
                ("GET", "/api/v1/processing/encryption-status", j(enc)),
            ]
        if name == "rdp-manager":
            def ports() -> dict[str, Any]:
                allocated, available = w.ports()
                return {"port_range": {"start": RDP_PORTS.start, "end": RDP_PORTS.stop - 1},
                        "total_ports": len(RDP_PORTS), "available_ports": available, "allocated_ports": allocated}

            return [
                ("GET", "/api/v1/ports/status", j(ports)),
                ("GET", "/api/v1/rdp/status", j(lambda: {"status": "running", "active_sessions": w.ports()[0],
                                                         "max_sessions": len(RDP_PORTS), "xrdp": "running"})),
            ]
        if name == "resource-monitor":
            return [
                ("GET", "/api/v1/monitoring/status", j(lambda: {
                    "monitoring_active": not w.fault("resource-monitor", "monitoring_stalled"),
                    "last_collection": iso(w.monitoring_sample_time()), "collection_interval": 1})),
                ("GET", "/api/v1/monitoring/metrics", j(lambda: {
                    "timestamp": iso(w.monitoring_sample_time()), "cpu_percent": 23.5, "memory_percent": 41.0,
                    "sessions": [{"session_id": f"rdp-{i}", "cpu_percent": 5.0 + i}
                                 for i in range(w.ports()[0])]})),
            ]
        if name == "node-management":
            def nodes_status() -> dict[str, Any]:
                nodes = w.nodes()
                return {"registered_nodes": len(nodes), "active_nodes": len(nodes), "registration_open": True}

            def participation() -> dict[str, Any]:
                n = len(w.nodes())
                p = len(w.scores())
                return {"participating_nodes": p, "total_nodes": n, "participation_rate": p / n if n else 0.0}

            return [
                ("GET", "/api/v1/nodes/status", j(nodes_status)),
                ("GET", "/api/v1/nodes/list", j(lambda: {"nodes": w.nodes(), "total": len(w.nodes())})),
                ("GET", "/api/v1/nodes/health", j(lambda: {"healthy_nodes": len(w.nodes()), "unhealthy_nodes": 0})),
                ("GET", "/api/v1/poot/scores", j(lambda: {"scores": w.scores(), "pagination": {
                    "page": 1, "limit": 100, "total": len(w.scores())}})),
                ("GET", "/api/v1/poot/participation", j(participation)),
            ]
        if name == "admin-interface":
            return _admin_routes(w)
        if name == "tron-client":
            def network() -> dict[str, Any]:
                ok = not w.fault("tron-client", "tron_unreachable")
                number, ts = w.tron_block(client=True)
                return {"network_name": "mainnet", "network_id": "mainnet", "chain_id": "0x2b6653dc",
                        "latest_block": number, "block_timestamp": int(ts * 1000), "connected": ok,
                        "node_url": "https://api.trongrid.io", "status": "confirmed" if ok else "unknown",
                        "last_updated": iso(time.time()), "sync_progress": 100.0 if ok else 0.0}

            def connectivity() -> dict[str, Any]:
                ok = not w.fault("tron-client", "tron_unreachable")
                return {"connected": ok, "endpoints": [
                    {"url": u, "reachable": ok, "latency_ms": 120.0 if ok else None}
                    for u in ("https://api.trongrid.io", "https://api.tronstack.io")]}

            def nowblock() -> dict[str, Any]:
                return bodies.trongrid_nowblock(*w.tron_block(client=False))

            return [
                ("GET", "/api/v1/tron/network-status", j(network)),
                ("GET", "/api/v1/tron/connectivity", j(connectivity)),
                ("GET", "/wallet/getnowblock", j(nowblock)),  # TronGrid, sim-only
                ("POST", "/wallet/getnowblock", j(nowblock)),
            ]
        if name == "wallet-manager":
            def wallets() -> dict[str, Any]:
                bad = w.fault("wallet-manager", "wallet_access_error")
                ws = [{"wallet_id": f"wallet-{i}", "address": a, "status": "error" if bad and i else "active",
                       "created_at": iso(w.t0 - 86400)} for i, a in enumerate(WALLETS)]
                return {"wallets": ws, "total": len(ws)}

            return [("GET", "/api/v1/wallets/status", j(wallets))]
        if name == "usdt-manager":
            def balances() -> dict[str, Any]:
                low = w.fault("usdt-manager", "wallet_balance_low")
                return {"balances": [
                    {"address": a, "balance_usdt": (3.5 if low else 1500.0 * (i + 1)),
                     "balance_raw": int((3.5 if low else 1500.0 * (i + 1)) * 10**6),
                     "contract_address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "last_updated": iso(time.time())}
                    for i, a in enumerate(WALLETS)]}

            return [
                ("GET", "/api/v1/usdt/transactions/status", j(lambda: {"transactions": w.usdt_transactions()})),
                ("GET", "/api/v1/usdt/balance", j(balances)),
            ]
        if name == "api-gateway":
            return _gateway_routes(w)
        if name == "auth-service":
            async def verify(request: web.Request) -> web.StreamResponse:
                token = _bearer(request)
                refused = w.fault("auth-service", "token_verification_failing")
                if refused or token is None or not check_token(token, w.advanced):
                    return web.json_response({"detail": "Invalid token"}, status=401)
                return web.json_response({"valid": True, "user_id": "lucid-exporter", "role": "read_only"})

            return [("GET", "/verify", verify)]
        return []

    return factory


def _admin_routes(w: World) -> list[tuple[str, str, Handler]]:
    roles = ("super_admin", "admin", "operator", "read_only")

    def guarded(fn: Callable[[], Any], matrix: bool = False) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            token = _bearer(request)
            if token is None or not check_token(token, w.advanced):
                return web.json_response({"detail": "Not authenticated"}, status=401)
            if matrix and w.fault("admin-interface", "rbac_roles_missing"):
                return web.json_response({"detail": "Permission denied: role read_only not found"}, status=403)
            return web.json_response(fn())

        return handler

    def current_roles() -> list[str]:
        return [] if w.fault("admin-interface", "rbac_roles_missing") else list(roles)

    return [
        ("GET", "/api/v1/admin/permissions", guarded(lambda: {"permissions": ["system.read", "metrics.read"]})),
        ("GET", "/api/v1/admin/users/roles", guarded(lambda: {"roles": [
            {"name": r, "users": 1 + i} for i, r in enumerate(current_roles())]})),
        ("GET", "/api/v1/admin/permissions/matrix", guarded(lambda: {"matrix": {
            r: ["system.read"] + (["system.write"] if r != "read_only" else []) for r in current_roles()}},
            matrix=True)),
        ("GET", "/api/v1/admin/roles/assignments", guarded(lambda: {"assignments": [
            {"user_id": f"user-{i}", "role": r} for i, r in enumerate(current_roles())]})),
    ]


def _gateway_routes(w: World) -> list[tuple[str, str, Handler]]:
    async def test(request: web.Request) -> web.StreamResponse:
        if w.fault("api-gateway", "rate_limiter_off"):
            return web.json_response({"message": "ok"})
        remaining, status, reset = w.hit(request.remote or "?")
        headers = {"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": str(remaining),
                   "X-RateLimit-Reset": str(int(reset))}
        if status == 429:
            return web.json_response({"detail": "Rate limit exceeded"}, status=429,
                                     headers={**headers, "Retry-After": str(int(reset))})
        return web.json_response({"message": "ok"}, headers=headers)

    async def preflight(request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin", "")
        if w.fault("api-gateway", "cors_origin_rejected") or origin not in CORS_ORIGINS:
            return web.Response(status=400, text="Disallowed CORS origin")
        return web.Response(status=200, headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": "*", "Access-Control-Allow-Credentials": "true",
            "Access-Control-Max-Age": "600", "Vary": "Origin"})

    return [("GET", "/api/v1/test", test), ("OPTIONS", "/api/v1/test", preflight)]


def exporter_config(world: World, stack: SimStack) -> dict[str, Any]:
    """What the exporter needs to pass every status check on a healthy sim."""
    return {"status": {"token": world.token, "wallets": list(WALLETS[:2]), "cors_origins": list(CORS_ORIGINS),
                       "trongrid_url": stack.url("tron-client")}}
