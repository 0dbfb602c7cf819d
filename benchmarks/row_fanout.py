"""Fan-out: a full scrape of N services that each answer in 50 ms, against its slowest probe.

Every HTTP service of the catalogue (22: the 21 Lucid services and Elasticsearch's health
check, each with its status checks, with the sim's monitoring token, wallets and CORS origins)
plus N - 22 added services (``services:`` with a url, health check only) each get their own
listener of the delaying fake (delaying_fake.py), which answers every request after 50 ms with
the simulator's reply. The cache is off (``probes.min_interval_seconds: 0``), so every scrape
runs every probe.

Sides, interleaved: ``/metrics`` (the full scrape) and ``/probe?target=T``, where T is the
probe target that is slowest when run alone (chosen after warm-up among the slowest of a full
scrape). Figure: full / slowest-alone, medians of the same run; goal of issue 14: ≤ 1.3.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import harness
from harness import (
    Backend,
    Row,
    Side,
    interleave,
    metric_values,
    rows_from,
    start_lucid,
    stopping,
)
from profiling import recording, summarise

from tests.conftest import start_sim
from tests.support import Proc, wait_until

HERE = Path(__file__).resolve().parent
SIZES = (25, 100, 250)
DELAY = 0.05
CLUSTERS = ("auth", "gateway", "blockchain", "sessions", "rdp", "nodes", "admin", "tron", "system")


class FakeStats:
    def __init__(self, port: int) -> None:
        from harness import KeepAliveClient

        self.client = KeepAliveClient(f"http://127.0.0.1:{port}/stats", {})

    def __call__(self) -> int:
        return int(self.stats()["connections"])

    def stats(self) -> dict[str, Any]:
        return dict(json.loads(self.client.get().body))


def run(tmp: Path, rounds: int, sizes: tuple[int, ...] = SIZES, profile_dir: Path | None = None) -> list[Row]:
    sim = start_sim(tmp)
    with stopping(sim.proc):
        cfg = sim.config
        sim_http = {name: s["url"] for name, s in cfg["services"].items() if s["url"].startswith("http://")}
        n_extra = max(sizes) - len(sim_http)
        health_only = sim_http["session-recorder"]
        upstreams = [*sim_http.values(), *[health_only] * n_extra]
        spec, ports_file = tmp / "fake.json", tmp / "fake-ports.json"
        spec.write_text(json.dumps({"delay": DELAY, "upstreams": upstreams}))
        fake = Proc([sys.executable, str(HERE / "delaying_fake.py"), str(spec), str(ports_file)], tmp / "fake.log")
        with stopping(fake):
            wait_until(lambda: ports_file.exists() or fake.p.poll() is not None, timeout=60, what="fake listening")
            if fake.p.poll() is not None:
                raise RuntimeError(f"delaying fake exited:\n{fake.output()[-2000:]}")
            got = json.loads(ports_file.read_text())
            extra_names = [f"bench-extra-{i:03d}" for i in range(n_extra)]
            fake_url = {name: f"http://127.0.0.1:{port}"
                        for name, port in zip([*sim_http, *extra_names], got["ports"], strict=True)}
            control = int(got["control"])
            out: list[Row] = []
            for n in sizes:
                out += _one_size(tmp, cfg, sim_http, fake_url, extra_names[: n - len(sim_http)], fake, control,
                                 rounds, profile_dir if n == max(sizes) else None)
            return out


def _config(cfg: dict[str, Any], sim_http: dict[str, str], fake_url: dict[str, str],
            extras: list[str]) -> dict[str, Any]:
    services: dict[str, Any] = {"mongodb": {"enabled": False}, "redis": {"enabled": False}}
    for name in sim_http:
        services[name] = {"url": fake_url[name]}
    for j, name in enumerate(extras):
        services[name] = {"cluster": CLUSTERS[j % len(CLUSTERS)], "url": fake_url[name]}
    status = dict(cfg["status"])
    # TronGrid is the tron-client listener in the sim's config: keep it behind the fake too.
    tron_sim = sim_http["tron-client"]
    if status.get("trongrid_url", "").rstrip("/") == tron_sim.rstrip("/"):
        status["trongrid_url"] = fake_url["tron-client"]
    return {"probes": {"min_interval_seconds": 0}, "services": services, "status": status,
            "mongodb": {"enabled": False}, "redis": {"enabled": False}, "elasticsearch": {"enabled": False},
            "docker": {"enabled": False}, "logs": {"enabled": False}, "network": {"enabled": False},
            "host": {"enabled": False}}


def _one_size(tmp: Path, cfg: dict[str, Any], sim_http: dict[str, str], fake_url: dict[str, str],
              extras: list[str], fake: Proc, control: int, rounds: int, profile_dir: Path | None) -> list[Row]:
    n = len(sim_http) + len(extras)
    config = _config(cfg, sim_http, fake_url, extras)
    lucid = start_lucid(tmp, config, name=f"fanout-{n}")
    base = start_lucid(tmp, config, name=f"fanout-{n}-baseline", baseline=True) if harness.BASELINE else None
    with stopping(lucid.proc, *([base.proc] if base else [])):
        full = Side(f"lucid /metrics ({n} services)", f"{lucid.url}/metrics", lucid.pid)
        before = ([Side(f"lucid {harness.BASELINE.label} /metrics ({n} services)", f"{base.url}/metrics", base.pid)]
                  if base is not None and harness.BASELINE is not None else [])
        for _ in range(3):  # pools open, every reply recorded by the fake
            warm = full.scrape()
            for b in before:
                b.scrape()
        text = warm.body.decode()
        durations = sorted(((v, lbl["target"]) for lbl, v in metric_values(text, "lucid_probe_duration_seconds")),
                           reverse=True)
        failing = [lbl["target"] for lbl, v in metric_values(text, "lucid_probe_success") if v != 1]
        probes = len(durations)
        # The slowest probe run alone: time the slowest few of a full scrape on their own.
        alone: list[tuple[float, str]] = []
        for _, target in durations[:4]:
            s = Side("probe", f"{lucid.url}/probe?target={target}", lucid.pid)
            times = []
            for _ in range(3):
                times.append(s.scrape().seconds)
            s.client.close()
            alone.append((sorted(times)[1], target))
        slowest = max(alone)[1]
        single = Side(f"lucid /probe?target={slowest} (slowest alone)", f"{lucid.url}/probe?target={slowest}",
                      lucid.pid)
        profile = profile_dir / f"fanout-{n}.raw" if profile_dir else None
        fake_stats = FakeStats(control)
        by_listener = fake_stats.stats()["by_listener"]
        t0 = time.monotonic()
        with recording(lucid.pid, profile) if profile else contextlib.nullcontext() as prof:
            stats = interleave([full, single, *before], rounds, warmup=1,
                               backend=Backend("fake", fake.p.pid, fake_stats))
        elapsed = time.monotonic() - t0
        after = fake_stats.stats()["by_listener"]
        names = [*sim_http, *extras]
        grew = sorted(((a - b, names[i]) for i, (a, b) in enumerate(zip(after, by_listener, strict=False))
                       if i < len(names) and a > b), reverse=True)
        reconnected = ", ".join(f"{name} {k}" for k, name in grew[:4]) or "none"
        for side in (full, single, *before):
            side.client.close()
        if profile_dir is not None and prof is not None:
            (profile_dir / f"fanout-{n}.txt").write_text(summarise(prof))
        f, s = stats[full.name], stats[single.name]
        rows = rows_from(f"fan-out {n} x 50 ms", stats, reference=single.name,
                         notes={full.name: f"{probes} probes; {len(failing)} failing"
                                           + (f" ({', '.join(failing[:3])})" if failing else ""),
                                single.name: f"{elapsed:.0f} s for {rounds} rounds; services given new "
                                             f"connections: {reconnected}"})
        rows[0].value = f"full / slowest {f.median / s.median:.2f}"
        for row in rows[2:]:  # the baseline's full scrape, against the same yardstick
            row.value = f"full / slowest {stats[row.side].median / s.median:.2f}"
        return rows
