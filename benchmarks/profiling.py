"""py-spy around a benchmark run: where the exporter's time goes, summarised by frame.

``py-spy`` (PyPI) is optional: without it the rows run and the profile is skipped.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path


def py_spy() -> str | None:
    return shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))


@contextlib.contextmanager
def recording(pid: int, out: Path, rate: int = 200) -> Iterator[Path | None]:
    """Collapsed stacks (``--format raw``) of ``pid`` while the block runs, idle frames left out."""
    exe = py_spy()
    if exe is None:
        yield None
        return
    proc = subprocess.Popen([exe, "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate),
                             "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield out
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


# Frames every sample passes through (process start, the event loop's run): not informative.
ROOT_FRAMES = ("<frozen runpy>", "asyncio/runners.py", "run_forever (", "run_until_complete (", "_run_once (",
               "lucid_exporter/cli.py", "lucid_exporter/__main__.py", "Handle._run (")


def _frames(stack: str) -> list[str]:
    return [f for f in stack.split(";") if f]


def _short(frame: str) -> str:
    # "collect (lucid_exporter/engine.py:123)" -> "collect (engine.py)"
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(file).parts
    for anchor in ("site-packages", "lucid_exporter", "python3.11"):
        if anchor in parts:
            file = "/".join(parts[parts.index(anchor) + (1 if anchor != "lucid_exporter" else 0):])
            break
    return f"{name} ({file})"


BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Ordered: the first bucket with a marker on the stack gets the sample. Probes run in their
    # own tasks, so a probe's stack does not hold the /metrics handler's frames.
    ("render (prometheus_client exposition)", ("prometheus_client/",)),
    ("render (collector, samples)", ("lucid_exporter/collector.py", "lucid_exporter/metrics.py")),
    ("Redis client (redis-py)", ("redis/",)),
    ("Elasticsearch client", ("elasticsearch/", "elastic_transport/")),
    ("MongoDB client (pymongo)", ("pymongo/", "bson/")),
    ("HTTP client (aiohttp client, connector)", ("aiohttp/client", "aiohttp/connector", "aiohttp/streams",
                                                 "aiohttp/helpers", "aiohttp/tracing", "aiohttp/cookiejar",
                                                 "lucid_exporter/probes/httpget.py")),
    ("probes' own code (parsing, extraction)", ("lucid_exporter/probes/", "lucid_exporter/checks.py", "json/")),
    ("HTTP server (aiohttp web)", ("aiohttp/web_", "aiohttp/http_")),
    ("engine bookkeeping (tasks, timeouts, results)", ("lucid_exporter/engine.py",)),
    ("asyncio event loop (select, callbacks)", ("asyncio/", "selectors.py")),
)


def summarise(path: Path, top: int = 15) -> str:
    """Inclusive share of the top frames and a breakdown by bucket, from py-spy's raw output."""
    if not path.exists() or path.stat().st_size == 0:
        return f"(no profile at {path})"
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = _frames(stack)
        if not frames:
            continue
        # py-spy --nonblocking with idle frames dropped by default: what remains is CPU on a thread.
        total += n
        for f in {_short(f) for f in frames if not any(r in f for r in ROOT_FRAMES)}:
            inclusive[f] += n
        leaf[_short(frames[-1])] += n
        joined = stack
        for name, markers in BUCKETS:
            if any(m in joined for m in markers):
                buckets[name] += n
                break
        else:
            buckets["other"] += n
    if not total:
        return "(empty profile)"
    writes = sum(n for f, n in leaf.items() if f.startswith(("_SelectorSocketTransport.write", "sendall")))
    lines = [f"{total} samples on CPU; {100 * writes / total:.1f} % in socket writes (on loopback a send "
             "also runs the receiver's TCP work)", "", "by part (first match on the stack):"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in buckets.most_common()]
    lines += ["", "top frames, inclusive (below the event loop):"]
    lines += [f"  {100 * n / total:5.1f} %  {f}" for f, n in inclusive.most_common(top)]
    lines += ["", "top frames, self:"]
    lines += [f"  {100 * n / total:5.1f} %  {f}" for f, n in leaf.most_common(top)]
    return "\n".join(lines)
