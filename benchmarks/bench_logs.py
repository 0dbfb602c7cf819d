"""Cost of the log probe per scrape against a real Docker engine, by size of the existing log.

For 1k, 100k and 1M existing lines in a container's log, the probe does its first (bounded)
read, then 100 new lines are written before each of the following scrapes. The time per
incremental scrape must stay flat whatever the history; a naive full re-read (``docker logs
--since 1h``, what the guide's grep does) is shown for comparison.

    .venv/bin/python benchmarks/bench_logs.py [--scrapes 10] [--sizes 1000,100000,1000000]

Uses the running engine (or starts a private dockerd, like the tests; LUCID_TEST_DOCKER_OWN=1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docker  # noqa: E402

from lucid_exporter.config import Settings  # noqa: E402
from lucid_exporter.probes.docker import DockerAccess  # noqa: E402
from lucid_exporter.probes.logs import LogsProbe  # noqa: E402
from tests.servers_docker import IMAGE, busybox_rootfs_tar, run_probe, start_engine, stop_engine, val  # noqa: E402

FILLER = "2026-11-28 09:00:00,000 - lucid.bench - INFO - GET /api/v1/sessions 200 filler line"


def log_lines(client: Any, name: str) -> int:
    path = client.api.inspect_container(name)["LogPath"]
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def wait_lines(client: Any, name: str, n: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while log_lines(client, name) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name}: {n} lines not reached")
        time.sleep(0.2)


async def bench_size(client: Any, url: str, prefix: str, size: int, scrapes: int, tmp: Path) -> dict[str, Any]:
    feed_dir = tmp / f"feed-{size}"
    feed_dir.mkdir()
    feed = feed_dir / "log"
    feed.write_text("")
    name = f"{prefix}{size}"
    client.containers.run(IMAGE, ["sh", "-c", f'yes "{FILLER}" | head -n {size}; tail -n 0 -f /feed/log'],
                          name=name, detach=True, volumes={str(feed_dir): {"bind": "/feed", "mode": "ro"}})
    wait_lines(client, name, size)
    settings = Settings(docker={"base_url": url, "container_patterns": [name]},  # type: ignore[arg-type]
                        logs={"lookback_seconds": 3600})  # type: ignore[arg-type]
    probe = LogsProbe(settings.logs, [name], {}, DockerAccess(settings.docker))
    try:
        t0 = time.perf_counter()
        await run_probe(probe, settings)
        first = time.perf_counter() - t0
        times: list[float] = []
        expected = size
        for k in range(scrapes):
            with feed.open("a") as f:
                for i in range(100):
                    lvl = "ERROR" if i % 10 == 0 else "INFO"
                    f.write(f"2026-11-28 09:00:01,000 - lucid.bench - {lvl} - scrape {k} line {i} LUCID_ERR_5001\n")
            expected += 100
            wait_lines(client, name, expected)
            t0 = time.perf_counter()
            s = await run_probe(probe, settings)
            times.append(time.perf_counter() - t0)
        codes = val(s, "lucid_log_error_codes_total", container=name, code="LUCID_ERR_5001")
        assert codes == 100 * scrapes, f"counted {codes}, expected {100 * scrapes}"
        t0 = time.perf_counter()
        raw = client.api.logs(name, timestamps=True, since=int(time.time() - 3600))
        naive = time.perf_counter() - t0
        assert raw.count(b"\n") >= size
    finally:
        await probe.close()
        with contextlib.suppress(Exception):
            client.containers.get(name).remove(force=True)
    return {"size": size, "first": first, "median": statistics.median(times), "max": max(times),
            "naive": naive, "counted": codes}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scrapes", type=int, default=10)
    ap.add_argument("--sizes", default="1000,100000,1000000")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="lucid-bench-logs-") as t:
        tmp = Path(t)
        url, proc = start_engine(tmp)
        client = docker.DockerClient(base_url=url, timeout=600)
        client.api.import_image_from_data(busybox_rootfs_tar(), repository=IMAGE.split(":")[0], tag="latest")
        prefix = f"lucidbench-{uuid.uuid4().hex[:6]}-"
        rows = []
        try:
            for size in sizes:
                rows.append(await bench_size(client, url, prefix, size, args.scrapes, tmp))
        finally:
            client.close()
            if proc is not None:
                stop_engine(proc)
    print(f"log probe, 100 new lines per scrape, {args.scrapes} scrapes per size (engine {url})")
    print("| existing lines | first read (bounded) ms | per scrape median ms | per scrape max ms "
          "| naive full re-read ms | new code lines counted |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['size']:,} | {r['first'] * 1000:.1f} | {r['median'] * 1000:.1f} | {r['max'] * 1000:.1f} "
              f"| {r['naive'] * 1000:.1f} | {int(r['counted'])} |")


if __name__ == "__main__":
    asyncio.run(main())
