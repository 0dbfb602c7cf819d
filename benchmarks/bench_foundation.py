"""Foundation probes side by side with Debian's peer exporters, on the same real servers.

One run starts redis-server, osmem-server (OpenSearch API) and SecantusDB (MongoDB wire
protocol) on free loopback ports, lucid-exporter pointed at all three, and Debian's
prometheus-redis-exporter and prometheus-elasticsearch-exporter pointed at the same Redis and
osmem-server. It prints:

1. scrape time: 50 scrapes each (after 5 warm-up scrapes), median and ratio lucid / peer;
   lucid-exporter is scraped on /probe?target=redis (or elasticsearch), the peer on /metrics;
2. new server connections over 100 scrapes after warm-up: Redis total_connections_received and
   MongoDB serverStatus().connections.totalCreated (target: 0).

usage: .venv/bin/python benchmarks/bench_foundation.py [--scrapes 50] [--conn-scrapes 100]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lucid_exporter.inventory import default_catalogue  # noqa: E402
from tests.servers_foundation import OsmemServer, RedisServer, SecantusServer  # noqa: E402
from tests.support import EXPORTER, Proc, free_port, wait_port  # noqa: E402


def get(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        r.read()
        assert r.status == 200, url
    return time.perf_counter() - start


def timed(url: str, n: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        get(url)
    return statistics.median(get(url) for _ in range(n))


def new_connections(url: str, n: int, read: Callable[[], int]) -> int:
    for _ in range(5):  # warm-up: pools and monitors are open
        get(url)
    before = read()
    for _ in range(n):
        get(url)
    return read() - before


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scrapes", type=int, default=50)
    ap.add_argument("--conn-scrapes", type=int, default=100)
    args = ap.parse_args()
    for tool in ("redis-server", "prometheus-redis-exporter", "prometheus-elasticsearch-exporter"):
        if shutil.which(tool) is None:
            print(f"bench_foundation: {tool} is missing (make setup installs it)", file=sys.stderr)
            return 1

    procs: list[Proc] = []
    servers: list[RedisServer | OsmemServer | SecantusServer] = []
    with tempfile.TemporaryDirectory(prefix="bench-foundation-") as d:
        tmp = Path(d)
        try:
            redis_srv, osmem, mongo = RedisServer(tmp, maxmemory="256mb", policy="allkeys-lru"), \
                OsmemServer(tmp), SecantusServer(tmp)
            for s in (redis_srv, osmem, mongo):
                s.start()
                servers.append(s)
            rc = redis_srv.client()
            for i in range(200):
                rc.set(f"ratelimit:user:{i}", 1, ex=3600)
            mc = mongo.client()
            mc.lucid.users.create_index("email", unique=True)
            mc.lucid.users.insert_one({"email": "bench@lucid.example"})
            for name in ("lucid-sessions", "lucid-audit"):
                req = urllib.request.Request(f"{osmem.url}/{name}", data=b'{"settings":{"number_of_replicas":0}}',
                                             method="PUT", headers={"Content-Type": "application/json"})
                urllib.request.urlopen(req, timeout=10).close()

            lport, rport, eport = free_port(), free_port(), free_port()
            others = {name: {"enabled": False} for name, svc in default_catalogue().items()
                      if svc.cluster != "foundation"}
            cfg = {
                "probes": {"min_interval_seconds": 0},
                # Only the stores: the other probes would look up Lucid's compose names, which do
                # not resolve here, and time the name server rather than the exporter.
                "status": {"enabled": False}, "docker": {"enabled": False}, "logs": {"enabled": False},
                "network": {"enabled": False}, "host": {"enabled": False},
                "services": {**others, "redis": {"url": f"tcp://127.0.0.1:{redis_srv.port}"},
                             "mongodb": {"url": f"tcp://127.0.0.1:{mongo.port}"},
                             "elasticsearch": {"url": osmem.url}},
            }
            (tmp / "lucid.yml").write_text(yaml.safe_dump(cfg))
            procs.append(Proc([*EXPORTER, "serve", "--config", str(tmp / "lucid.yml"),
                               "--web.listen-address", f"127.0.0.1:{lport}"], tmp / "lucid.log"))
            procs.append(Proc(["prometheus-redis-exporter", "-redis.addr", f"redis://127.0.0.1:{redis_srv.port}",
                               "-web.listen-address", f"127.0.0.1:{rport}"], tmp / "redis-exporter.log"))
            procs.append(Proc(["prometheus-elasticsearch-exporter", f"--es.uri={osmem.url}", "--es.indices",
                               f"--web.listen-address=127.0.0.1:{eport}"], tmp / "es-exporter.log"))
            for port, p in zip((lport, rport, eport), procs, strict=True):
                wait_port(port, proc=p.p)
            lucid = f"http://127.0.0.1:{lport}"
            get(f"{lucid}/metrics")  # first round

            rows = []
            for what, ours, peer, peer_name in (
                ("Redis", f"{lucid}/probe?target=redis", f"http://127.0.0.1:{rport}/metrics",
                 "prometheus-redis-exporter"),
                ("Elasticsearch", f"{lucid}/probe?target=elasticsearch", f"http://127.0.0.1:{eport}/metrics",
                 "prometheus-elasticsearch-exporter"),
            ):
                a, b = timed(ours, args.scrapes), timed(peer, args.scrapes)
                rows.append((what, a, peer_name, b))

            def redis_conns() -> int:
                return int(rc.info("stats")["total_connections_received"])

            def mongo_conns() -> int:
                return int(mc.admin.command("serverStatus")["connections"]["totalCreated"])

            n = args.conn_scrapes
            conns = [
                ("Redis", "lucid-exporter /probe?target=redis", new_connections(f"{lucid}/probe?target=redis", n,
                                                                                 redis_conns)),
                ("Redis", "lucid-exporter /metrics", new_connections(f"{lucid}/metrics", n, redis_conns)),
                ("Redis", "prometheus-redis-exporter /metrics",
                 new_connections(f"http://127.0.0.1:{rport}/metrics", n, redis_conns)),
                ("MongoDB", "lucid-exporter /probe?target=mongodb",
                 new_connections(f"{lucid}/probe?target=mongodb", n, mongo_conns)),
                ("MongoDB", "lucid-exporter /metrics", new_connections(f"{lucid}/metrics", n, mongo_conns)),
            ]
            rc.close()
            mc.close()
        finally:
            for p in procs:
                p.stop()
            for s in servers:
                s.stop()

    print(f"\nScrape time, median of {args.scrapes} scrapes (after 5 warm-up), same server, loopback")
    print("| backend | lucid-exporter | peer exporter | peer | lucid / peer |")
    print("|---|---|---|---|---|")
    for what, a, peer_name, b in rows:
        print(f"| {what} | {a * 1000:.2f} ms | {b * 1000:.2f} ms | {peer_name} | {a / b:.2f} |")
    print(f"\nNew server connections over {args.conn_scrapes} scrapes, after 5 warm-up scrapes (target 0)")
    print("| server | scraped | new connections |")
    print("|---|---|---|")
    for server, who, count in conns:
        print(f"| {server} | {who} | {count} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
