"""Fleet sizing: the per-stack figures of docs/fleet.md, measured, and their extrapolation to 1,000 stacks.

1. Series per stack, from a healthy stack's /metrics: the sim alone (its HTTP services and host
   files), and with --full also a full stack: the sim's 25 containers on a docker engine and the
   real foundation stores (run that under ``flock /tmp/lucid-docker.lock``: the containers have
   fixed names).
2. Three sim stacks watched through the shipped deploy/fleet examples at their shipped intervals
   (30 s scrape and evaluation), both topologies at once for --minutes: samples per second and
   remote-write bytes per second of each stack's agent (Prometheus agent:
   prometheus_remote_storage_bytes_total and _samples_total; vmagent:
   vmagent_remotewrite_bytes_sent_total and _rows_pushed_after_relabel_total), and the rule
   evaluation time of one round in the central engine (Prometheus:
   prometheus_rule_group_duration_seconds, per group and round; vmalert: the sum over its groups of
   vmalert_iteration_duration_seconds, which includes each query's round trip to victoria-metrics).

Each engine is measured over one stack and over three: a rule round costs a fixed part per rule
plus a part that grows with the series it reads; the difference gives the cost per stack, scaled
to a full stack's series, and the 1,000-stack column extrapolates linearly. Samples and bytes scale
with the series. Run: .venv/bin/python benchmarks/bench_fleet.py [--minutes 2] [--full]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from tests.conftest import start_exporter, start_sim
from tests.servers_fleet import (
    SHIPPED,
    Engine,
    FleetStack,
    stack_names,
    start_prometheus_agents,
    start_stacks,
    start_victoriametrics,
)
from tests.support import ROOT, http_get, parse_metrics

SCRAPE_SECONDS = 30  # deploy/fleet: scrape_interval and evaluation_interval
STACKS = 1000
# The probes as shipped (deploy/lucid-exporter.yml).
PROBES = yaml.safe_load((ROOT / "deploy" / "lucid-exporter.yml").read_text())["probes"]


def metrics(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, body = http_get(f"{url}/metrics", timeout=60)
    assert status == 200, body[:300]
    return parse_metrics(body)


def total(series: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return sum(v for (n, lbl), v in series.items() if n == name and set(labels.items()) <= lbl)


def sim_stack_series(tmp: Path) -> int:
    tmp.mkdir(parents=True)
    sim = start_sim(tmp)
    try:
        exp = start_exporter(tmp, {**sim.config, "probes": PROBES})
        try:
            time.sleep(2)
            return len(metrics(exp.url))
        finally:
            exp.proc.stop()
    finally:
        sim.proc.stop()


def full_stack_series(tmp: Path) -> int:
    """The sim with its containers on a docker engine, and the real foundation stores."""
    import uuid

    import docker

    from tests.fullstack import start_foundation
    from tests.servers_docker import DockerEnv, start_docker_sim, start_engine, stop_engine

    tmp.mkdir(parents=True)
    url, engine = start_engine(tmp)
    try:
        client = docker.DockerClient(base_url=url, timeout=120)
        env = DockerEnv(url, client, prefix=f"lucidbench-{uuid.uuid4().hex[:6]}-")
        sim = start_docker_sim(tmp, env)
        try:
            found = start_foundation(tmp / "foundation")
            try:
                exp = start_exporter(tmp, found.config({**sim.config, "probes": PROBES}))
                try:
                    time.sleep(5)  # log and container counters after their first round
                    return len(metrics(exp.url))
                finally:
                    exp.proc.stop()
            finally:
                found.stop()
        finally:
            sim.proc.stop(timeout=60)
            env.client.close()
    finally:
        if engine is not None:
            stop_engine(engine)


def agent_counters(eng: Engine) -> list[tuple[float, float]]:
    """(bytes, samples) sent so far by each stack's agent."""
    out = []
    for url in eng.agents:
        m = metrics(url)
        if eng.topology == "prometheus-agent":
            out.append((total(m, "prometheus_remote_storage_bytes_total"),
                        total(m, "prometheus_remote_storage_samples_total")))
        else:
            out.append((total(m, "vmagent_remotewrite_bytes_sent_total"),
                        total(m, "vmagent_remotewrite_rows_pushed_after_relabel_total")))
    return out


def rule_counters(eng: Engine) -> dict[str, tuple[float, float]]:
    """Per rule group: (seconds spent evaluating, evaluations) so far."""
    m = metrics(eng.alert_urls[0])
    if eng.topology == "prometheus-agent":
        # One summary over every group; each group evaluates once per round.
        groups = {dict(lbl)["rule_group"] for (n, lbl) in m if n == "prometheus_rule_group_last_duration_seconds"}
        spent = total(m, "prometheus_rule_group_duration_seconds_sum")
        rounds = total(m, "prometheus_rule_group_duration_seconds_count") / max(1, len(groups))
        return {"all": (spent, rounds)}
    groups = {dict(lbl)["group"] for (n, lbl) in m if n == "vmalert_iteration_duration_seconds_count"}
    return {g: (total(m, "vmalert_iteration_duration_seconds_sum", group=g),
                total(m, "vmalert_iteration_duration_seconds_count", group=g)) for g in groups}


