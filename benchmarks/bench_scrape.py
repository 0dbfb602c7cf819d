"""Scrape time of the full catalogue against the sim: no fault, and one hanging service.

Prints a table (median and p90 of N scrapes). Run: make bench, or
.venv/bin/python benchmarks/bench_scrape.py [--scrapes 20]
The exporter runs with min_interval 0 so every scrape really probes every service.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import start_exporter, start_sim
from tests.support import parse_metrics


def scrape_times(url: str, n: int, timeout_header: float) -> tuple[list[float], int]:
    times = []
    series = 0
    for _ in range(n):
        req = urllib.request.Request(url, headers={"X-Prometheus-Scrape-Timeout-Seconds": str(timeout_header)})
        start = time.perf_counter()
        with urllib.request.urlopen(req, timeout=60) as r:
            body = r.read().decode()
        times.append(time.perf_counter() - start)
        series = len(parse_metrics(body))
    return times, series


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scrapes", type=int, default=20)
    ap.add_argument("--scrape-timeout", type=float, default=10.0, help="X-Prometheus-Scrape-Timeout-Seconds")
    ap.add_argument("--probe-timeout", type=float, default=2.0, help="probes.timeout_seconds")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        sim = start_sim(tmp)
        try:
            cfg = {**sim.config, "probes": {"min_interval_seconds": 0, "timeout_seconds": args.probe_timeout}}
            exp = start_exporter(tmp, cfg)
            try:
                url = f"{exp.url}/metrics"
                scrape_times(url, 2, args.scrape_timeout)  # warm the connection pool
                for label, fault in (("no fault", None), ("xrdp hanging", ("xrdp", "hang"))):
                    if fault:
                        sim.fault(*fault)
                    times, series = scrape_times(url, args.scrapes, args.scrape_timeout)
                    sim.clear()
                    q = statistics.quantiles(times, n=10)
                    rows.append((label, statistics.median(times), q[-1], max(times), series))
            finally:
                exp.proc.stop()
        finally:
            sim.proc.stop()
    print(f"Full catalogue scrape against the sim ({args.scrapes} scrapes each, probe timeout "
          f"{args.probe_timeout}s, scrape timeout {args.scrape_timeout}s)")
    print(f"{'case':<16} {'median s':>9} {'p90 s':>8} {'max s':>8} {'series':>7}")
    for label, med, p90, mx, series in rows:
        print(f"{label:<16} {med:>9.4f} {p90:>8.4f} {mx:>8.4f} {series:>7}")


if __name__ == "__main__":
    main()
