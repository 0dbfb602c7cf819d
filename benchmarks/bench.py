"""``make bench``: every benchmark row, one table.

    .venv/bin/python benchmarks/bench.py [--rows fanout,redis,es,mongo,sim,memory,startup]
                                         [--rounds 20] [--profile DIR] [--json FILE]

Rows (one module each): fanout (row_fanout.py), redis, es and mongo (row_stores.py), sim
(row_sim.py), memory (row_memory.py), startup (row_startup.py); logs (bench_logs.py, needs a
docker engine and the shared docker lock) is run on its own. ``--rounds`` scales every timed
row (interleaved rounds); ``--long`` runs the long variants (10,000 scrapes for memory,
more rounds). ``--baseline REV`` adds lucid-exporter at an earlier revision (its files from
``git archive``) to the lucid sides of each row, interleaved with them: before and after in one
run. Figures are of this machine and this run: see docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import harness
from harness import Row, table

ALL = ("fanout", "redis", "es", "mongo", "sim", "memory", "startup")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default=",".join(ALL), help=f"comma-separated, of {', '.join(ALL)}")
    ap.add_argument("--rounds", type=int, default=0, help="interleaved rounds per timed row (default per row)")
    ap.add_argument("--long", action="store_true", help="10,000 scrapes for memory, 3x the rounds")
    ap.add_argument("--sizes", default="25,100,250", help="fan-out: numbers of services")
    ap.add_argument("--redis-keys", default="10000,100000", help="redis: keyspace sizes")
    ap.add_argument("--memory-scrapes", default="", help="memory: checkpoints (default 1000; 1000,10000 with --long)")
    ap.add_argument("--profile", type=Path, help="py-spy profiles of lucid-exporter into this directory")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    ap.add_argument("--baseline", metavar="REV", help="also run lucid-exporter at this git revision (e.g. main) "
                    "in the same rows and rounds: before/after of one run")
    args = ap.parse_args()
    wanted = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = set(wanted) - set(ALL)
    if unknown:
        print(f"bench: unknown rows: {', '.join(sorted(unknown))} (known: {', '.join(ALL)})", file=sys.stderr)
        return 2
    mult = 3 if args.long else 1

    def rounds(default: int) -> int:
        return args.rounds or default * mult

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    meta = harness.machine()
    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lucid-bench-") as d:
        tmp = Path(d)
        if args.baseline:
            harness.BASELINE = harness.extract_baseline(args.baseline, tmp / "baseline-src")
            meta["baseline"] = harness.BASELINE.rev
        steps: dict[str, Callable[[Path], list[Row]]] = {}
        if "fanout" in wanted:
            import row_fanout

            sizes = tuple(int(x) for x in args.sizes.split(","))
            steps["fanout"] = lambda t: row_fanout.run(t, rounds(20), sizes, args.profile)
        if {"redis", "es", "mongo"} & set(wanted):
            import row_stores

            keys = tuple(int(x) for x in args.redis_keys.split(","))
            if "redis" in wanted:
                steps["redis"] = lambda t: row_stores.redis_rows(t, rounds(60), keys, args.profile)
            if "es" in wanted:
                steps["es"] = lambda t: row_stores.es_rows(t, rounds(60), args.profile)
            if "mongo" in wanted:
                steps["mongo"] = lambda t: row_stores.mongo_rows(t, rounds(60))
        if "sim" in wanted:
            import row_sim

            steps["sim"] = lambda t: row_sim.run(t, rounds(20))
        if "memory" in wanted:
            import row_memory

            checkpoints = tuple(int(x) for x in (args.memory_scrapes or ("1000,10000" if args.long else "1000"))
                                .split(","))
            steps["memory"] = lambda t: row_memory.run(t, checkpoints)
        if "startup" in wanted:
            import row_startup

            steps["startup"] = lambda t: row_startup.run(t, rounds(10))
        for name, step in steps.items():
            t0 = time.monotonic()
            sub = tmp / name
            sub.mkdir()
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            got = step(sub)
            rows += got
            print(table(got), file=sys.stderr)
            print(f"bench: {name} took {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    meta["seconds"] = round(time.monotonic() - started)
    meta["loadavg_at_end"] = [round(x, 2) for x in __import__("os").getloadavg()]
    print()
    print(f"lucid-exporter benchmarks: {meta['cpus']} CPUs ({meta['cpu_model']}), Python {meta['python']}, "
          f"{meta['date']}, {meta['seconds']} s, load average {meta['loadavg_at_start']} -> {meta['loadavg_at_end']}"
          + (f"; baseline @{meta['baseline']}" if "baseline" in meta else ""))
    print()
    print(table(rows))
    if args.profile:
        for f in sorted(args.profile.glob("*.txt")):
            print(f"\n## profile {f.stem}\n{f.read_text()}")
    if args.json:
        harness.save_json(rows, args.json, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
