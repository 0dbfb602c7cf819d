"""lucid-exporter ``serve`` under tracemalloc, for the memory row (row_memory.py).

On SIGUSR1 it writes a tracemalloc snapshot to ``$BENCH_TRACE_DIR/snapshot-<n>.pickle`` (n
counts from 1) and then an empty ``snapshot-<n>.done``, so the harness can compare what the
process holds after 1,000 scrapes with what it held after warm-up: growth that survives in
tracemalloc is held by Python; RSS growth that does not is the allocator settling.

usage: traced_serve.py serve --config ... (the arguments of ``lucid-exporter``)
"""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

tracemalloc.start(int(os.environ.get("BENCH_TRACE_FRAMES", "8")))
OUT = Path(os.environ.get("BENCH_TRACE_DIR", "."))
taken = 0


def snapshot(signum: int, frame: FrameType | None) -> None:
    global taken
    taken += 1
    snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    snap.dump(str(OUT / f"snapshot-{taken}.pickle"))
    (OUT / f"snapshot-{taken}.done").write_text("")


signal.signal(signal.SIGUSR1, snapshot)

from lucid_exporter.cli import main  # noqa: E402 - tracemalloc must be on before the imports

sys.exit(main(sys.argv[1:]))
