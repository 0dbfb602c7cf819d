"""Shared test support: free ports, managed processes, scraping /metrics."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
EXPORTER = [sys.executable, "-m", "lucid_exporter"]
SIM = [sys.executable, "-m", "lucid_sim"]  # the simulated stack, its own distribution (sim/)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Not the random module's shared state: pytest-randomly reseeds it identically for every test, and so
# would hand every sim of a session (and of each xdist worker) the same ports.
_PORTS = random.SystemRandom()


def _ephemeral_start() -> int:
    """The first port the kernel hands out to outgoing connections (and to bind(0))."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port_block(n: int) -> int:
    """A base port with n consecutive free ports after it.

    Taken below the ephemeral range when there is room: on a machine running many test suites, the
    ephemeral range is full of outgoing connections (and their TIME-WAIT), so a block of free ports is
    rare there and one found free is soon taken by the next connection. Free as the sim binds them,
    with SO_REUSEADDR (asyncio's default)."""
    low, high = 20000, _ephemeral_start() - n
    for _ in range(200):
        base = _PORTS.randrange(low, high) if high > low else free_port()
        if base + n >= 65000:
            continue
        ok = True
        for p in range(base, base + n):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no block of free ports")


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
