"""Shared test support: free ports, managed processes, scraping /metrics."""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import ModuleType

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
EXPORTER = [sys.executable, "-m", "lucid_exporter"]
SIM = [sys.executable, "-m", "lucid_sim"]  # the simulated stack, its own distribution (sim/)


def load_script(path: Path, name: str | None = None) -> ModuleType:
    """A script of the repository (scripts/, alerts/, grafana/: not packages) as a module, loaded once
    per process under ``name`` (default: lucid_script_<file stem>)."""
    key = name or f"lucid_script_{path.stem}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A free port for a server a test starts (see free_port_block: this worker's own ports)."""
    return free_port_block(1)


def _ephemeral_start() -> int:
    """The first port the kernel hands out to outgoing connections (and to bind(0))."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Blocks of consecutive ports (a sim binds one per service) come from below the kernel's ephemeral
# range (32768+), where no outgoing connection takes a port between the check and the bind, and each
# xdist worker has a slice of its own, walked forward, so no two workers (nor two sims of one worker)
# are handed the same block.
_BLOCKS = range(10000, min(32000, _ephemeral_start()))
_block_cursor = itertools.count()


def _worker_slice() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    count = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    span = len(_BLOCKS) // count
    start = _BLOCKS.start + (index % count) * span
    return range(start, start + span)


def _free(port: int) -> bool:
    """Free as the servers bind it: with SO_REUSEADDR (asyncio's default), so a port whose last
    connection is in TIME-WAIT counts as free."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(n: int) -> int:
    """A base port with n consecutive free ports after it, from this worker's slice."""
    ports = _worker_slice()
    blocks = len(ports) // n
    for _ in range(blocks):
        base = ports.start + (next(_block_cursor) % blocks) * n
        if all(_free(p) for p in range(base, base + n)):
            return base
    raise RuntimeError(f"no block of {n} free ports in {ports.start}-{ports.stop - 1}")


SIM_SERVICE_PORTS = 40  # the sim binds one port per catalogue service from its base port


def sim_ports() -> tuple[int, int]:
    """(base port, control port) for a sim: the control port is taken from the same free block,
    after the service ports, so that it can never be one of the ports the sim binds first."""
    base = free_port_block(SIM_SERVICE_PORTS + 1)
    return base, base + SIM_SERVICE_PORTS


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 20.0,
              proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached after {timeout}s (last: {last!r})")


class Proc:
    """A child process with its output in a log file; stopped (and its group killed) on exit."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.log = log
        self._fh = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.p = subprocess.Popen(args, stdout=self._fh, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                  cwd=cwd or ROOT, start_new_session=True)

    def output(self) -> str:
        if not self._fh.closed:
            self._fh.flush()
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        if self.p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
        self._fh.close()

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> tuple[int, str]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def http_send(url: str, method: str, timeout: float = 10.0) -> tuple[int, str]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_metrics(text: str) -> Series:
    """Exposition text -> {(sample name, labels): value}, through prometheus_client's parser."""
    out: Series = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(series: Series, name: str, **labels: str) -> float | None:
    """The value of the one series of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    found = [v for (n, lbl), v in series.items() if n == name and want <= lbl]
    if len(found) > 1:
        raise AssertionError(f"{name}{labels} matches {len(found)} series")
    return found[0] if found else None


def scrape(url: str, timeout_header: float | None = None) -> Series:
    headers = {"X-Prometheus-Scrape-Timeout-Seconds": str(timeout_header)} if timeout_header else {}
    status, body = http_get(url, headers)
    assert status == 200, body
    return parse_metrics(body)
