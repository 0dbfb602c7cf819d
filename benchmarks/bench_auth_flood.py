"""A legitimate scraper's scrape time while 40 wrong-password requests arrive at once (issue 13).

The exporter runs against the sim with basic auth (a bcrypt hash of cost 12, as the audit used)
and a long probes.min_interval_seconds, so that a scrape measures the serving path, not the probes.
The scraper keeps one connection (as Prometheus does) and scrapes in a loop: first alone
("usual"), then while 40 clients send one wrong password each, all at once, twice over (the
second wave finds them throttled). The flood runs in a process of its own, so that its threads
do not share the scraper's interpreter lock. Prints one table; both figures come from one run.

    .venv/bin/python benchmarks/bench_auth_flood.py [--flood 40] [--cost 12]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import start_exporter, start_sim

PASSWORD = "prometheus-scrape-password"


def basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"prometheus:{password}".encode()).decode()


class Scraper:
    """The legitimate Prometheus: one keep-alive connection, scrapes in a loop, records each time."""

    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=60)
        self.headers = {"Authorization": basic(PASSWORD), "X-Prometheus-Scrape-Timeout-Seconds": "10"}

    def scrape(self) -> float:
        start = time.perf_counter()
        self.conn.request("GET", "/metrics", headers=self.headers)
        reply = self.conn.getresponse()
        reply.read()
        took = time.perf_counter() - start
        assert reply.status == 200, reply.status
        return took

    def loop(self, stop: threading.Event, out: list[float]) -> None:
        while not stop.is_set():
            out.append(self.scrape())
            time.sleep(0.005)


def flood_process(url: str, n: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put([flood(url, n, wave) for wave in (1, 2)])


def flood(url: str, n: int, wave: int) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()
    go = threading.Event()

    def one(i: int) -> None:
        req = urllib.request.Request(url, headers={"Authorization": basic(f"wrong-{wave}-{i}-password")})
        go.wait()
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    go.set()  # all at once
    for t in threads:
        t.join()
    return statuses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--flood", type=int, default=40, help="wrong-password requests arriving at once")
    ap.add_argument("--cost", type=int, default=12, help="bcrypt cost of the configured hash")
    ap.add_argument("--baseline", type=int, default=100, help="scrapes measured before the flood")
    ap.add_argument("--flood-other", action="store_true",
                    help="send the flood to a second exporter process on the same host instead: what the host's "
                         "scheduling alone costs the scraper")
    args = ap.parse_args()
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=args.cost)).decode()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        sim = start_sim(tmp)
        try:
            cfg = {**sim.config, "probes": {"min_interval_seconds": 3600},
                   "web": {"basic_auth_users": {"prometheus": hashed}}}
            exp = start_exporter(tmp, cfg)
            other = start_exporter(tmp, cfg, name="exporter-flooded") if args.flood_other else None
            try:
                host, port = exp.url.removeprefix("http://").split(":")
                scraper = Scraper(host, int(port))
                for _ in range(5):  # the first verifies the password once and fills the probe cache
                    scraper.scrape()
                usual = [scraper.scrape() for _ in range(args.baseline)]
                during: list[float] = []
                stop = threading.Event()
                loop = threading.Thread(target=scraper.loop, args=(stop, during))
                loop.start()
                time.sleep(0.2)
                start = time.perf_counter()
                queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
                flooded = other or exp
                attacker = multiprocessing.Process(target=flood_process,
                                                   args=(f"{flooded.url}/metrics", args.flood, queue))
                attacker.start()
                waves = queue.get(timeout=300)
                attacker.join()
                flood_seconds = time.perf_counter() - start
                time.sleep(0.5)
                stop.set()
                loop.join()
            finally:
                exp.proc.stop()
                if other is not None:
                    other.proc.stop()
        finally:
            sim.proc.stop()
    med, slowest = statistics.median(usual), max(during)
    print(f"legitimate scraper, bcrypt cost {args.cost}, {args.flood} wrong passwords at once (two waves)"
          + (", sent to a second exporter process" if args.flood_other else ""))
    print(f"{'':28} {'scrapes':>7} {'median ms':>10} {'p99 ms':>8} {'slowest ms':>11}")
    for label, xs in (("alone (usual)", usual), ("during the flood", during)):
        p99 = statistics.quantiles(xs, n=100)[-1] if len(xs) >= 2 else xs[0]
        print(f"{label:28} {len(xs):>7} {statistics.median(xs) * 1e3:>10.1f} {p99 * 1e3:>8.1f} "
              f"{max(xs) * 1e3:>11.1f}")
    for i, statuses in enumerate(waves, 1):
        counts = {s: statuses.count(s) for s in sorted(set(statuses))}
        print(f"wave {i}: {args.flood} wrong-password replies by status: {counts}")
    print(f"flood answered in {flood_seconds:.2f} s; slowest scrape during it / usual median: "
          f"{slowest / med:.2f}x (goal <= 3x); / slowest scrape alone: {slowest / max(usual):.2f}x "
          "(the tail alone is the host's scheduling noise)")


if __name__ == "__main__":
    main()
