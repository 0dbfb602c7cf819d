"""Fire drill: the sim, the real foundation stores (Debian redis-server with maxmemory 1 GB and
allkeys-lru, SecantusDB with authentication, osmem-server behind a proxy), the exporter, a real
Prometheus with the shipped rules and a real Alertmanager paging a webhook.

Every fault of the drill table (tests/e2e/drill.py) that does not need a Docker engine: each sim fault
kind and each real-server fault pages its alert with its labels, problem and runbook anchor, pages
nothing it must not (an outage pages once), and resolves once cleared. The seconds to fire and to
resolve are printed as a table (``-s``); docs/alerts.md has the measured one. The containers' faults
are in test_container_drill.py, the healthy stack with the shipped ``for:`` in test_healthy_window.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from ..conftest import Sim, start_sim
from ..fullstack import MONGO_USER, Foundation, start_foundation
from ..support import EXPORTER, Proc, free_port, http_send, wait_port, wait_until
from . import drill
from .faultproxy import FaultProxy
from .monitoring import Monitoring, shortened_rules, start_monitoring

pytestmark = pytest.mark.e2e

SLOW_HEALTH_SECONDS = 2.5  # LucidServiceSlow: > 2 s; the drill's probe timeout is 3.6 s (70 %, not near it)
FILL_VALUE = b"x" * (512 * 1024)


@dataclass
class ExporterProcess:
    """``lucid-exporter serve`` on a fixed port, so that it can be killed and started again there."""

    tmp: Path
    config: dict[str, Any]
    port: int = field(default_factory=free_port)
    proc: Proc | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        path = self.tmp / "exporter.yml"
        path.write_text(yaml.safe_dump(self.config))
        self.starts += 1
        self.proc = Proc([*EXPORTER, "serve", "--config", str(path), "--web.listen-address", f"127.0.0.1:{self.port}"],
                         self.tmp / f"exporter-{self.starts}.log")
        wait_port(self.port, proc=self.proc.p)

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.p.pid, signal.SIGKILL)
        self.proc.p.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


class Listener:
    """A TCP target that is no service's address: a port that accepts connections (and closes them),
    until the drill closes it. Connections must be accepted: a full backlog makes connects time out."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sock: socket.socket | None = None
        self.thread: threading.Thread | None = None
        self.open()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def open(self) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        self.sock = s
        self.thread = threading.Thread(target=self._accept, args=(s,), daemon=True)
        self.thread.start()

    @staticmethod
    def _accept(s: socket.socket) -> None:
        while True:
            try:
                conn, _ = s.accept()
            except OSError:  # closed by close()
                return
            conn.close()

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
            self.sock = None
        if self.thread is not None:
            self.thread.join(5)
            self.thread = None


class RedisWriter:
    """A client writing to Redis (db 1) every 0.2 s, as Lucid's services would; counts what Redis refuses."""

    def __init__(self, port: int) -> None:
        self.client = redis.Redis(host="127.0.0.1", port=port, db=1)
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(0.2):
            n += 1
            try:
                self.client.set(f"drill:write:{n}", FILL_VALUE)
            except redis.exceptions.ResponseError:  # OOM command not allowed when used memory > 'maxmemory'
                self.refused += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.client.close()


@dataclass
class DrillStack:
    tmp: Path
    sim: Sim
    foundation: Foundation
    es_proxy: FaultProxy
    slow_proxy: FaultProxy
    listener: Listener
    exporter: ExporterProcess
    mon: Monitoring
    healthy_active: list[str]  # alerts pending or firing over the healthy window, before any fault
    writer: RedisWriter | None = None

    def redis(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.foundation.redis.port, db=db)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillStack]:
    tmp = tmp_path_factory.mktemp("drill")
    sim = start_sim(tmp)
    opened: list[Callable[[], None]] = [lambda: sim.proc.stop()]
    try:
        found = start_foundation(tmp / "foundation")
        opened.append(found.stop)
        es_proxy = FaultProxy(found.es.url)
        opened.append(es_proxy.stop)
        slow_proxy = FaultProxy(sim.config["services"]["session-api"]["url"])
        opened.append(slow_proxy.stop)
        listener = Listener()
        opened.append(listener.close)
        cfg = found.config(sim.config)
        cfg["services"]["elasticsearch"] = {"url": es_proxy.url}
        cfg["elasticsearch"]["url"] = es_proxy.url
        cfg["services"]["session-api"] = {"url": slow_proxy.url}
        # The guide's inter-service targets (MongoDB and Redis, labelled with their service), the sim's
        # RDP ports, and a target that is no service's.
        cfg["network"] = {**cfg.get("network", {}), "tcp_targets": [
            *sim.config["network"]["tcp_targets"], f"127.0.0.1:{found.mongo.port}", f"127.0.0.1:{found.redis.port}",
            listener.address]}
        cfg["probes"] = dict(drill.EXPORTER_PROBES)
        exporter = ExporterProcess(tmp, cfg)
        exporter.start()
        opened.append(exporter.stop)
        rules = shortened_rules(tmp / "rules", drill.FOR_SECONDS, drill.WINDOW_SCALE, drill.MIN_WINDOW_SECONDS)
        scrape = f"{drill.SCRAPE_SECONDS}s"
        mon = start_monitoring(tmp / "mon", exporter.url, rules, scrape_timeout=scrape, scrape_interval=scrape)
        opened.append(mon.stop)
        mon.wait_scraped(timeout=60)
        s = DrillStack(tmp, sim, found, es_proxy, slow_proxy, listener, exporter, mon, drill.healthy_window(mon))
        yield s
        if s.writer is not None:
            s.writer.stop()
    finally:
        for close in reversed(opened):
            with contextlib.suppress(Exception):
                close()
        drill.print_table("fire drill (sim and real servers)", [o for o in drill.RESULTS if o.row.stack == "sim"])


