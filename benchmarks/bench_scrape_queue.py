"""20 scrapes at once with one hanging service and a 3 s scrape timeout (issue 13): each reply's
time from its request, against Prometheus' 3 s deadline.

The exporter runs against the sim with xrdp hanging, probes.min_interval_seconds 0 (every scrape
that gets an in-flight slot probes for real) and the default web.max_requests_in_flight (8):
twelve of the twenty wait for a slot, within their budget, then get the cached results.

    .venv/bin/python benchmarks/bench_scrape_queue.py [--clients 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import start_exporter, start_sim
from tests.support import http_get, scrape


def burst(url: str, clients: int, header: float) -> list[tuple[float, int]]:
    out: list[tuple[float, int]] = []
    lock = threading.Lock()
    go = threading.Event()

    def one() -> None:
        go.wait()
        start = time.perf_counter()
        status, _ = http_get(url, {"X-Prometheus-Scrape-Timeout-Seconds": str(header)}, timeout=60)
        with lock:
            out.append((time.perf_counter() - start, status))

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scrape-timeout", type=float, default=3.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        sim = start_sim(tmp, "xrdp=hang")
        try:
            exp = start_exporter(tmp, {**sim.config, "probes": {"min_interval_seconds": 0}})
            try:
                scrape(f"{exp.url}/metrics", timeout_header=args.scrape_timeout)
                rounds = [burst(f"{exp.url}/metrics", args.clients, args.scrape_timeout) for _ in range(args.rounds)]
            finally:
                exp.proc.stop()
        finally:
            sim.proc.stop()
    print(f"{args.clients} concurrent scrapes, xrdp hanging, X-Prometheus-Scrape-Timeout-Seconds "
          f"{args.scrape_timeout}")
    print(f"{'round':>5} {'fastest s':>9} {'median s':>9} {'slowest s':>9} {'over timeout':>12}  statuses")
    for i, r in enumerate(rounds, 1):
        times = [t for t, _ in r]
        statuses = {s: [x for _, x in r].count(s) for s in sorted({x for _, x in r})}
        over = sum(1 for t in times if t >= args.scrape_timeout)
        print(f"{i:>5} {min(times):>9.3f} {statistics.median(times):>9.3f} {max(times):>9.3f} "
              f"{over:>9}/{len(times)}  {statuses}")


if __name__ == "__main__":
    main()
