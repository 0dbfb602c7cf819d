"""Startup: from spawning the process to its first useful answer, interleaved round by round.

- lucid-exporter ``serve`` with the sim's config (health and status checks, DNS/TCP, host;
  the stores and docker off, as the sim writes it): spawn → ``/-/ready`` answers 200 (its first
  probe round is done); also spawn → ``/-/healthy`` (listening);
- redis_exporter: spawn → first ``/metrics`` with ``redis_up 1``;
- elasticsearch_exporter: spawn → first ``/metrics`` with ``elasticsearch_cluster_health_up 1``;
- blackbox_exporter: spawn → first ``/probe`` of a sim health URL with ``probe_success 1``;
- ``python -c "import aiohttp"`` with the same interpreter: the floor of any aiohttp exporter.

Polls every 5 ms; medians and p90 over the rounds. Issue 14's goal: ready ≤ 1.8x the import.
"""

from __future__ import annotations

import http.client
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import yaml
from harness import Row
from row_sim import BLACKBOX_CONFIG

from tests.conftest import start_sim
from tests.servers_foundation import OsmemServer, RedisServer
from tests.support import EXPORTER, Proc, free_port


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r.status, body
    except OSError:
        return 0, b""


def _time_to(args: list[str], log: Path, ready: Callable[[int], bool], port: int,
             also: Callable[[int], bool] | None = None, timeout: float = 30.0,
             env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, float | None]:
    """Seconds from spawn until ``ready(port)``; and until ``also(port)`` if given (first seen)."""
    t0 = time.perf_counter()
    proc = Proc(args, log, env=env, cwd=cwd)
    first_also = None
    try:
        while True:
            now = time.perf_counter()
            if now - t0 > timeout:
                raise TimeoutError(f"{args[0]} not ready after {timeout}s:\n{proc.output()[-1500:]}")
            if proc.p.poll() is not None:
                raise RuntimeError(f"{args[0]} exited with {proc.p.returncode}:\n{proc.output()[-1500:]}")
            if first_also is None and also is not None and also(port):
                first_also = time.perf_counter() - t0
            if ready(port):
                done = time.perf_counter() - t0
                return done, first_also if first_also is not None else (done if also else None)
            time.sleep(0.005)
    finally:
        proc.stop()


def run(tmp: Path, rounds: int) -> list[Row]:
    sim = start_sim(tmp)
    redis_srv, osmem = RedisServer(tmp), OsmemServer(tmp)
    redis_srv.start()
    osmem.start()
    try:
        cfg = {**sim.config}
        (tmp / "lucid.yml").write_text(yaml.safe_dump(cfg))
        (tmp / "blackbox.yml").write_text(BLACKBOX_CONFIG)
        health = next(s["url"] for n, s in sim.config["services"].items()
                      if s["url"].startswith("http://") and n != "elasticsearch") + "/health"

        def lucid(port: int, baseline: bool = False) -> tuple[float, float | None]:
            env, cwd = harness.baseline_env() if baseline else (None, None)
            return _time_to([*EXPORTER, "serve", "--config", str(tmp / "lucid.yml"), "--web.listen-address",
                             f"127.0.0.1:{port}", "--log.level", "warn"], tmp / "lucid.log",
                            lambda p: _get(p, "/-/ready")[0] == 200, port,
                            also=None if baseline else (lambda p: _get(p, "/-/healthy")[0] == 200),
                            env=env, cwd=cwd)

        def redis_x(port: int) -> tuple[float, float | None]:
            return _time_to(["prometheus-redis-exporter", "-redis.addr", f"redis://127.0.0.1:{redis_srv.port}",
                             "-web.listen-address", f"127.0.0.1:{port}"], tmp / "redis-x.log",
                            lambda p: b"\nredis_up 1" in _get(p, "/metrics")[1], port)

        def es_x(port: int) -> tuple[float, float | None]:
            return _time_to(["prometheus-elasticsearch-exporter", f"--es.uri={osmem.url}",
                             f"--web.listen-address=127.0.0.1:{port}"], tmp / "es-x.log",
                            lambda p: b"\nelasticsearch_cluster_health_up 1" in _get(p, "/metrics")[1], port)

        def blackbox(port: int) -> tuple[float, float | None]:
            return _time_to(["prometheus-blackbox-exporter", f"--config.file={tmp / 'blackbox.yml'}",
                             f"--web.listen-address=127.0.0.1:{port}"], tmp / "bb.log",
                            lambda p: b"\nprobe_success 1" in _get(p, f"/probe?module=http_2xx&target={health}")[1],
                            port)

        def import_aiohttp(port: int) -> tuple[float, float | None]:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import aiohttp"], check=True)
            return time.perf_counter() - t0, None

        sides: dict[str, Callable[[int], tuple[float, float | None]]] = {
            'python -c "import aiohttp"': import_aiohttp,
            "lucid-exporter serve → /-/ready": lucid,
            "redis_exporter → first redis_up 1": redis_x,
            "elasticsearch_exporter → first cluster_health_up 1": es_x,
            "blackbox_exporter → first probe_success 1": blackbox,
        }
        if harness.BASELINE is not None:
            sides[f"lucid-exporter {harness.BASELINE.label} serve → /-/ready"] = lambda p: lucid(p, baseline=True)
        times: dict[str, list[float]] = {k: [] for k in sides}
        listening: list[float] = []
        names = list(sides)
        for r in range(rounds + 1):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                t, also = sides[name](free_port())
                if r == 0:
                    continue  # warm-up: page cache
                times[name].append(t)
                if also is not None:
                    listening.append(also)
        return _rows(times, listening)
    finally:
        osmem.stop()
        redis_srv.stop()
        sim.proc.stop()


def _p90(v: list[float]) -> float:
    return statistics.quantiles(v, n=10, method="inclusive")[-1] if len(v) > 1 else v[0]


def _rows(times: dict[str, list[float]], listening: list[float]) -> list[Row]:
    ref_name = 'python -c "import aiohttp"'
    ref = statistics.median(times[ref_name])
    out = []
    for name, v in times.items():
        med = statistics.median(v)
        note: Any = f"{len(v)} starts"
        if name.startswith("lucid-exporter serve"):
            note += f"; listening (/-/healthy) after {statistics.median(listening) * 1000:.0f} ms"
        out.append(Row("startup", name, med, _p90(v), "1" if name == ref_name else f"{med / ref:.2f}x",
                       note=note))
    return out