# -- injecting and clearing ----------------------------------------------------------------------------
def _signal(proc: Proc | None, sig: signal.Signals) -> None:
    assert proc is not None
    os.killpg(proc.p.pid, sig)


def _fill_redis(s: DrillStack, until: Callable[[redis.Redis], bool]) -> None:
    """Writes 512 KB values into db 1 until ``until`` holds (evictions started, or writes refused)."""
    r = s.redis(db=1)
    n = 0
    try:
        while True:
            pipe = r.pipeline(transaction=False)
            for i in range(32):
                pipe.set(f"drill:fill:{n + i}", FILL_VALUE)
            n += 32
            with contextlib.suppress(redis.exceptions.ResponseError):
                pipe.execute(raise_on_error=False)
            if until(r) or n > 8000:
                return
    finally:
        r.close()


def _evicting(r: redis.Redis) -> bool:
    return int(r.info("stats")["evicted_keys"]) > 100


def _refusing(r: redis.Redis) -> bool:
    try:
        r.set("drill:probe-write", FILL_VALUE)
    except redis.exceptions.ResponseError:
        return True
    return False


def _es(s: DrillStack, method: str, path: str, body: str = "") -> None:
    import urllib.request

    req = urllib.request.Request(s.foundation.es.url + path, data=body.encode() or None, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def _mongo_password(s: DrillStack, current: str, new: str) -> None:
    from pymongo import MongoClient

    c: MongoClient[dict[str, Any]] = MongoClient(
        s.foundation.mongo.uri(), directConnection=True, serverSelectionTimeoutMS=10000, username=MONGO_USER[0],
        password=current)
    try:
        c.admin.command("updateUser", MONGO_USER[0], pwd=new)
    finally:
        c.close()


ROTATED_PASSWORD = "drill-rotated-pass"


def inject(s: DrillStack, row: drill.Row) -> None:
    if not row.real:
        s.sim.fault(row.target, row.fault)
        return
    f = s.foundation
    match row.fault:
        case "redis_hung":
            _signal(f.redis.proc, signal.SIGSTOP)
        case "mongodb_hung":
            _signal(f.mongo.proc, signal.SIGSTOP)
        case "elasticsearch_hung":
            _signal(f.es.proc, signal.SIGSTOP)
        case "tcp_target_closed":
            s.listener.close()
        case "redis_full_allkeys_lru":
            _fill_redis(s, _evicting)
            s.writer = RedisWriter(f.redis.port)  # keeps writing: Redis keeps evicting, refuses nothing
        case "redis_full_noeviction":
            s.redis().config_set("maxmemory-policy", "noeviction")
            _fill_redis(s, _refusing)
            s.writer = RedisWriter(f.redis.port)  # keeps writing: Redis keeps refusing
        case "slow_health_endpoint":
            s.slow_proxy.set("slow", SLOW_HEALTH_SECONDS)
        case "elasticsearch_yellow":
            _es(s, "PUT", "/drill-yellow", '{"settings": {"number_of_replicas": 1}}')
        case "elasticsearch_red":
            _es(s, "PUT", "/drill-red", '{"settings": {"number_of_replicas": 0}}')
            _es(s, "POST", "/drill-red/_close")
        case "mongodb_wrong_password":
            # The password is rotated on the server and MongoDB restarted: the exporter's next
            # connections log in with the old one.
            _mongo_password(s, MONGO_USER[1], ROTATED_PASSWORD)
            f.mongo.restart()
        case "mongodb_stopped":
            f.mongo.stop()
        case "garbage_body":
            s.es_proxy.set("garbage")
        case "http_500_body":
            s.es_proxy.set("error")
        case "exporter_killed":
            s.exporter.kill()
        case _:
            raise AssertionError(f"no injection for {row.fault}")


def clear(s: DrillStack, row: drill.Row) -> None:
    if not row.real:
        status, body = http_send(f"{s.sim.control}/faults/{row.target}/{row.fault}", "DELETE")
        assert status == 200, body
        return
    f = s.foundation
    match row.fault:
        case "redis_hung":
            _signal(f.redis.proc, signal.SIGCONT)
        case "mongodb_hung":
            _signal(f.mongo.proc, signal.SIGCONT)
        case "elasticsearch_hung":
            _signal(f.es.proc, signal.SIGCONT)
        case "tcp_target_closed":
            s.listener.open()
        case "redis_full_allkeys_lru" | "redis_full_noeviction":
            if s.writer is not None:
                s.writer.stop()
                s.writer = None
            s.redis(db=1).flushdb()
            s.redis().config_set("maxmemory-policy", "allkeys-lru")
        case "slow_health_endpoint" | "garbage_body" | "http_500_body":
            (s.slow_proxy if row.fault == "slow_health_endpoint" else s.es_proxy).set("pass")
        case "elasticsearch_yellow":
            _es(s, "DELETE", "/drill-yellow")
        case "elasticsearch_red":
            _es(s, "POST", "/drill-red/_open")
            _es(s, "DELETE", "/drill-red")
        case "mongodb_wrong_password":
            _mongo_password(s, ROTATED_PASSWORD, MONGO_USER[1])
        case "mongodb_stopped":
            f.mongo.start()
        case "exporter_killed":
            s.exporter.start()
        case _:
            raise AssertionError(f"no clearing for {row.fault}")


# -- the tests ---------------------------------------------------------------------------------------
def test_the_healthy_stack_pages_nothing_with_the_drill_rules(stack: DrillStack) -> None:
    """The short version of test_healthy_window.py, taken by the fixture before any fault: every drill
    rule passes its for: twice over and nothing is pending or firing."""
    assert stack.healthy_active == [], f"alerts pending or firing on a healthy stack: {stack.healthy_active}"
    assert stack.mon.query("lucid_service_up == 1") and stack.mon.query("lucid_redis_up == 1")


@pytest.mark.parametrize("batch", drill.batches("sim"))
def test_each_fault_pages_its_alert_once_and_resolves(stack: DrillStack, batch: str) -> None:
    rows = drill.rows_of(batch)
    advance = max(r.advance for r in rows)

    def checks_before_clear() -> None:
        if any(r.fault == "redis_full_allkeys_lru" for r in rows):
            _assert_full_cache_evicts_and_refuses_nothing(stack)
        if any(r.fault == "redis_full_noeviction" for r in rows):
            assert stack.writer is not None and stack.writer.refused > 0

    outcomes = drill.run_batch(stack.mon, rows, lambda r: inject(stack, r), lambda r: clear(stack, r),
                               after_inject=(lambda: stack.sim.advance(advance)) if advance else (lambda: None),
                               before_clear=checks_before_clear)
    for o in outcomes:
        assert set(o.fired) == {e.alert for e in o.row.expect}
        assert set(o.resolved) == {e.alert for e in o.row.expect}


def _assert_full_cache_evicts_and_refuses_nothing(s: DrillStack) -> None:
    """What the allkeys-lru row stands for, as Prometheus saw it: full, evicting, no OOM error."""
    window = f"{int(drill.SCRAPE_SECONDS * 10)}s"
    assert s.mon.query("lucid_redis_memory_used_bytes / lucid_redis_memory_max_bytes > 0.9")
    assert s.mon.query(f"increase(lucid_redis_evicted_keys_total[{window}]) > 0")
    assert s.mon.query(f"increase(lucid_redis_oom_errors_total[{window}]) == 0")
    assert s.writer is not None and s.writer.refused == 0
    wait_until(lambda: s.mon.query('lucid_redis_maxmemory_policy{policy="allkeys-lru"} == 1'), what="allkeys-lru")


def test_runbook_urls_resolve_to_runbook_headings() -> None:
    root = Path(__file__).resolve().parents[2] / "docs" / "runbooks"
    from lucid_exporter import catalogue

    for r in drill.ROWS:
        for e in r.expect:
            text = (root / f"{catalogue.problems()[e.problem].cluster}.md").read_text()
            headings = "\n".join(line for line in text.splitlines() if line.startswith("#"))
            assert e.problem in headings.lower().replace(" ", "-"), e