def rule_round(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]) -> float:
    """Seconds of rule evaluation per round (every group once), over the window."""
    return sum((after[g][0] - before[g][0]) / max(1.0, after[g][1] - before[g][1]) for g in after)


@dataclass
class Measured:
    bytes_per_sample: dict[str, float]
    rule_round: dict[str, float]
    head_series: float


def measure(tmp: Path, stacks: list[FleetStack], minutes: float) -> Measured:
    """Both topologies at the shipped intervals over ``stacks``: warm-up, then a window."""
    engines: list[Engine] = []
    try:
        engines = [start_prometheus_agents(tmp / "prom", stacks, SHIPPED),
                   start_victoriametrics(tmp / "vm", stacks, SHIPPED)]
        time.sleep(75)  # two scrapes and rounds
        sent0 = [agent_counters(e) for e in engines]
        rules0 = [rule_counters(e) for e in engines]
        time.sleep(minutes * 60)
        sent1 = [agent_counters(e) for e in engines]
        rules1 = [rule_counters(e) for e in engines]
        per_sample, rounds = {}, {}
        for e, b, a, r0, r1 in zip(engines, sent0, sent1, rules0, rules1, strict=True):
            sent = sum(x[0] - y[0] for x, y in zip(a, b, strict=True))
            samples = sum(x[1] - y[1] for x, y in zip(a, b, strict=True))
            per_sample[e.topology] = sent / max(1.0, samples)
            rounds[e.topology] = rule_round(r0, r1)
        head = total(metrics(engines[0].query_urls[0]), "prometheus_tsdb_head_series")
        return Measured(per_sample, rounds, head)
    finally:
        for e in engines:
            e.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=2.0, help="each measuring window, after a warm-up")
    ap.add_argument("--full", action="store_true", help="also count a full stack's series (docker engine)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lucid-bench-fleet-") as d:
        tmp = Path(d)
        sim_series = sim_stack_series(tmp / "one")
        full_series = full_stack_series(tmp / "full") if args.full else None
        stacks: list[FleetStack] = start_stacks(tmp / "fleet", stack_names(), probes=PROBES)
        try:
            one = measure(tmp / "1", stacks[:1], args.minutes)
            three = measure(tmp / "3", stacks, args.minutes)
        finally:
            for s in stacks:
                s.stop()

    per_stack = full_series or sim_series
    print(f"series per stack: {sim_series} (sim: HTTP services and host)"
          + (f", {full_series} (full: plus 25 containers and the foundation stores)" if full_series else ""))
    print(f"central Prometheus head series: {one.head_series:.0f} for 1 sim stack, {three.head_series:.0f} for 3")
    print(f"\n{'figure':<60}{'per stack':>12}{f'{STACKS} stacks':>14}")
    samples_per_s = (per_stack + 5) / SCRAPE_SECONDS  # + up, scrape_duration_seconds and 3 more per target
    print(f"{'series':<60}{per_stack:>12}{per_stack * STACKS:>14}")
    print(f"{'samples/s at a 30 s scrape interval':<60}{samples_per_s:>12.1f}{samples_per_s * STACKS:>14.0f}")
    for topology, per_sample in three.bytes_per_sample.items():
        rate = per_sample * samples_per_s
        label = f"remote-write bytes/s ({topology}, {per_sample:.1f} B/sample)"
        print(f"{label:<60}{rate:>12.0f}{rate * STACKS:>14.0f}")
    # A round's cost: a fixed part per rule plus a part per stack's series; the slope from 1 to 3
    # sim stacks, scaled to a full stack's series.
    for topology in three.rule_round:
        r1, r3 = one.rule_round[topology], three.rule_round[topology]
        slope = (r3 - r1) / 2 * per_stack / sim_series
        name = "central Prometheus" if topology == "prometheus-agent" else "vmalert (sum over groups)"
        label = f"rule round, {name}: {r1 * 1000:.1f} ms / {r3 * 1000:.1f} ms (1 / 3 stacks)"
        if r3 <= r1:  # the per-stack part is below this measurement's resolution
            print(f"{label:<60}{'not seen':>12}{'-':>14}")
        else:
            print(f"{label:<60}{f'{slope * 1000:.2f} ms':>12}{f'{r1 + slope * (STACKS - 1):.2f} s':>14}")
    print(f"\n(windows of {args.minutes:.0f} min; per-stack rule cost = (3-stack round - 1-stack round) / 2, "
          f"scaled x{per_stack / sim_series:.1f} to a full stack's series)")


if __name__ == "__main__":
    main()
