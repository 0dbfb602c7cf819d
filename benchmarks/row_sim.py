"""The full catalogue against the simulator, and one hanging service (was bench_scrape.py and
bench_status.py).

lucid-exporter with the sim's config (every health check, every status check, DNS/TCP and
host probes; the stores and docker are off, as in the sim's config), cache off. Sides:

- no fault: lucid ``/metrics``, against blackbox_exporter probing every HTTP health URL of the
  catalogue (``/probe?module=http_2xx&target=...``, one after another: the blackbox side's
  figure is the sum of its probes, what it costs to cover the health checks alone);
- xrdp hanging, Prometheus scrape timeout 3 s: lucid ``/metrics`` against blackbox probing the
  hanging xrdp health URL, both with ``X-Prometheus-Scrape-Timeout-Seconds: 3``.

Backend CPU is the simulator's; new connections are client ports seen on its listeners.
"""

from __future__ import annotations

from pathlib import Path

from harness import (
    Backend,
    KeepAliveClient,
    LoopbackConnections,
    Reply,
    Row,
    Side,
    interleave,
    metric_values,
    rows_from,
    start_go,
    start_lucid,
    stopping,
)

from tests.conftest import start_sim

BLACKBOX_CONFIG = """modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
"""


class SequentialSide(Side):
    """Several URLs scraped one after another as one 'scrape': times and CPU add up."""

    def __init__(self, name: str, urls: list[str], pid: int, scrape_timeout: float = 10.0) -> None:
        super().__init__(name, urls[0], pid, scrape_timeout)
        self.paths = [u.split("/", 3)[3] for u in urls]

    def scrape(self) -> Reply:
        total, wire, body = 0.0, 0, b""
        r = None
        for path in self.paths:
            r = self.client.get("/" + path)
            if r.status != 200:
                raise RuntimeError(f"{self.name}: /{path} answered HTTP {r.status}")
            total += r.seconds
            wire += r.wire_bytes
            body += r.body
        assert r is not None
        return Reply(total, 200, body, wire, r.encoding, r.content_type)


def run(tmp: Path, rounds: int) -> list[Row]:
    sim = start_sim(tmp)
    (tmp / "blackbox.yml").write_text(BLACKBOX_CONFIG)
    with stopping(sim.proc):
        cfg = {**sim.config, "probes": {"min_interval_seconds": 0}}
        lucid = start_lucid(tmp, cfg, name="lucid-sim")
        bb, bburl = start_go(tmp, "blackbox", ["prometheus-blackbox-exporter",
                                               f"--config.file={tmp / 'blackbox.yml'}",
                                               "--web.listen-address=127.0.0.1:{port}"])
        with stopping(lucid.proc, bb):
            health = {n: s["url"] + ("/_cluster/health" if n == "elasticsearch" else "/health")
                      for n, s in sim.config["services"].items() if s["url"].startswith("http://")}
            full = Side("lucid /metrics (sim, cache off)", f"{lucid.url}/metrics", lucid.pid)
            boxes = SequentialSide(f"blackbox, {len(health)} health URLs one after another",
                                   [f"{bburl}/probe?module=http_2xx&target={u}" for u in health.values()], bb.p.pid)
            # HTTP services only: the TCP health checks (MongoDB, Redis stand-ins) connect by design.
            port_of = {int(u.rsplit(":", 1)[1].split("/")[0]): n for n, u in health.items()}
            conns = LoopbackConnections(set(port_of))
            sim_backend = Backend("sim", sim.proc.p.pid, conns)
            stats = interleave([full, boxes], rounds, backend=sim_backend)
            # Which services get new connections from lucid: 20 more scrapes of lucid alone.
            conns()
            conns.by_port.clear()
            for _ in range(20):
                full.scrape()
            conns()
            reconnects = ", ".join(f"{port_of[p]} {n}" for p, n in conns.by_port.most_common(4)) or "none"
            plain = KeepAliveClient(f"{lucid.url}/metrics", {})
            text = plain.get().body.decode()
            plain.close()
            series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
            status_ok = metric_values(text, "lucid_probe_success")
            failing = [f"{lbl['probe']}/{lbl['target']}" for lbl, v in status_ok if v != 1]
            out = rows_from("sim: full catalogue", stats, reference=boxes.name,
                            notes={full.name: f"{len(status_ok)} probes, {series} series, "
                                              f"{len(failing)} failing {' '.join(failing[:3])}; new "
                                              f"connections in 20 more scrapes: {reconnects}"})
            for s in (full, boxes):
                s.client.close()

            sim.fault("xrdp", "hang")
            try:
                hung = Side("lucid /metrics, xrdp hanging", f"{lucid.url}/metrics", lucid.pid, scrape_timeout=3)
                box = Side("blackbox /probe xrdp hanging", f"{bburl}/probe?module=http_2xx&target={health['xrdp']}",
                           bb.p.pid, scrape_timeout=3)
                stats = interleave([hung, box], max(3, rounds // 4), warmup=1, backend=sim_backend)
            finally:
                sim.clear()
            out += rows_from("sim: xrdp hanging, 3 s scrape timeout", stats, reference=box.name)
            return out
