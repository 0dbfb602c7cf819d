"""The foundation stores, each against the same real server as its Debian peer exporter.

- redis: Debian redis-server filled with Lucid-shaped keys (sessions, user sessions, blocks,
  chunks, tokens, and 5 % rate-limit keys in both of Lucid's spellings, ``ratelimit:*`` and
  ``rate_limit:*``), at each keyspace size. Sides: lucid-exporter with only its Redis probe,
  prometheus-redis-exporter with default flags, and the same with ``-count-keys`` for the two
  rate-limit patterns (what lucid's rate-limit key count does). Redis CPU per scrape from
  /proc, new connections from ``INFO stats total_connections_received``.
- es: osmem-server (OpenSearch API) with Lucid-shaped indices. Sides: lucid-exporter with only
  its Elasticsearch probes and the catalogue's Elasticsearch health check (the lucid default),
  prometheus-elasticsearch-exporter default, and with ``--es.indices``. New connections: client
  ports seen on loopback (osmem keeps no count).
- mongo: SecantusDB with the guide's indexes; lucid-exporter with only its MongoDB probes (no
  peer here: Debian's prometheus-mongodb-exporter is a 2018 snapshot). New connections from
  ``serverStatus().connections.totalCreated``.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import harness
from harness import (
    Backend,
    LoopbackConnections,
    Row,
    Side,
    interleave,
    metric_values,
    only_probes,
    rows_from,
    start_go,
    start_lucid,
    stopping,
)
from profiling import recording, summarise

from tests.servers_foundation import OsmemServer, RedisServer, SecantusServer

RATE_LIMIT_PATTERNS = ("ratelimit:*", "rate_limit:*")


def _failing(lucid_url: str) -> str:
    from harness import KeepAliveClient

    client = KeepAliveClient(f"{lucid_url}/metrics", {})
    body = client.get().body.decode()
    client.close()
    bad = [f"{lbl['probe']}/{lbl['target']}" for lbl, v in metric_values(body, "lucid_probe_success") if v != 1]
    return f"failing: {', '.join(bad)}" if bad else "every probe succeeds"


# -- Redis ------------------------------------------------------------------------------------
def fill_redis(client: Any, start: int, stop: int) -> None:
    """Keys ``start`` .. ``stop - 1`` of a Lucid-shaped keyspace; 1 in 20 is a rate-limit key."""
    pipe = client.pipeline(transaction=False)
    for i in range(start, stop):
        kind = i % 20
        if kind == 0:
            pipe.set(f"ratelimit:client-{i}:{29_000_000 + i % 60}", i % 100, ex=3600)
        elif kind == 10:
            pipe.set(f"rate_limit:{('free', 'pro', 'enterprise')[i % 3]}:user-{i}", i % 100, ex=3600)
        elif kind < 6:
            pipe.hset(f"session:{uuid.UUID(int=i)}", mapping={"user_id": f"user-{i % 997}", "state": "active"})
        elif kind < 9:
            pipe.sadd(f"user_sessions:user-{i}", str(uuid.UUID(int=i)))
        elif kind < 13:
            pipe.set(f"chunk:{uuid.UUID(int=i // 7)}:{i % 7}", "x" * 64, ex=86400)
        elif kind < 15:
            pipe.set(f"blacklist:{uuid.UUID(int=i).hex}", 1, ex=900)
        elif kind < 17:
            pipe.set(f"block:{i}", json.dumps({"height": i, "hash": f"{i:064x}"}))
        else:
            pipe.set(f"tx:{i:064x}", "confirmed", ex=86400)
        if (i - start) % 2000 == 1999:
            pipe.execute()
    pipe.execute()


def redis_rows(tmp: Path, rounds: int, sizes: tuple[int, ...], profile_dir: Path | None = None) -> list[Row]:
    srv = RedisServer(tmp)
    srv.start()
    assert srv.proc is not None
    rc = srv.client()
    addr = f"127.0.0.1:{srv.port}"
    cfg = only_probes({"redis"}, {"redis": {"url": f"tcp://{addr}"}})
    cfg["redis"] = {"address": addr}
    with stopping(srv):
        lucid = start_lucid(tmp, cfg, name="lucid-redis")
        # The same without the rate-limit key count: what the rest of the Redis section costs.
        no_count = start_lucid(tmp, {**cfg, "redis": {"address": addr, "rate_limit_patterns": []}},
                               name="lucid-redis-nocount")
        default, durl = start_go(tmp, "redis-exporter", ["prometheus-redis-exporter", "-redis.addr", f"redis://{addr}",
                                                         "-web.listen-address", "127.0.0.1:{port}"])
        count_arg = ",".join(f"db0={p}" for p in RATE_LIMIT_PATTERNS)
        counting, curl = start_go(tmp, "redis-exporter-count", ["prometheus-redis-exporter", "-redis.addr",
                                                                f"redis://{addr}", "-count-keys", count_arg,
                                                                "-web.listen-address", "127.0.0.1:{port}"])
        base = start_lucid(tmp, cfg, name="lucid-redis-baseline", baseline=True) if harness.BASELINE else None
        out: list[Row] = []
        with stopping(lucid.proc, no_count.proc, default, counting, *([base.proc] if base else [])):
            filled = 0
            for size in sizes:
                fill_redis(rc, filled, size)
                filled = size
                assert rc.dbsize() == size, rc.dbsize()
                sides = [Side("lucid (redis probe only)", f"{lucid.url}/metrics", lucid.pid),
                         Side("redis_exporter (default flags)", f"{durl}/metrics", default.p.pid),
                         Side("redis_exporter -count-keys rate-limit patterns", f"{curl}/metrics", counting.p.pid),
                         Side("lucid, rate_limit_patterns: [] (no key count)", f"{no_count.url}/metrics",
                              no_count.pid)]
                if base is not None and harness.BASELINE is not None:
                    sides.append(Side(f"lucid {harness.BASELINE.label} (redis probe only)", f"{base.url}/metrics",
                                      base.pid))
                backend = Backend("redis-server", srv.proc.p.pid,
                                  lambda: int(rc.info("stats")["total_connections_received"]))
                profile = profile_dir / f"redis-{size}.raw" if profile_dir and size == sizes[-1] else None
                with recording(lucid.pid, profile) if profile else contextlib.nullcontext() as prof:
                    stats = interleave(sides, rounds, backend=backend)
                if profile_dir is not None and prof is not None:
                    (profile_dir / f"redis-{size}.txt").write_text(summarise(prof))
                for s in sides:
                    s.client.close()
                rows = rows_from(f"Redis {size // 1000}k keys", stats, reference=sides[1].name,
                                 notes={sides[0].name: _failing(lucid.url)})
                # Also against the peer counting the same keys.
                rows[0].ratio += f" ({stats[sides[0].name].median / stats[sides[2].name].median:.2f}x -count-keys)"
                out += rows
    rc.close()
    return out


# -- Elasticsearch ----------------------------------------------------------------------------
def _es(url: str, method: str, path: str, body: bytes | None, ctype: str = "application/json") -> None:
    req = urllib.request.Request(url + path, data=body, method=method, headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def seed_es(url: str) -> int:
    """Lucid-shaped indices: sessions, audit, blocks, and a week of daily log indices."""
    names = ["lucid-sessions", "lucid-audit", "lucid-blocks"] + [f"lucid-logs-2026.11.{d:02d}" for d in range(22, 29)]
    for name in names:
        _es(url, "PUT", f"/{name}", json.dumps({"settings": {"number_of_replicas": 0}}).encode())
        lines = []
        for i in range(200):
            lines.append(json.dumps({"index": {"_index": name}}))
            lines.append(json.dumps({"session_id": str(uuid.UUID(int=i)), "level": "INFO", "n": i,
                                     "message": f"GET /api/v1/sessions/{i} 200"}))
        _es(url, "POST", "/_bulk?refresh=true", ("\n".join(lines) + "\n").encode(), "application/x-ndjson")
    return len(names)


def es_rows(tmp: Path, rounds: int, profile_dir: Path | None = None) -> list[Row]:
    srv = OsmemServer(tmp)
    srv.start()
    assert srv.proc is not None
    with stopping(srv):
        n_indices = seed_es(srv.url)
        cfg = only_probes({"elasticsearch"}, {"elasticsearch": {"url": srv.url}})
        cfg["elasticsearch"] = {"url": srv.url}
        lucid = start_lucid(tmp, cfg, name="lucid-es")
        default, durl = start_go(tmp, "es-exporter", ["prometheus-elasticsearch-exporter", f"--es.uri={srv.url}",
                                                      "--web.listen-address=127.0.0.1:{port}"])
        indices, iurl = start_go(tmp, "es-exporter-indices", ["prometheus-elasticsearch-exporter",
                                                              f"--es.uri={srv.url}", "--es.indices",
                                                              "--web.listen-address=127.0.0.1:{port}"])
        base = start_lucid(tmp, cfg, name="lucid-es-baseline", baseline=True) if harness.BASELINE else None
        with stopping(lucid.proc, default, indices, *([base.proc] if base else [])):
            sides = [Side("lucid (ES probes + ES health check)", f"{lucid.url}/metrics", lucid.pid),
                     Side("elasticsearch_exporter (default flags)", f"{durl}/metrics", default.p.pid),
                     Side("elasticsearch_exporter --es.indices", f"{iurl}/metrics", indices.p.pid)]
            if base is not None and harness.BASELINE is not None:
                sides.append(Side(f"lucid {harness.BASELINE.label} (ES probes)", f"{base.url}/metrics", base.pid))
            backend = Backend("osmem-server", srv.proc.p.pid, LoopbackConnections({srv.port}))
            profile = profile_dir / "es.raw" if profile_dir else None
            with recording(lucid.pid, profile) if profile else contextlib.nullcontext() as prof:
                stats = interleave(sides, rounds, backend=backend)
            if profile_dir is not None and prof is not None:
                (profile_dir / "es.txt").write_text(summarise(prof))
            rows = rows_from(f"Elasticsearch (osmem, {n_indices} indices)", stats, reference=sides[1].name,
                             notes={sides[0].name: _failing(lucid.url)})
            rows[0].ratio += f" ({stats[sides[0].name].median / stats[sides[2].name].median:.2f}x --es.indices)"
            return rows


# -- MongoDB ----------------------------------------------------------------------------------
def seed_mongo(client: Any) -> None:
    client.lucid.users.create_index("email", unique=True)
    client.lucid.sessions.create_index([("user_id", 1), ("created_at", 1)])
    client.lucid.users.insert_many([{"email": f"user{i}@lucid.example", "role": "user"} for i in range(500)])
    client.lucid.sessions.insert_many([{"user_id": f"user{i % 500}", "created_at": i} for i in range(2000)])
    client.lucid_blocks.blocks.insert_many([{"height": i, "hash": f"{i:064x}"} for i in range(1000)])


def mongo_rows(tmp: Path, rounds: int) -> list[Row]:
    srv = SecantusServer(tmp)
    srv.start()
    assert srv.proc is not None
    mc = srv.client()
    with stopping(srv):
        seed_mongo(mc)
        addr = f"127.0.0.1:{srv.port}"
        cfg = only_probes({"mongodb"}, {"mongodb": {"url": f"tcp://{addr}"}})
        cfg["mongodb"] = {"address": addr}
        lucid = start_lucid(tmp, cfg, name="lucid-mongo")
        base = start_lucid(tmp, cfg, name="lucid-mongo-baseline", baseline=True) if harness.BASELINE else None
        with stopping(lucid.proc, *([base.proc] if base else [])):
            side = Side("lucid (mongodb probes only)", f"{lucid.url}/metrics", lucid.pid)
            sides = [side]
            if base is not None and harness.BASELINE is not None:
                sides.append(Side(f"lucid {harness.BASELINE.label} (mongodb probes only)", f"{base.url}/metrics",
                                  base.pid))
            backend = Backend("secantusdb", srv.proc.p.pid,
                              lambda: int(mc.admin.command("serverStatus")["connections"]["totalCreated"]))
            stats = interleave(sides, rounds, backend=backend)
            rows = rows_from("MongoDB (SecantusDB)", stats, reference=side.name if base else None,
                             notes={side.name: f"no peer; {_failing(lucid.url)}"})
    mc.close()
    return rows
