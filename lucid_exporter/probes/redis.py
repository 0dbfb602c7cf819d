"""Redis: the guide's ``redis-cli ping``, ``info``, ``info memory``, ``dbsize``, expired keys and
``maxmemory``/``allkeys-lru`` checks, plus the rate-limit keys the API gateway keeps.

A small pool of long-lived connections (``_Client``, RESP over asyncio streams), shared by two
probes, both selected by ``/probe?target=redis``:

- ``redis``: ``PING`` and ``INFO everything`` on every scrape (what redis_exporter does);
- ``redis_rate_limit_keys``: a ``SCAN`` per rate-limit pattern, bounded in keys and time. SCAN
  walks the whole keyspace whatever the pattern (at 100k keys, 30 times the rest of the section
  in Redis CPU), so the count has an interval of its own (``rate_limit_interval_seconds``) and
  runs in the background: a scrape serves the last count, and its age in
  ``lucid_probe_result_age_seconds{probe="redis_rate_limit_keys"}``.

Parsing (``parse_info``, ``info_samples``) is pure and unit-tested on recorded replies.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..config import RedisConfig, Settings
from ..errors import ProbeError, classify
from ..inventory import Service
from ..metrics import Sample, counter, gauge, one_hot
from ._stores import budget, host_port, ssl_context
from .base import Probe, ProbeContext
from .health import service_status

POLICIES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
            "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl")

UP_HELP = "1 when Redis answers PING (0 with the reason in lucid_probe_errors_total)"


def _num(text: str) -> float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def parse_info(text: str) -> dict[str, Any]:
    """``INFO`` text -> {field: value}; ``dbN`` and ``errorstat_*`` become dicts of numbers."""
    out: dict[str, Any] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, _, val = line.partition(":")
        if (key.startswith("db") and key[2:].isdigit()) or key.startswith(("errorstat_", "cmdstat_")):
            parts: dict[str, float | str] = {}
            for item in val.split(","):
                k, _, v = item.partition("=")
                parts[k] = _num(v)
            out[key] = parts
        else:
            out[key] = _num(val)
    return out


def _f(info: dict[str, Any], key: str) -> float | None:
    v = info.get(key)
    return float(v) if isinstance(v, int | float) else None


def info_samples(info: dict[str, Any]) -> list[Sample]:
    """Metrics from a parsed ``INFO everything`` reply."""
    out: list[Sample] = [
        gauge("lucid_redis_info", 1, "Redis version and replication role",
              version=str(info.get("redis_version", "")), role=str(info.get("role", ""))),
    ]

    def g(name: str, key: str, help: str) -> None:
        v = _f(info, key)
        if v is not None:
            out.append(gauge(name, v, help))

    def c(name: str, key: str, help: str) -> None:
        v = _f(info, key)
        if v is not None:
            out.append(counter(name, v, help))

    g("lucid_redis_uptime_seconds", "uptime_in_seconds", "Seconds since Redis started")
    # Memory (redis-cli info memory).
    g("lucid_redis_memory_used_bytes", "used_memory", "Memory allocated by Redis (used_memory)")
    g("lucid_redis_memory_used_rss_bytes", "used_memory_rss", "Resident memory of the Redis process")
    g("lucid_redis_memory_used_peak_bytes", "used_memory_peak", "Peak of used_memory")
    g("lucid_redis_memory_max_bytes", "maxmemory", "maxmemory setting; 0 means no limit")
    g("lucid_redis_memory_fragmentation_ratio", "mem_fragmentation_ratio", "RSS over used memory")
    g("lucid_redis_total_system_memory_bytes", "total_system_memory", "Memory of the host Redis runs on")
    policy = info.get("maxmemory_policy")
    if policy is not None:
        out += one_hot("lucid_redis_maxmemory_policy", "policy", str(policy), POLICIES,
                       "1 on the current maxmemory-policy (the guide wants allkeys-lru)")
    # Clients.
    g("lucid_redis_connected_clients", "connected_clients", "Client connections open")
    g("lucid_redis_blocked_clients", "blocked_clients", "Clients blocked in a blocking call")
    g("lucid_redis_max_clients", "maxclients", "maxclients setting")
    c("lucid_redis_rejected_connections_total", "rejected_connections", "Connections refused at maxclients")
    c("lucid_redis_connections_received_total", "total_connections_received", "Connections accepted")
    c("lucid_redis_commands_processed_total", "total_commands_processed", "Commands processed")
    # Keys (dbsize, info stats | grep expired).
    for key in sorted(k for k in info if k.startswith("db") and k[2:].isdigit()):
        parts = info[key]
        out.append(gauge("lucid_redis_db_keys", float(parts.get("keys", 0)), "Keys per database (dbsize)",
                         db=key))
        out.append(gauge("lucid_redis_db_keys_expiring", float(parts.get("expires", 0)),
                         "Keys with a TTL per database", db=key))
    c("lucid_redis_expired_keys_total", "expired_keys", "Keys removed because their TTL passed")
    c("lucid_redis_evicted_keys_total", "evicted_keys", "Keys evicted by the maxmemory policy")
    c("lucid_redis_keyspace_hits_total", "keyspace_hits", "Successful key lookups")
    c("lucid_redis_keyspace_misses_total", "keyspace_misses", "Failed key lookups (cache misses)")
    # INFO errorstats (Redis >= 6.2) has no errorstat_OOM line before the first OOM error.
    oom = info.get("errorstat_OOM")
    if isinstance(oom, dict) or any(k.startswith("errorstat_") for k in info) or _version(info) >= (6, 2):
        count = float(oom.get("count", 0)) if isinstance(oom, dict) else 0.0
        out.append(counter("lucid_redis_oom_errors_total", count,
                           "Commands refused with OOM (used memory > maxmemory)"))
    # Persistence.
    g("lucid_redis_last_save_timestamp_seconds", "rdb_last_save_time", "Time of the last successful RDB save")
    g("lucid_redis_changes_since_last_save", "rdb_changes_since_last_save", "Writes since the last RDB save")
    status = info.get("rdb_last_bgsave_status")
    if status is not None:
        out.append(gauge("lucid_redis_last_bgsave_success", 1 if status == "ok" else 0,
                         "1 when the last BGSAVE succeeded"))
    aof = info.get("aof_enabled")
    if aof is not None:
        out.append(gauge("lucid_redis_aof_enabled", float(aof), "1 when AOF persistence is on"))
    return out


def _version(info: dict[str, Any]) -> tuple[int, ...]:
    parts = str(info.get("redis_version", "")).split(".")
    return tuple(int(p) for p in parts[:2] if p.isdigit())


# ---------------------------------------------------------------- the client

AUTH_ERRORS = ("NOAUTH", "WRONGPASS", "NOPERM")
AUTH_PHRASES = ("invalid password", "invalid username-password", "called without any password configured")


class RedisReplyError(Exception):
    """Redis answered an error (``-ERR ...``, ``-WRONGPASS ...``); the connection is still good."""


def redis_reason(exc: BaseException) -> tuple[str, str]:
    """Reason for a failed command: a failed login is ``auth``, a stopped server ``refused``."""
    if isinstance(exc, RedisReplyError):
        msg = str(exc)
        if msg.startswith(AUTH_ERRORS) or any(p in msg.lower() for p in AUTH_PHRASES):
            return "auth", f"authentication failed: {msg[:160]}"
        return "other", f"Redis answered an error: {msg[:160]}"
    if isinstance(exc, asyncio.IncompleteReadError | ConnectionResetError | BrokenPipeError):
        return "refused", "connection lost (closed by the server)"
    return classify(exc)


def _command(*args: str | int) -> bytes:
    """One command in RESP: an array of bulk strings (binary-safe: any password is sent as it is)."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        data = str(a).encode("utf-8", "surrogateescape")
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


