"""Memory: RSS after N scrapes with every probe on, against the peers it replaces; and
tracemalloc, to tell growth (held by Python) from the allocator settling.

lucid-exporter runs with the sim's config plus its store probes against real servers
(redis-server with 10k Lucid-shaped keys, SecantusDB, osmem-server), the cache off so that
every scrape runs every probe (as with Prometheus every 15 s and the default 10 s cache).
Docker and logs stay off: they need a docker engine (bench_logs.py). A second lucid-exporter
with the same config runs under tracemalloc (traced_serve.py; slower and bigger, so only its
traced sizes count). The peers: redis_exporter and elasticsearch_exporter (default flags) on
the same servers, blackbox_exporter probing one catalogue health URL per round in turn.
Every side is scraped once per round, interleaved; RSS (VmRSS) is read after warm-up and at
each checkpoint.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import harness
from harness import Reply, Row, Side, Stats, interleave, rss_bytes, start_go, start_lucid, stopping
from row_sim import BLACKBOX_CONFIG
from row_stores import fill_redis, seed_es, seed_mongo

from tests.conftest import start_sim
from tests.servers_foundation import OsmemServer, RedisServer, SecantusServer

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024
WARMUP = 20
STEPS = (100, 250, 500, 1000, 2500, 5000, 10000)


class CyclingSide(Side):
    """One URL per scrape, in turn (blackbox: one target per probe)."""

    def __init__(self, name: str, urls: list[str], pid: int) -> None:
        super().__init__(name, urls[0], pid)
        self.paths = ["/" + u.split("/", 3)[3] for u in urls]
        self.i = 0

    def scrape(self) -> Reply:
        r = self.client.get(self.paths[self.i % len(self.paths)])
        self.i += 1
        if r.status != 200:
            raise RuntimeError(f"{self.name}: answered HTTP {r.status}")
        return r


def _snapshot(pid: int, trace_dir: Path, n: int) -> tracemalloc.Snapshot:
    os.kill(pid, signal.SIGUSR1)
    done = trace_dir / f"snapshot-{n}.done"
    deadline = time.monotonic() + 120
    while not done.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no tracemalloc snapshot from the traced exporter")
        time.sleep(0.05)
    return tracemalloc.Snapshot.load(str(trace_dir / f"snapshot-{n}.pickle"))


def _merge(a: Stats | None, b: Stats) -> Stats:
    if a is None:
        return b
    return Stats(b.side, a.times + b.times, a.cpu + b.cpu, None, None, b.wire_bytes, b.body_bytes, b.encoding,
                 a.reconnects + b.reconnects)


def _store_config(cfg: dict[str, Any], redis_port: int, mongo_port: int, es_url: str) -> dict[str, Any]:
    out = dict(cfg)
    services = dict(out["services"])
    services["redis"] = {"url": f"tcp://127.0.0.1:{redis_port}"}
    services["mongodb"] = {"url": f"tcp://127.0.0.1:{mongo_port}"}
    services["elasticsearch"] = {"url": es_url}
    out.update(services=services, redis={"address": f"127.0.0.1:{redis_port}"},
               mongodb={"address": f"127.0.0.1:{mongo_port}"}, elasticsearch={"url": es_url},
               probes={"min_interval_seconds": 0})
    return out


def run(tmp: Path, checkpoints: tuple[int, ...] = (1000,), trace: bool = True) -> list[Row]:
    last = max(checkpoints)
    marks = sorted({*[s for s in STEPS if s <= last], *checkpoints})
    sim = start_sim(tmp)
    redis_srv, mongo, osmem = RedisServer(tmp), SecantusServer(tmp), OsmemServer(tmp)
    servers: list[Any] = []
    with stopping(sim.proc, *servers):
        for s in (redis_srv, mongo, osmem):
            s.start()
            servers.append(s)
        try:
            rc, mc = redis_srv.client(), mongo.client()
            fill_redis(rc, 0, 10_000)
            seed_mongo(mc)
            rc.close()
            mc.close()
            seed_es(osmem.url)
            (tmp / "blackbox.yml").write_text(BLACKBOX_CONFIG)
            cfg = _store_config(sim.config, redis_srv.port, mongo.port, osmem.url)
            return _measure(tmp, cfg, sim.config, redis_srv.port, osmem.url, marks, trace)
        finally:
            for s in servers:
                s.stop()


def _measure(tmp: Path, cfg: dict[str, Any], sim_cfg: dict[str, Any], redis_port: int, es_url: str,
             marks: list[int], trace: bool) -> list[Row]:
    lucid = start_lucid(tmp, cfg, name="lucid-memory")
    base = start_lucid(tmp, cfg, name="lucid-memory-baseline", baseline=True) if harness.BASELINE else None
    trace_dir = tmp / "trace"
    trace_dir.mkdir()
    traced = (start_lucid(tmp, cfg, name="lucid-traced", argv=[sys.executable, str(HERE / "traced_serve.py")],
                          env={"BENCH_TRACE_DIR": str(trace_dir), "BENCH_TRACE_FRAMES": "1"}) if trace else None)
    redis_x, rurl = start_go(tmp, "redis-exporter", ["prometheus-redis-exporter", "-redis.addr",
                                                     f"redis://127.0.0.1:{redis_port}",
                                                     "-web.listen-address", "127.0.0.1:{port}"])
    es_x, eurl = start_go(tmp, "es-exporter", ["prometheus-elasticsearch-exporter", f"--es.uri={es_url}",
                                               "--web.listen-address=127.0.0.1:{port}"])
    bb, bburl = start_go(tmp, "blackbox", ["prometheus-blackbox-exporter", f"--config.file={tmp / 'blackbox.yml'}",
                                           "--web.listen-address=127.0.0.1:{port}"])
    procs = [p for p in (lucid.proc, traced.proc if traced else None, base.proc if base else None, redis_x, es_x, bb)
             if p is not None]
    with stopping(*procs):
        health = [s["url"] + "/health" for n, s in sim_cfg["services"].items()
                  if s["url"].startswith("http://") and n != "elasticsearch"]
        sides: list[Side] = [Side("lucid-exporter, every probe but docker/logs", f"{lucid.url}/metrics", lucid.pid)]
        if traced is not None:
            sides.append(Side("lucid-exporter under tracemalloc", f"{traced.url}/metrics", traced.pid))
        if base is not None and harness.BASELINE is not None:
            sides.append(Side(f"lucid-exporter {harness.BASELINE.label}, every probe but docker/logs",
                              f"{base.url}/metrics", base.pid))
        sides += [Side("redis_exporter", f"{rurl}/metrics", redis_x.p.pid),
                  Side("elasticsearch_exporter", f"{eurl}/metrics", es_x.p.pid),
                  CyclingSide("blackbox_exporter (one health URL per scrape)",
                              [f"{bburl}/probe?module=http_2xx&target={u}" for u in health], bb.p.pid)]
        interleave(sides, WARMUP, warmup=1)
        rss: dict[str, list[int]] = {s.name: [rss_bytes(s.pid)] for s in sides}
        snaps = [_snapshot(traced.pid, trace_dir, 1)] if traced is not None else []
        stats: dict[str, Stats | None] = {s.name: None for s in sides}
        done = 0
        for mark in marks:
            got = interleave(sides, mark - done, warmup=0)
            done = mark
            for s in sides:
                stats[s.name] = _merge(stats[s.name], got[s.name])
                rss[s.name].append(rss_bytes(s.pid))
            if traced is not None:
                snaps.append(_snapshot(traced.pid, trace_dir, len(snaps) + 1))
        return _rows(sides, marks, rss, stats, snaps)


def _rows(sides: list[Side], marks: list[int], rss: dict[str, list[int]], stats: dict[str, Stats | None],
          snaps: list[tracemalloc.Snapshot]) -> list[Row]:
    out = []
    shown = [i for i, m in enumerate(marks, start=1) if m in (1000, 10000) or m == marks[-1]]
    label = " → ".join(["after warm-up", *[f"{marks[i - 1]:,}" for i in shown]])
    peers = 0
    for s in sides:
        values = rss[s.name]
        curve = " → ".join(f"{values[i] / MB:.1f}" for i in [0, *shown])
        st = stats[s.name]
        assert st is not None
        note = f"RSS MB at {label} scrapes: {curve}; every checkpoint: " + " ".join(
            f"{v / MB:.1f}" for v in values)
        if s.name.startswith(("redis_exporter", "elasticsearch_exporter", "blackbox")):
            peers += values[-1]
        out.append(Row(f"memory, {marks[-1]:,} scrapes", s.name, st.median, st.p90, "", st.cpu_per_scrape * 1000,
                       value=f"{values[-1] / MB:.1f} MB", note=note))
    out.append(Row(f"memory, {marks[-1]:,} scrapes", "the three peers, summed", value=f"{peers / MB:.1f} MB",
                   note="redis_exporter + elasticsearch_exporter + blackbox_exporter"))
    if snaps:
        out.append(_traced_row(marks, snaps))
    return out


def _traced_row(marks: list[int], snaps: list[tracemalloc.Snapshot]) -> Row:
    sizes = [sum(st.size for st in s.statistics("filename")) for s in snaps]
    curve = " ".join(f"{v / MB:.2f}" for v in sizes)
    # Growth between the first checkpoint past warm-up and the last: what keeps growing.
    base = snaps[1] if len(snaps) > 2 else snaps[0]
    diff = snaps[-1].compare_to(base, "lineno")
    top = [d for d in diff if d.size_diff > 0][:5]
    where = "; ".join(f"{_where(d.traceback)} {d.size_diff / 1024:+.0f} KB ({d.count_diff:+d} blocks)" for d in top)
    grown = (sizes[-1] - sizes[1 if len(sizes) > 2 else 0]) / 1024
    since = f"{marks[0]:,}" if len(snaps) > 2 else "warm-up"
    return Row(f"memory, {marks[-1]:,} scrapes", "tracemalloc (traced exporter)", value=f"{sizes[-1] / MB:.2f} MB",
               note=f"traced MB after warm-up and at {', '.join(f'{m:,}' for m in marks)}: {curve}; "
                    f"{grown:+.0f} KB from {since} to {marks[-1]:,}; largest growth: {where}")


def _where(tb: tracemalloc.Traceback) -> str:
    frame = tb[0]
    parts = Path(frame.filename).parts
    for anchor in ("site-packages", "lucid_exporter", "python3.11"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + (0 if anchor == "lucid_exporter" else 1):]) + f":{frame.lineno}"
    return f"{frame.filename}:{frame.lineno}"
