"""MongoDB: the guide's ``ping``, ``rs.status()``, ``connectionStatus``, ``serverStatus().metrics``,
``db.currentOp()``, ``db.stats()`` and ``getIndexes()``, as metrics.

One long-lived ``pymongo.AsyncMongoClient`` shared by two probes: ``mongodb`` (server,
replica set, auth, operations) and ``mongodb_dbstats`` (database sizes and required
indexes), both selected by ``/probe?target=mongodb``. Each run is bounded with
``pymongo.timeout()`` (client-side operation timeout) inside the probe's budget; pymongo's
monitor reconnects by itself when the server comes back. Parsing is pure (``*_samples``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pymongo
from pymongo import AsyncMongoClient
from pymongo import errors as merr

from ..config import MongoDBConfig, RequiredIndex, Settings
from ..errors import ProbeError, classify
from ..inventory import Service
from ..metrics import Sample, counter, gauge
from ._stores import budget, host_port
from .base import Probe, ProbeContext
from .health import service_status

UP_HELP = "1 when MongoDB answers ping (0 with the reason in lucid_probe_errors_total)"
AUTH_HELP = "1 when the exporter's connection is authenticated (connectionStatus); 0 when the login is refused"
MB = 1024 * 1024
# Error codes: https://www.mongodb.com/docs/manual/reference/error-codes/
AUTH_CODES = {13, 18, 11}  # Unauthorized, AuthenticationFailed, UserNotFound
NOT_YET_INITIALIZED = 94
NO_REPLICATION = 76
APP_NAME = "lucid-exporter"
MONITORING_COMMANDS = {"hello", "isMaster", "ismaster"}  # the drivers' awaitable hello waits up to 10s


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(v)  # Int64, Decimal128 and the like
    except (TypeError, ValueError):
        return None


def _get(doc: Mapping[str, Any], path: str) -> Any:
    cur: Any = doc
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def mongo_reason(exc: BaseException) -> tuple[str, str]:
    """Reason for a pymongo error: failed login -> auth, stopped server -> refused."""
    msg = " ".join(str(exc).split())
    if isinstance(exc, merr.OperationFailure) and (exc.code in AUTH_CODES or "auth" in msg.lower()):
        return "auth", f"authentication failed: {msg[:160]}"
    if isinstance(exc, merr.ConfigurationError):
        return "other", f"configuration: {msg[:160]}"
    if isinstance(exc, merr.ConnectionFailure):
        low = msg.lower()
        # After a failed login, pymongo marks the server unknown and later operations fail in
        # server selection with the authentication error as the cause.
        if "authentication failed" in low or "requires authentication" in low or "unauthorized" in low:
            return "auth", f"authentication failed: {msg[:160]}"
        if "refused" in low or "errno 111" in low:
            return "refused", "connection refused"
        if "name or service" in low or "nodename" in low or "name resolution" in low:
            return "dns", "name resolution failed"
        if "ssl" in low or "certificate" in low or "tls" in low:
            return "tls", f"TLS error: {msg[:160]}"
        if isinstance(exc, merr.ExecutionTimeout | merr.NetworkTimeout | merr.ServerSelectionTimeoutError) \
                or "timed out" in low or "timeout" in low:
            return "timeout", "timed out"
        return "refused", f"connection failed: {msg[:160]}"
    if isinstance(exc, merr.PyMongoError) and "timeout" in type(exc).__name__.lower():
        return "timeout", "timed out"
    return classify(exc)


# ---------------------------------------------------------------- pure parsing


def server_status_samples(ss: Mapping[str, Any]) -> list[Sample]:
    """``serverStatus``: connections, opcounters, memory, network, asserts, uptime, metrics."""
    out: list[Sample] = []

    def g(name: str, path: str, help: str, scale: float = 1.0) -> None:
        v = _num(_get(ss, path))
        if v is not None:
            out.append(gauge(name, v * scale, help))

    def c(name: str, path: str, help: str, **labels: str) -> None:
        v = _num(_get(ss, path))
        if v is not None:
            out.append(counter(name, v, help, **labels))

    g("lucid_mongodb_uptime_seconds", "uptime", "Seconds since mongod started")
    g("lucid_mongodb_connections_current", "connections.current", "Client connections open")
    g("lucid_mongodb_connections_available", "connections.available", "Connections still available")
    c("lucid_mongodb_connections_created_total", "connections.totalCreated", "Connections accepted")
    for op, v in sorted((ss.get("opcounters") or {}).items()):
        if _num(v) is not None:
            out.append(counter("lucid_mongodb_op_counters_total", _num(v) or 0.0,
                               "Operations by type since start", type=str(op)))
    g("lucid_mongodb_memory_resident_bytes", "mem.resident", "Resident memory of mongod", MB)
    g("lucid_mongodb_memory_virtual_bytes", "mem.virtual", "Virtual memory of mongod", MB)
    c("lucid_mongodb_network_bytes_in_total", "network.bytesIn", "Bytes received")
    c("lucid_mongodb_network_bytes_out_total", "network.bytesOut", "Bytes sent")
    c("lucid_mongodb_network_requests_total", "network.numRequests", "Requests received")
    for kind, v in sorted((ss.get("asserts") or {}).items()):
        if _num(v) is not None:
            out.append(counter("lucid_mongodb_asserts_total", _num(v) or 0.0, "Asserts raised by type",
                               type=str(kind)))
    # serverStatus().metrics: the guide's performance view.
    g("lucid_mongodb_cursors_open", "metrics.cursor.open.total", "Open cursors")
    c("lucid_mongodb_cursors_timed_out_total", "metrics.cursor.timedOut", "Cursors closed by timeout")
    for op in ("deleted", "inserted", "returned", "updated"):
        c("lucid_mongodb_documents_total", f"metrics.document.{op}", "Documents by operation", op=op)
    c("lucid_mongodb_query_scanned_keys_total", "metrics.queryExecutor.scanned", "Index keys scanned")
    c("lucid_mongodb_query_scanned_objects_total", "metrics.queryExecutor.scannedObjects",
      "Documents scanned (high vs returned: missing index)")
    c("lucid_mongodb_write_conflicts_total", "metrics.operation.writeConflicts", "Write conflicts")
    return out


def _optime_date(member: Mapping[str, Any]) -> dt.datetime | None:
    d = member.get("optimeDate")
    if isinstance(d, dt.datetime):
        return d if d.tzinfo else d.replace(tzinfo=dt.UTC)
    ts = _get(member, "optime.ts")
    t = getattr(ts, "time", None)
    return dt.datetime.fromtimestamp(t, dt.UTC) if isinstance(t, int) else None


def replset_samples(status: Mapping[str, Any]) -> list[Sample]:
    """``replSetGetStatus`` (rs.status()): states, health, lag behind the primary, uptime."""
    rs = str(status.get("set", ""))
    out = [gauge("lucid_mongodb_replset_initialized", 1, "0 when the replica set needs rs.initiate()")]
    my = _num(status.get("myState"))
    if my is not None:
        out.append(gauge("lucid_mongodb_replset_my_state", my,
                         "State of the probed member (1 primary, 2 secondary, 3 recovering, 8 down)", set=rs))
    members = [m for m in status.get("members") or [] if isinstance(m, Mapping)]
    primary = next((_optime_date(m) for m in members if m.get("state") == 1), None)
    healthy_count = 0
    for m in members:
        lbl = {"set": rs, "member": str(m.get("name", m.get("_id", "")))}
        health = _num(m.get("health")) or 0.0
        healthy_count += health == 1
        out.append(gauge("lucid_mongodb_replset_member_state", _num(m.get("state")) or 0.0,
                         "Member state (1 primary, 2 secondary, 3 recovering, 6 unknown, 8 down)", **lbl))
        out.append(gauge("lucid_mongodb_replset_member_health", health, "1 when the member is reachable", **lbl))
        up = _num(m.get("uptime"))
        if up is not None:
            out.append(gauge("lucid_mongodb_replset_member_uptime_seconds", up, "Member uptime", **lbl))
        mine = _optime_date(m)
        if primary is not None and mine is not None and health == 1:
            lag = max(0.0, (primary - mine).total_seconds())
            out.append(gauge("lucid_mongodb_replset_member_optime_lag_seconds", lag,
                             "How far the member's last applied operation is behind the primary's", **lbl))
    out.append(gauge("lucid_mongodb_replset_members", len(members), "Members in the replica set config", set=rs))
    out.append(gauge("lucid_mongodb_replset_members_healthy", healthy_count, "Members with health 1", set=rs))
    out.append(gauge("lucid_mongodb_replset_has_primary", 1 if primary is not None or status.get("myState") == 1
                     else 0, "1 when a member is PRIMARY", set=rs))
    return out


def replset_error_samples(code: int | None) -> list[Sample]:
    """rs.status() refused: not initiated (NotYetInitialized) or no --replSet at all."""
    help = "0 when the replica set needs rs.initiate()"
    if code == NOT_YET_INITIALIZED:
        return [gauge("lucid_mongodb_replset_initialized", 0, help)]
    if code == NO_REPLICATION:
        return [gauge("lucid_mongodb_replset_initialized", 0, help),
                gauge("lucid_mongodb_replset_enabled", 0, "0 when mongod runs without --replSet")]
    return []


def connection_status_samples(cs: Mapping[str, Any]) -> list[Sample]:
    users = _get(cs, "authInfo.authenticatedUsers") or []
    return [gauge("lucid_mongodb_authenticated", 1 if users else 0, AUTH_HELP)]


def current_op_samples(cur: Mapping[str, Any]) -> list[Sample]:
    """``currentOp``: active client operations (monitoring and the probe's own excluded)."""
    active = waiting = 0
    oldest = 0.0
    for op in cur.get("inprog") or []:
        if not isinstance(op, Mapping) or not op.get("active"):
            continue
        raw = op.get("command")
        cmd: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        first = next(iter(cmd), "")
        if first in MONITORING_COMMANDS or first == "currentOp" or "$currentOp" in str(cmd.get("pipeline", "")):
            continue
        app = op.get("appName") or _get(op, "clientMetadata.application.name")
        if app == APP_NAME:  # the exporter's own probes, running concurrently
            continue
        active += 1
        if op.get("waitingForLock"):
            waiting += 1
        micros = _num(op.get("microsecs_running"))
        secs = micros / 1e6 if micros is not None else (_num(op.get("secs_running")) or 0.0)
        oldest = max(oldest, secs)
    return [
        gauge("lucid_mongodb_current_ops_active", active, "Active operations (db.currentOp())"),
        gauge("lucid_mongodb_current_ops_waiting_for_lock", waiting, "Active operations waiting for a lock"),
        gauge("lucid_mongodb_current_op_oldest_seconds", oldest, "Age of the oldest running operation"),
    ]


def db_stats_samples(database: str, st: Mapping[str, Any]) -> list[Sample]:
    out: list[Sample] = []
    for name, key, help in (
        ("lucid_mongodb_db_objects", "objects", "Documents in the database (db.stats())"),
        ("lucid_mongodb_db_collections", "collections", "Collections in the database"),
        ("lucid_mongodb_db_indexes", "indexes", "Indexes in the database"),
        ("lucid_mongodb_db_data_size_bytes", "dataSize", "Uncompressed data size"),
        ("lucid_mongodb_db_storage_size_bytes", "storageSize", "Storage allocated for data"),
        ("lucid_mongodb_db_index_size_bytes", "indexSize", "Storage allocated for indexes"),
    ):
        v = _num(st.get(key))
        if v is not None:
            out.append(gauge(name, v, help, database=database))
    return out


def _norm_key(key: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    for k, v in key.items():
        n = _num(v)
        out.append((str(k), str(int(n)) if n is not None else str(v)))
    return out


def index_present(want: RequiredIndex, indexes: Sequence[Mapping[str, Any]]) -> bool:
    """getIndexes(): is there an index with exactly this key pattern (and unique when required)?"""
    target = _norm_key(want.keys)
    for ix in indexes:
        key = ix.get("key")
        if isinstance(key, Mapping) and _norm_key(key) == target and (not want.unique or ix.get("unique")):
            return True
    return False


# ---------------------------------------------------------------- probes


class _Client:
    """The one AsyncMongoClient the two MongoDB probes share; created on first use."""

    def __init__(self, cfg: MongoDBConfig, host: str, port: int) -> None:
        self.cfg = cfg
        self.host = host
        self.port = port
        self._client: AsyncMongoClient[dict[str, Any]] | None = None

    @property
    def has_credentials(self) -> bool:
        cfg = self.cfg
        return bool(cfg.username) or (cfg.uri is not None and "@" in cfg.uri.get_secret_value())

    def get(self) -> AsyncMongoClient[dict[str, Any]]:
        if self._client is None:
            cfg = self.cfg
            ms = int(cfg.connect_timeout_seconds * 1000)
            kw: dict[str, Any] = {
                "connectTimeoutMS": ms, "serverSelectionTimeoutMS": ms, "socketTimeoutMS": ms * 2,
                "maxPoolSize": 2, "appname": APP_NAME, "retryReads": False,
            }
            if cfg.uri is None:
                kw["host"] = self.host
                kw["port"] = self.port
                kw["directConnection"] = cfg.direct_connection
                if cfg.username:
                    kw["username"] = cfg.username
                    kw["password"] = cfg.password.get_secret_value() if cfg.password else ""
                    kw["authSource"] = cfg.auth_source
            else:
                kw["host"] = cfg.uri.get_secret_value()
            if cfg.tls.enabled:
                kw["tls"] = True
                if cfg.tls.ca_file:
                    kw["tlsCAFile"] = str(cfg.tls.ca_file)
                if cfg.tls.cert_file:
                    kw["tlsCertificateKeyFile"] = str(cfg.tls.cert_file)
                if cfg.tls.insecure_skip_verify:
                    kw["tlsInsecure"] = True
            self._client = AsyncMongoClient(**kw)
        return self._client

    async def ping(self, ctx: ProbeContext) -> float:
        """Ping within the connect timeout, so that a stopped server fails fast with its cause
        (pymongo's operation timeout would otherwise wait out the whole budget in server
        selection). A pooled connection the server closed on restart is retried once."""
        admin = self.get().admin
        for attempt in (1, 2):
            start = time.monotonic()
            try:
                with pymongo.timeout(budget(self.cfg.connect_timeout_seconds, ctx.remaining() - 0.2)):
                    await admin.command("ping")
                return time.monotonic() - start
            except merr.AutoReconnect as e:
                if attempt == 2 or isinstance(e, merr.ServerSelectionTimeoutError):
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()


def _op_budget(ctx: ProbeContext) -> float:
    """pymongo's operation timeout: what is left of the probe's budget, with a margin so that
    pymongo's own error (with its cause) arrives before the engine's timeout."""
    return max(0.05, ctx.remaining() - 0.2)


class MongoProbe(Probe):
    kind = "mongodb"
    target = "mongodb"

    def __init__(self, client: _Client, cluster: str = "foundation") -> None:
        self.client = client
        self.cluster = cluster

    def failure_samples(self, reason: str) -> list[Sample]:
        if reason == "auth":
            # MongoDB answered and refused the exporter's login: it is up (services with the right
            # credentials still work), and what fails is the authentication. Reporting it down
            # would page "MongoDB cannot be reached" and hide the guide's authentication symptom.
            return [gauge("lucid_mongodb_up", 1, UP_HELP), *service_status("mongodb", self.cluster, True),
                    gauge("lucid_mongodb_authenticated", 0, AUTH_HELP)]
        return [gauge("lucid_mongodb_up", 0, UP_HELP), *service_status("mongodb", self.cluster, False)]

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        admin = self.client.get().admin
        try:
            ping = await self.client.ping(ctx)
            with pymongo.timeout(_op_budget(ctx)):
                # A server started with --auth still answers ping and hello without a login;
                # connectionStatus tells whether the exporter is authenticated.
                cs = await admin.command("connectionStatus")
                build = await admin.command("buildInfo")
                ss = await admin.command("serverStatus")
                out = [gauge("lucid_mongodb_up", 1, UP_HELP), *service_status("mongodb", self.cluster, True),
                       gauge("lucid_mongodb_ping_seconds", ping, "Round trip of the ping command"),
                       gauge("lucid_mongodb_info", 1, "MongoDB version", version=str(build.get("version", ""))),
                       *server_status_samples(ss)]
                # Whether the login worked is a question only when the exporter logs in: a
                # deployment without credentials would otherwise page "authentication failing".
                if self.client.has_credentials:
                    out += connection_status_samples(cs)
                try:
                    out += replset_samples(await admin.command("replSetGetStatus"))
                except merr.OperationFailure as e:
                    if e.code in AUTH_CODES:
                        raise
                    out += replset_error_samples(e.code)
                out += current_op_samples(await admin.command("currentOp"))
        except merr.PyMongoError as e:
            reason, message = mongo_reason(e)
            raise ProbeError(reason, message) from None
        return out

    async def close(self) -> None:
        await self.client.close()


class MongoStatsProbe(Probe):
    """db.stats() per configured database and the required indexes (getIndexes, $indexStats).

    dbStats walks every collection of a database: on an interval of its own
    (``mongodb.stats_interval_seconds``), refreshed in the background (the engine exports the age).
    """

    kind = "mongodb_dbstats"
    target = "mongodb"
    background = True

    def __init__(self, client: _Client) -> None:
        self.client = client
        self.min_interval = client.cfg.stats_interval_seconds

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        client = self.client.get()
        cfg = self.client.cfg
        out: list[Sample] = []
        try:
            await self.client.ping(ctx)
            with pymongo.timeout(_op_budget(ctx)):
                for name in cfg.databases:
                    out += db_stats_samples(name, await client[name].command("dbStats"))
                for want in cfg.required_indexes:
                    coll = client[want.database][want.collection]
                    indexes = [ix async for ix in await coll.list_indexes()]
                    found = index_present(want, indexes)
                    lbl = {"database": want.database, "collection": want.collection, "index": want.label}
                    out.append(gauge("lucid_mongodb_index_present", 1 if found else 0,
                                     "1 when a required index exists (getIndexes())", **lbl))
                    if found and cfg.index_stats:
                        out += await self._index_usage(coll, want, indexes, lbl)
        except merr.PyMongoError as e:
            reason, message = mongo_reason(e)
            raise ProbeError(reason, message) from None
        return out

    async def _index_usage(self, coll: Any, want: RequiredIndex, indexes: Sequence[Mapping[str, Any]],
                           lbl: dict[str, str]) -> list[Sample]:
        names = {ix.get("name") for ix in indexes if isinstance(ix.get("key"), Mapping)
                 and _norm_key(ix["key"]) == _norm_key(want.keys)}
        try:
            cursor = await coll.aggregate([{"$indexStats": {}}])
            stats = await cursor.to_list(None)
        except merr.OperationFailure:
            return []  # $indexStats unsupported (or not allowed): usage is optional
        ops = sum(_num(_get(s, "accesses.ops")) or 0.0 for s in stats if s.get("name") in names)
        return [counter("lucid_mongodb_index_accesses_total", ops, "Uses of a required index ($indexStats)", **lbl)]


def build(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    cfg = settings.mongodb
    if not cfg.enabled:
        return []
    hp = host_port(cfg.address, services.get("mongodb"), 27017)
    if hp is None and cfg.uri is None:
        return []
    client = _Client(cfg, *(hp or ("", 0)))
    svc = services.get("mongodb")
    return [MongoProbe(client, cluster=svc.cluster if svc else "foundation"), MongoStatsProbe(client)]