async def _reply(reader: asyncio.StreamReader) -> Any:
    """One RESP2 reply: str (status), int, bytes or None (bulk), list (array); RedisReplyError for ``-``."""
    line = await reader.readuntil(b"\r\n")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode("utf-8", "replace")
    if kind == b"-":
        raise RedisReplyError(rest.decode("utf-8", "replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else (await reader.readexactly(size + 2))[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [await _reply(reader) for _ in range(count)]
    raise ProbeError("parse", f"not a Redis reply: {line[:40]!r}")


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def call(self, *args: str | int) -> Any:
        self.writer.write(_command(*args))
        return await _reply(self.reader)

    def close(self) -> None:
        self.writer.close()


class _Client:
    """The pooled Redis connections the two Redis probes share.

    A small RESP client of our own rather than redis-py: the exporter sends five read-only
    commands (AUTH, SELECT, CLIENT SETNAME at connect; PING, INFO, SCAN), and redis-py's import
    held 5.7 MB of Python objects (a tenth of the exporter's memory: its command sets for every
    Redis module) for them. Connections are opened on first use and kept (no connection per
    scrape); a pooled connection the server closed (a restart) is replaced at once, once; a
    wrong password is not retried.
    """

    def __init__(self, cfg: RedisConfig, host: str, port: int) -> None:
        self.cfg = cfg
        self.host = host
        self.port = port
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(cfg.max_connections)
        self._ssl = ssl_context(cfg.tls)

    async def _connect(self) -> _Connection:
        cfg = self.cfg
        async with asyncio.timeout(cfg.connect_timeout_seconds):
            reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self._ssl)
        conn = _Connection(reader, writer)
        try:
            async with asyncio.timeout(cfg.connect_timeout_seconds):
                if cfg.password is not None:
                    secret = cfg.password.get_secret_value()
                    await (conn.call("AUTH", cfg.username, secret) if cfg.username else conn.call("AUTH", secret))
                if cfg.db:
                    await conn.call("SELECT", cfg.db)
                await conn.call("CLIENT", "SETNAME", "lucid-exporter")
        except BaseException:
            conn.close()
            raise
        return conn

    async def call(self, *args: str | int) -> Any:
        """One command on a pooled connection, within the socket timeout."""
        async with self._slots:
            for attempt in (1, 2):
                conn = self._idle.pop() if self._idle else None
                pooled = conn is not None
                try:
                    if conn is None:
                        conn = await self._connect()
                    async with asyncio.timeout(self.cfg.connect_timeout_seconds):
                        reply = await conn.call(*args)
                except RedisReplyError:
                    if conn is not None:
                        self._idle.append(conn)  # an error answer leaves the connection usable
                    raise
                except (OSError, asyncio.IncompleteReadError) as e:
                    if conn is not None:
                        conn.close()
                    if pooled and attempt == 1 and not isinstance(e, TimeoutError):
                        continue  # the server closed a kept connection (a restart): one new one, at once
                    raise
                except BaseException:
                    if conn is not None:
                        conn.close()  # a reply cut short (timeout, cancel): the stream is out of step
                    raise
                self._idle.append(conn)
                return reply
        raise AssertionError("unreachable")

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class RedisProbe(Probe):
    kind = "redis"
    target = "redis"

    def __init__(self, client: _Client, cluster: str = "foundation") -> None:
        self.client = client
        self.cfg = client.cfg
        self.cluster = cluster

    def failure_samples(self, reason: str) -> list[Sample]:
        return [gauge("lucid_redis_up", 0, UP_HELP), *service_status("redis", self.cluster, False)]

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        client = self.client
        try:
            start = time.monotonic()
            await client.call("PING")
            ping = time.monotonic() - start
            info = parse_info(bytes(await client.call("INFO", "everything")).decode("utf-8", "replace"))
        except (RedisReplyError, OSError, asyncio.IncompleteReadError) as e:
            reason, message = redis_reason(e)
            raise ProbeError(reason, message) from None
        return [gauge("lucid_redis_up", 1, UP_HELP), *service_status("redis", self.cluster, True),
                gauge("lucid_redis_ping_seconds", ping, "Round trip of PING"),
                *info_samples(info)]

    async def close(self) -> None:
        await self.client.close()


class RedisRateLimitProbe(Probe):
    """The rate-limit keys, counted with SCAN (never KEYS) on an interval of its own (see the module doc)."""

    kind = "redis_rate_limit_keys"
    target = "redis"
    background = True

    def __init__(self, client: _Client) -> None:
        self.client = client
        self.cfg = cfg = client.cfg
        self.min_interval = cfg.rate_limit_interval_seconds
        # Each pattern's walk is bounded by rate_limit_max_seconds; the connection too.
        self.timeout = cfg.rate_limit_max_seconds * len(cfg.rate_limit_patterns) + cfg.connect_timeout_seconds

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        client = self.client
        out: list[Sample] = []
        patterns = self.cfg.rate_limit_patterns
        for i, pattern in enumerate(patterns):
            # Share what is left of the budget between the patterns still to scan.
            limit = budget(self.cfg.rate_limit_max_seconds, ctx.remaining() * 0.8 / (len(patterns) - i))
            deadline = time.monotonic() + limit
            cursor: int = 0
            count = 0
            truncated = False
            try:
                while True:
                    reply = await client.call("SCAN", cursor, "MATCH", pattern, "COUNT", self.cfg.scan_count)
                    cursor, keys = int(reply[0]), reply[1]
                    count += len(keys)
                    if cursor == 0:
                        break
                    if count >= self.cfg.rate_limit_max_keys or time.monotonic() >= deadline:
                        truncated = True
                        break
            except (RedisReplyError, OSError, asyncio.IncompleteReadError) as e:
                reason, message = redis_reason(e)
                raise ProbeError(reason, f"SCAN {pattern}: {message}") from None
            out.append(gauge("lucid_redis_rate_limit_keys", min(count, self.cfg.rate_limit_max_keys),
                             "Keys matching a rate-limit pattern (SCAN; a lower bound when truncated)",
                             pattern=pattern))
            out.append(gauge("lucid_redis_rate_limit_keys_truncated", 1 if truncated else 0,
                             "1 when the count stopped at rate_limit_max_keys or rate_limit_max_seconds",
                             pattern=pattern))
        return out


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    cfg = settings.redis
    if not cfg.enabled:
        return []
    hp = host_port(cfg.address, services.get("redis"), 6379)
    if hp is None:
        return []
    svc = services.get("redis")
    client = _Client(cfg, *hp)
    probes: list[Probe] = [RedisProbe(client, cluster=svc.cluster if svc else "foundation")]
    if cfg.rate_limit_patterns:
        probes.append(RedisRateLimitProbe(client))
    return probes
