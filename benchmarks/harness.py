"""The benchmark harness: sides scraped the way Prometheus scrapes them, interleaved.

A *side* is one exporter endpoint (lucid-exporter's ``/metrics`` or ``/probe``, a peer
exporter's ``/metrics``). :func:`interleave` scrapes every side once per round, in an order
that rotates from round to round (A B C, B C A, C A B ...), so that a slow minute on this
shared machine falls on every side alike and the ratio of one run stays fair. Each scrape
goes over a keep-alive connection with the headers Prometheus 2.42 sends (captured from
Debian's prometheus 2.42.0 scraping a listener: see PROMETHEUS_HEADERS), and the body is
gunzipped when the exporter compressed it, as Prometheus does, inside the timed span.

Around each scrape the harness reads, outside the timed span:
- the CPU time of the scraped exporter and of the backend server, so each side is charged only
  for its own scrapes: the sum of its threads' /proc/<pid>/task/*/schedstat (nanoseconds), or
  utime + stime from /proc/<pid>/stat (10 ms ticks) when a thread ended during the scrape;
- the backend's count of accepted connections (Redis ``total_connections_received``,
  MongoDB ``connections.totalCreated``, the fake's own count, or the client ports seen on
  loopback for servers that keep no count), so "new backend connections per scrape" is exact.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import socket
import statistics
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import EXPORTER, Proc, free_port, wait_port  # noqa: E402

# What Debian's prometheus 2.42.0 sends on every scrape (its default, without the protobuf
# feature flag). The X-Prometheus-Scrape-Timeout-Seconds value is the job's scrape_timeout.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
PROMETHEUS_HEADERS = {
    "Accept": PROMETHEUS_ACCEPT,
    "Accept-Encoding": "gzip",
    "User-Agent": "Prometheus/2.42.0",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def prometheus_headers(scrape_timeout: float = 10.0) -> dict[str, str]:
    return {**PROMETHEUS_HEADERS, "X-Prometheus-Scrape-Timeout-Seconds": f"{scrape_timeout:g}"}


# -- /proc ------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads, live and exited), in seconds (10 ms ticks)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass(frozen=True)
class CpuSample:
    tids: frozenset[int]
    run_ns: int  # sum of the live threads' time on CPU (/proc/<pid>/task/*/schedstat), in ns
    ticks: float  # utime + stime (/proc/<pid>/stat)


def cpu_sample(pid: int) -> CpuSample:
    tids, run = [], 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError), open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            run += int(f.read().split()[0])
            tids.append(int(tid))
    return CpuSample(frozenset(tids), run, cpu_seconds(pid))


def cpu_delta(a: CpuSample, b: CpuSample) -> float:
    """CPU seconds between two samples: from the nanosecond schedstat sums when no thread ended
    in between (a scrape costs a few ms, below /proc/<pid>/stat's 10 ms ticks), else from stat."""
    if a.tids <= b.tids:
        return (b.run_ns - a.run_ns) / 1e9
    return b.ticks - a.ticks


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def loopback_client_ports(server_ports: set[int]) -> set[tuple[int, int]]:
    """(server port, client port) of every TCP connection to ``server_ports`` the kernel still
    lists, TIME_WAIT included: on loopback both ends are on this host, so a connection opened
    and closed between two reads is still listed (60 s of TIME_WAIT on one end)."""
    seen: set[tuple[int, int]] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as f:
            next(f)
            for line in f:
                parts = line.split()
                local, remote = int(parts[1].rsplit(":", 1)[1], 16), int(parts[2].rsplit(":", 1)[1], 16)
                if parts[3] == "0A":  # LISTEN
                    continue
                if remote in server_ports:
                    seen.add((remote, local))
                elif local in server_ports:
                    seen.add((local, remote))
    return seen


class LoopbackConnections:
    """Counts connections made to a set of loopback server ports, for servers that keep no count."""

    def __init__(self, server_ports: set[int]) -> None:
        self.server_ports = server_ports
        self.known = loopback_client_ports(server_ports)
        self.count = 0
        self.by_port: Counter[int] = Counter()

    def __call__(self) -> int:
        now = loopback_client_ports(self.server_ports)
        new = now - self.known
        self.count += len(new)
        self.by_port.update(server for server, _ in new)
        self.known |= now
        return self.count


# -- scraping ---------------------------------------------------------------------------------
@dataclass
class Reply:
    seconds: float
    status: int
    body: bytes
    wire_bytes: int
    encoding: str
    content_type: str


class KeepAliveClient:
    """One HTTP/1.1 keep-alive connection, as Prometheus holds one per target."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float = 60.0) -> None:
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.path = u.path + (f"?{u.query}" if u.query else "")
        self.headers = headers
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def get(self, path: str | None = None) -> Reply:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.reconnects += 1
        start = time.perf_counter()
        self.conn.request("GET", path or self.path, headers=self.headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        encoding = resp.getheader("Content-Encoding", "") or ""
        body = gzip.decompress(raw) if encoding == "gzip" else raw
        seconds = time.perf_counter() - start
        if resp.will_close:
            self.close()
        return Reply(seconds, resp.status, body, len(raw), encoding, resp.getheader("Content-Type", "") or "")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class Side:
    """One endpoint to scrape; ``pid`` is the process charged with its CPU."""

    name: str
    url: str
    pid: int
    scrape_timeout: float = 10.0
    client: KeepAliveClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = KeepAliveClient(self.url, prometheus_headers(self.scrape_timeout))

    def scrape(self) -> Reply:
        r = self.client.get()
        if r.status != 200:
            raise RuntimeError(f"{self.name}: {self.url} answered HTTP {r.status}: {r.body[:200]!r}")
        return r


@dataclass
class Backend:
    """The server behind the sides: its CPU (``pid``) and its count of accepted connections."""

    name: str
    pid: int | None = None
    connections: Callable[[], int] | None = None


@dataclass
class Stats:
    side: str
    times: list[float]
    cpu: float  # exporter CPU seconds over all timed scrapes
    backend_cpu: float | None
    new_connections: int | None
    wire_bytes: int
    body_bytes: int
    encoding: str
    reconnects: int

    @property
    def n(self) -> int:
        return len(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p90(self) -> float:
        return statistics.quantiles(self.times, n=10, method="inclusive")[-1] if self.n > 1 else self.times[0]

    @property
    def cpu_per_scrape(self) -> float:
        return self.cpu / self.n

    @property
    def backend_cpu_per_scrape(self) -> float | None:
        return None if self.backend_cpu is None else self.backend_cpu / self.n

    @property
    def connections_per_scrape(self) -> float | None:
        return None if self.new_connections is None else self.new_connections / self.n


def interleave(sides: Sequence[Side], rounds: int, warmup: int = 3, backend: Backend | None = None,
               between: Callable[[], None] | None = None) -> dict[str, Stats]:
    """Scrape every side once per round, the order rotating each round; ``warmup`` untimed
    rounds first (pools open, first probe round done)."""
    for _ in range(warmup):
        for s in sides:
            s.scrape()
    for s in sides:
        s.client.reconnects = 0
    acc: dict[str, dict[str, Any]] = {s.name: {"times": [], "cpu": 0.0, "bcpu": 0.0, "conns": 0, "wire": 0,
                                               "body": 0, "enc": ""} for s in sides}
    bpid = backend.pid if backend else None
    bconns = backend.connections if backend else None
    for r in range(rounds):
        order = list(sides[r % len(sides):]) + list(sides[:r % len(sides)])
        for s in order:
            a = acc[s.name]
            c0 = bconns() if bconns else 0
            b0 = cpu_sample(bpid) if bpid else None
            e0 = cpu_sample(s.pid)
            reply = s.scrape()
            e1 = cpu_sample(s.pid)
            b1 = cpu_sample(bpid) if bpid else None
            c1 = bconns() if bconns else 0
            a["times"].append(reply.seconds)
            a["cpu"] += cpu_delta(e0, e1)
            if b0 is not None and b1 is not None:
                a["bcpu"] += cpu_delta(b0, b1)
            a["conns"] += c1 - c0
            a["wire"], a["body"], a["enc"] = reply.wire_bytes, len(reply.body), reply.encoding
            if between is not None:
                between()
    return {s.name: Stats(s.name, acc[s.name]["times"], acc[s.name]["cpu"], acc[s.name]["bcpu"] if bpid else None,
                          acc[s.name]["conns"] if bconns else None, acc[s.name]["wire"], acc[s.name]["body"],
                          acc[s.name]["enc"], s.client.reconnects) for s in sides}


# -- processes --------------------------------------------------------------------------------
def http_ok(url: str, timeout: float = 2.0) -> bool:
    u = urllib.parse.urlsplit(url)
    try:
        conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=timeout)
        conn.request("GET", u.path + (f"?{u.query}" if u.query else ""))
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def wait_http(url: str, proc: Proc | None = None, timeout: float = 60.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.p.poll() is not None:
            raise RuntimeError(f"exited with {proc.p.returncode} before {url} answered:\n{proc.output()[-2000:]}")
        if http_ok(url):
            return
        time.sleep(interval)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s")


@dataclass
class Lucid:
    proc: Proc
    url: str
    config: Path

    @property
    def pid(self) -> int:
        return self.proc.p.pid


@dataclass(frozen=True)
class Baseline:
    """An earlier revision of lucid-exporter (``bench.py --baseline REV``), run beside the working
    tree's in the same rows and rounds: before/after figures of one run, on one machine state."""

    rev: str
    root: Path  # the revision's files (git archive), imported instead of the working tree's

    @property
    def label(self) -> str:
        return f"@{self.rev}"


BASELINE: Baseline | None = None


def extract_baseline(rev: str, dest: Path) -> Baseline:
    import subprocess

    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    short = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True, capture_output=True,
                           text=True).stdout.strip()
    return Baseline(rev if rev == short else f"{rev} ({short})", dest)


