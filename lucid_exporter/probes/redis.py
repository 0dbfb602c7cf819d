"""Redis: the guide's ``redis-cli ping``, ``info``, ``info memory``, ``dbsize``, expired keys and
``maxmemory``/``allkeys-lru`` checks, plus the rate-limit keys (the guide's gateway keeps them in the
selected database; in the real code the auth service's limiter does, in database 1: the API profile's
``redis_rate_limit_db``, or ``redis.rate_limit_db``).

One long-lived ``redis.asyncio`` client with a small pool, shared by two probes, both selected by
``/probe?target=redis``:

- ``redis``: ``PING`` and ``INFO everything`` on every scrape (what redis_exporter does);
- ``redis_rate_limit_keys``: a ``SCAN`` per rate-limit pattern, bounded in keys and time. SCAN
  walks the whole keyspace whatever the pattern (at 100k keys, 30 times the rest of the section
  in Redis CPU), so the count has an interval of its own (``rate_limit_interval_seconds``) and
  runs in the background: a scrape serves the last count, and its age in
  ``lucid_probe_result_age_seconds{probe="redis_rate_limit_keys"}``.

Parsing (``parse_info``, ``info_samples``) is pure and unit-tested on recorded replies.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as rexc
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..catalogue import profile
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


def _raw(response: Any, **kwargs: Any) -> Any:
    return response


def redis_reason(exc: BaseException) -> tuple[str, str]:
    """Reason for a redis-py error: a failed login is ``auth``, a stopped server ``refused``."""
    msg = str(exc)
    if isinstance(exc, rexc.AuthenticationError | rexc.AuthenticationWrongNumberOfArgsError) or (
        isinstance(exc, rexc.ResponseError) and msg.startswith(("NOAUTH", "WRONGPASS", "NOPERM"))
    ):
        return "auth", f"authentication failed: {msg[:160]}"
    if isinstance(exc, rexc.TimeoutError):
        return "timeout", "timed out"
    if isinstance(exc, rexc.ConnectionError):
        low = msg.lower()
        if "refused" in low or "error 111" in low:
            return "refused", "connection refused"
        if "name or service" in low or "nodename" in low or "temporary failure in name" in low:
            return "dns", f"name resolution failed: {msg[:160]}"
        if "ssl" in low or "certificate" in low:
            return "tls", f"TLS error: {msg[:160]}"
        if "closed by server" in low or "reset" in low:
            return "refused", f"connection lost: {msg[:160]}"
    return classify(exc)


class _Client:
    """The one redis.asyncio client the two Redis probes share; created on first use."""

    def __init__(self, cfg: RedisConfig, host: str, port: int, db: int | None = None) -> None:
        self.cfg = cfg
        self.host = host
        self.port = port
        self.db = cfg.db if db is None else db
        self._client: aioredis.Redis | None = None

    def get(self) -> aioredis.Redis:
        if self._client is None:
            cfg = self.cfg
            timeout = cfg.connect_timeout_seconds
            kwargs: dict[str, Any] = {}
            tls = ssl_context(cfg.tls)
            if tls is not None:
                kwargs["ssl"] = True
                kwargs["ssl_check_hostname"] = tls.check_hostname
                kwargs["ssl_cert_reqs"] = "none" if cfg.tls.insecure_skip_verify else "required"
                if cfg.tls.ca_file:
                    kwargs["ssl_ca_certs"] = str(cfg.tls.ca_file)
                if cfg.tls.cert_file:
                    kwargs["ssl_certfile"] = str(cfg.tls.cert_file)
                if cfg.tls.key_file:
                    kwargs["ssl_keyfile"] = str(cfg.tls.key_file)
            self._client = aioredis.Redis(
                host=self.host, port=self.port, db=self.db, username=cfg.username,
                password=cfg.password.get_secret_value() if cfg.password else None,
                socket_connect_timeout=timeout, socket_timeout=timeout, max_connections=cfg.max_connections,
                client_name="lucid-exporter", decode_responses=True,
                # One immediate retry: a pooled connection broken by a server restart is replaced
                # at once; a wrong password is not retried with back-off until the budget is gone.
                retry=Retry(NoBackoff(), 1), **kwargs,
            )
            # Keep INFO raw: parse_info is the one parser, tested on recorded replies.
            self._client.set_response_callback("INFO", _raw)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


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
        client = self.client.get()
        try:
            start = time.monotonic()
            await client.ping()
            ping = time.monotonic() - start
            info = parse_info(str(await client.info("everything")))
        except (rexc.RedisError, OSError) as e:
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
        client = self.client.get()
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
                    cursor, keys = await client.scan(cursor=cursor, match=pattern, count=self.cfg.scan_count)
                    count += len(keys)
                    if cursor == 0:
                        break
                    if count >= self.cfg.rate_limit_max_keys or time.monotonic() >= deadline:
                        truncated = True
                        break
            except (rexc.RedisError, OSError) as e:
                reason, message = redis_reason(e)
                raise ProbeError(reason, f"SCAN {pattern}: {message}") from None
            out.append(gauge("lucid_redis_rate_limit_keys", min(count, self.cfg.rate_limit_max_keys),
                             "Keys matching a rate-limit pattern (SCAN; a lower bound when truncated)",
                             pattern=pattern))
            out.append(gauge("lucid_redis_rate_limit_keys_truncated", 1 if truncated else 0,
                             "1 when the count stopped at rate_limit_max_keys or rate_limit_max_seconds",
                             pattern=pattern))
        return out

    async def close(self) -> None:
        await self.client.close()  # its own client, or the shared one (closing twice is a no-op)


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
        # The limiter's keys may live in another database than the one the client selects (the real
        # auth service writes to 1): a client of their own then, with one connection.
        db = cfg.rate_limit_db
        if db is None:
            db = profile(settings.status.profile).redis_rate_limit_db
        probes.append(RedisRateLimitProbe(client if db == cfg.db else _Client(cfg, *hp, db=db)))
    return probes
