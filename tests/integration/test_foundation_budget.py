"""A store that accepts connections but never answers (a hung container) must not hang the
scrape: each probe fails with reason timeout inside the scrape's budget, and says up 0."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import start_exporter
from ..support import scrape, value

pytestmark = pytest.mark.integration


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts connections, reads, never writes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def loop() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                held.append(conn)
            except OSError:
                continue

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield int(srv.getsockname()[1])
    stop.set()
    t.join(2)
    for c in held:
        c.close()
    srv.close()


@pytest.mark.parametrize("store", ["redis", "mongodb", "elasticsearch"])
def test_hung_store_times_out_inside_the_scrape_budget(silent_port: int, tmp_path: Path, store: str) -> None:
    url = f"http://127.0.0.1:{silent_port}" if store == "elasticsearch" else f"tcp://127.0.0.1:{silent_port}"
    cfg = {"probes": {"min_interval_seconds": 0, "timeout_seconds": 10},
           "services": {store: {"url": url}},
           store: {"connect_timeout_seconds": 5}}
    exp = start_exporter(tmp_path, cfg)
    try:
        start = time.monotonic()
        s = scrape(f"{exp.url}/probe?target={store}", timeout_header=2.5)
        took = time.monotonic() - start
        assert took < 4.5, took  # the 2.5 s budget cut it, not the 5 s connect or 10 s probe timeout
        assert value(s, f"lucid_{store}_up") == 0
        assert value(s, "lucid_probe_success", probe=store, target=store) == 0
        assert (value(s, "lucid_probe_errors_total", probe=store, reason="timeout") or 0) >= 1
    finally:
        exp.proc.stop()