def baseline_env(env: dict[str, str] | None = None) -> tuple[dict[str, str], Path | None]:
    """Environment and working directory that make ``python -m lucid_exporter`` the baseline's."""
    if BASELINE is None:
        return env or {}, None
    return {**(env or {}), "PYTHONPATH": str(BASELINE.root)}, BASELINE.root


def start_lucid(tmp: Path, config: dict[str, Any], name: str = "lucid", env: dict[str, str] | None = None,
                argv: list[str] | None = None, ready: bool = True, baseline: bool = False) -> Lucid:
    """lucid-exporter ``serve`` as a process (``argv`` replaces ``python -m lucid_exporter``);
    ``baseline``: the revision given with ``--baseline`` (see :class:`Baseline`)."""
    import yaml

    port = free_port()
    path = tmp / f"{name}.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    cwd = None
    if baseline:
        env, cwd = baseline_env(env)
    proc = Proc([*(argv or EXPORTER), "serve", "--config", str(path), "--web.listen-address", f"127.0.0.1:{port}",
                 "--log.level", "warn"], tmp / f"{name}.log", env=env, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    if ready:
        wait_http(f"{url}/-/ready", proc)
    else:
        wait_port(port, proc=proc.p, timeout=60)
    return Lucid(proc, url, path)


def start_go(tmp: Path, name: str, args: list[str], ready_path: str = "/metrics") -> tuple[Proc, str]:
    """A peer exporter; ``args`` may hold ``{port}``."""
    port = free_port()
    proc = Proc([a.replace("{port}", str(port)) for a in args], tmp / f"{name}.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}{ready_path}", proc)
    return proc, url


@contextlib.contextmanager
def stopping(*procs: Any) -> Iterator[None]:
    try:
        yield
    finally:
        for p in procs:
            with contextlib.suppress(Exception):
                p.stop()


def only_probes(keep: set[str], services: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A lucid-exporter config with every probe off except ``keep`` (of redis, mongodb,
    elasticsearch, status, docker, logs, network, host) and only the given services."""
    from lucid_exporter.inventory import default_catalogue

    svc: dict[str, dict[str, Any]] = {n: {"enabled": False} for n in default_catalogue()}
    svc.update(services or {})
    cfg: dict[str, Any] = {"probes": {"min_interval_seconds": 0}, "services": svc}
    for section in ("redis", "mongodb", "elasticsearch", "status", "docker", "logs", "network", "host"):
        if section not in keep:
            cfg[section] = {"enabled": False}
    return cfg


def metric_values(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    from prometheus_client.parser import text_string_to_metric_families

    out = []
    for fam in text_string_to_metric_families(text.replace("# EOF\n", "")):
        for s in fam.samples:
            if s.name == name:
                out.append((dict(s.labels), float(s.value)))
    return out


def text_of(reply: Reply) -> str:
    """The exposition as text; OpenMetrics bodies are parsed with the text parser after their
    ``# EOF`` (prometheus_client's text parser reads both for what the harness needs)."""
    return reply.body.decode()


# -- the table --------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of the table. Time rows fill median/p90; other rows put their value in ``value``."""

    row: str
    side: str
    median: float | None = None
    p90: float | None = None
    ratio: str = ""
    cpu_ms: float | None = None
    backend_cpu_ms: float | None = None
    conns: float | None = None
    value: str = ""
    note: str = ""


def rows_from(row: str, stats: dict[str, Stats], reference: str | None = None,
              notes: dict[str, str] | None = None) -> list[Row]:
    """Table lines of one interleaved run; ratio = this side's median / the reference's."""
    out = []
    ref = stats[reference].median if reference else None
    for name, s in stats.items():
        ratio = f"{s.median / ref:.2f}x" if ref and name != reference else ("1" if name == reference else "")
        note = (notes or {}).get(name, "")
        size = f"{s.wire_bytes / 1024:.1f} KB{' gz' if s.encoding == 'gzip' else ''}"
        note = f"{note}; {size}" if note else size
        if s.reconnects:
            note += f"; {s.reconnects} reconnects"
        out.append(Row(row, name, s.median, s.p90, ratio, s.cpu_per_scrape * 1000,
                       None if s.backend_cpu_per_scrape is None else s.backend_cpu_per_scrape * 1000,
                       s.connections_per_scrape, note=note))
    return out


def fmt_ms(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v * 1000:.1f}" if v >= 0.1 else f"{v * 1000:.2f}"


def fmt_num(v: float | None, digits: int = 2) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def table(rows: list[Row]) -> str:
    lines = ["| row | side | median ms | p90 ms | ratio | exporter CPU ms/scrape | backend CPU ms/scrape "
             "| new backend conns/scrape | value | note |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r.row} | {r.side} | {fmt_ms(r.median)} | {fmt_ms(r.p90)} | {r.ratio} | "
                     f"{fmt_num(r.cpu_ms)} | {fmt_num(r.backend_cpu_ms)} | {fmt_num(r.conns)} | {r.value} | {r.note} |")
    return "\n".join(lines)


def save_json(rows: list[Row], path: Path, meta: dict[str, Any]) -> None:
    path.write_text(json.dumps({"meta": meta, "rows": [r.__dict__ for r in rows]}, indent=1))


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu_model": model, "loadavg_at_start": [round(x, 2) for x in load],
            "python": sys.version.split()[0], "host": socket.gethostname(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
