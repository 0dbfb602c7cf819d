"""A fleet of Lucid stacks watched from one place, for tests: several sims, each with its exporter,
and around them the shipped fleet examples of deploy/fleet/, run with real binaries (Debian's
``prometheus``, ``prometheus-alertmanager`` and ``victoria-metrics``):

- ``prometheus-agent``: one Prometheus agent per stack remote-writing to a central Prometheus that
  evaluates the rules and sends to Alertmanager;
- ``victoriametrics``: one vmagent per stack writing to victoria-metrics, vmalert evaluating the
  same rule files against it and sending to Alertmanager;
- ``sharded``: two Prometheus replicas sharing the stacks' exporters by hashmod of ``stack``, each
  evaluating the rules for its own stacks.

The example files are rendered, not rewritten: addresses, ports, paths and the intervals (scrape,
evaluation, Alertmanager's waits, VictoriaMetrics' query latency offset) are substituted, the
rest is as shipped. The rules are the shipped ones with ``for:`` cut (scripts/drill_rules.py).
Alertmanager pages a webhook in the test process, which records every alert with its labels.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .conftest import Exporter, Sim, start_exporter, start_sim
from .e2e.monitoring import Webhook, shortened_rules
from .support import ROOT, Proc, free_port, http_get, wait_until

DEPLOY = ROOT / "deploy" / "fleet"
INTERVAL = "1s"  # scrape and evaluation interval in the tests (30 s as shipped); the scrape timeout too
SHIPPED = "shipped"  # keep the shipped intervals (benchmarks/bench_fleet.py)


def stack_names() -> list[str]:
    """The stacks of the shipped sharding example (their hashmod falls to both replicas)."""
    return [str(group["labels"]["stack"]) for group in yaml.safe_load((DEPLOY / "sharding" / "lucid-stacks.yml")
                                                                        .read_text())]


def hashmod(value: str, modulus: int) -> int:
    """Prometheus' ``hashmod`` relabel action: the last 8 bytes of the value's MD5, modulo."""
    return int.from_bytes(hashlib.md5(value.encode()).digest()[8:], "big") % modulus


# --- the stacks ---------------------------------------------------------------------------------


@dataclass
class FleetStack:
    name: str
    sim: Sim
    exporter: Exporter

    @property
    def target(self) -> str:
        return self.exporter.url.removeprefix("http://")

    def stop(self) -> None:
        self.exporter.proc.stop()
        self.sim.proc.stop()


# Scraped every second with a 1 s timeout: 0.8 s for the probes.
FAST_PROBES = {"min_interval_seconds": 0, "timeout_seconds": 0.7, "scrape_timeout_offset_seconds": 0.1}


def start_stacks(tmp: Path, names: list[str], probes: dict[str, Any] | None = None) -> list[FleetStack]:
    """A sim and its exporter per name; the exporters' ``probes`` section is FAST_PROBES unless given."""
    stacks: list[FleetStack] = []
    try:
        for name in names:
            d = tmp / name
            d.mkdir(parents=True, exist_ok=True)
            sim = start_sim(d)
            try:
                config = {**sim.config, "probes": FAST_PROBES if probes is None else probes}
                exporter = start_exporter(d, config)
            except BaseException:
                sim.proc.stop()
                raise
            stacks.append(FleetStack(name, sim, exporter))
    except BaseException:
        for s in stacks:
            s.stop()
        raise
    return stacks


# --- rendering the shipped examples -------------------------------------------------------------


def default_args(path: Path) -> list[str]:
    """The ARGS of a Debian /etc/default file, split as the shell does."""
    for line in path.read_text().splitlines():
        if line.startswith("ARGS="):
            return shlex.split(shlex.split(line)[0].partition("=")[2])
    raise AssertionError(f"{path}: no ARGS line")


def render_args(args: list[str], values: dict[str, str], listen: tuple[str, str] | None = None) -> list[str]:
    """``args`` with the value of each flag in ``values`` replaced (every one must be there), plus
    the listen address flag ``listen`` = (flag, address) when the shipped ARGS leave it default."""
    out, seen = [], set()
    for arg in args:
        flag, sep, _ = arg.partition("=")
        if sep and flag in values:
            out.append(f"{flag}={values[flag]}")
            seen.add(flag)
        elif sep and listen and flag == listen[0]:
            out.append(f"{flag}={listen[1]}")
            listen = None
        else:
            out.append(arg)
    missing = set(values) - seen
    assert not missing, f"flags not in the shipped ARGS: {missing}"
    if listen:
        out.append(f"{listen[0]}={listen[1]}")
    return out


def _write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _load(relative: str) -> Any:
    return yaml.safe_load((DEPLOY / relative).read_text())


def _stack_scrape_config(config: dict[str, Any], stack: FleetStack, interval: str) -> dict[str, Any]:
    """The shipped per-stack scrape config (agent or vmagent) for ``stack``."""
    if interval != SHIPPED:
        config["global"].update(scrape_interval=interval, scrape_timeout=interval)
    (job,) = config["scrape_configs"]
    job["static_configs"][0]["targets"] = [stack.target]
    (relabel,) = job["relabel_configs"]
    assert relabel["target_label"] == "stack", relabel
    relabel["replacement"] = stack.name
    return config


# --- processes ----------------------------------------------------------------------------------


def _ready(proc: Proc, url: str, what: str, timeout: float = 60) -> None:
    def up() -> bool:
        if proc.p.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.p.returncode}:\n{proc.output()[-3000:]}")
        try:
            return http_get(url, timeout=2)[0] == 200
        except OSError:
            return False

    wait_until(up, timeout=timeout, interval=0.2, what=f"{what} ready")


def _start(args: list[str], log: Path, ready_url: str, what: str, procs: list[Proc]) -> Proc:
    proc = Proc(args, log)
    procs.append(proc)
    _ready(proc, ready_url, what)
    return proc


def start_alertmanager(tmp: Path, hook: Webhook, procs: list[Proc]) -> str:
    """The shipped fleet Alertmanager, every receiver paging ``hook``, its waits cut to seconds."""
    config = _load("alertmanager.yml")
    config["route"].update(group_wait="0s", group_interval="1s", repeat_interval="1h")
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = f"http://127.0.0.1:{hook.port}/"
    cfg = _write(tmp / "alertmanager.yml", config)
    address = f"127.0.0.1:{free_port()}"
    _start(["prometheus-alertmanager", f"--config.file={cfg}", f"--storage.path={tmp / 'alertmanager-data'}",
            f"--web.listen-address={address}", "--cluster.listen-address="], tmp / "alertmanager.log",
           f"http://{address}/-/ready", "alertmanager", procs)
    return address


@dataclass
class Engine:
    """One topology, running: where to query series, where its rule engines list their alerts."""

    topology: str
    query_urls: list[str]  # Prometheus query API (central Prometheus, victoria-metrics, each shard)
    alert_urls: list[str]  # rule engines with /api/v1/alerts (central Prometheus, vmalert, each shard)
    webhook: Webhook
    procs: list[Proc]
    agents: list[str] = field(default_factory=list)  # the per-stack agents' own /metrics

    def query(self, expr: str, url: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for base in [url] if url else self.query_urls:
            status, body = http_get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
            data = json.loads(body) if status == 200 else {}
            if data.get("status") != "success":
                raise AssertionError(f"{base}: query {expr!r}: {body[:300]}")
            out += data["data"]["result"]
        return out

    def firing(self) -> list[dict[str, str]]:
        """The labels of every alert firing in the rule engines."""
        out = []
        for base in self.alert_urls:
            status, body = http_get(f"{base}/api/v1/alerts")
            assert status == 200, body[:300]
            # vmalert answers "alerts": null when there are none.
            out += [a["labels"] for a in json.loads(body)["data"]["alerts"] or [] if a["state"] == "firing"]
        return out

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.webhook.stop()


def _engine(tmp: Path, start: Callable[[Path, Webhook, list[Proc], str], Engine]) -> Engine:
    hook = Webhook()
    procs: list[Proc] = []
    try:
        am = start_alertmanager(tmp, hook, procs)
        return start(tmp, hook, procs, am)
    except BaseException:
        for proc in reversed(procs):
            proc.stop()
        hook.stop()
        raise


def _rules(tmp: Path, interval: str) -> list[Path]:
    """The shipped rules with for: cut, or (at the shipped intervals) as shipped."""
    return sorted((ROOT / "alerts").glob("*.rules.yml")) if interval == SHIPPED else shortened_rules(tmp / "rules")


def start_prometheus_agents(tmp: Path, stacks: list[FleetStack], interval: str = INTERVAL) -> Engine:
    """deploy/fleet/prometheus-agent: an agent per stack, remote-writing to a central Prometheus."""
    d = DEPLOY / "prometheus-agent"
    rules = _rules(tmp, interval)

    def start(tmp: Path, hook: Webhook, procs: list[Proc], am: str) -> Engine:
        central = _load("prometheus-agent/prometheus-central.yml")
        if interval != SHIPPED:
            central["global"]["evaluation_interval"] = interval
        central["rule_files"] = [str(rules[0].parent / "*.rules.yml")]
        central["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [am]
        address = f"127.0.0.1:{free_port()}"
        args = render_args(default_args(d / "prometheus-central.default"),
                           {"--config.file": str(_write(tmp / "central.yml", central)),
                            "--storage.tsdb.path": str(tmp / "central-data")},
                           listen=("--web.listen-address", address))
        _start(["prometheus", *args], tmp / "central.log", f"http://{address}/-/ready", "central prometheus", procs)
        central_url = f"http://{address}"
        agents = []
        for stack in stacks:
            agent = _stack_scrape_config(_load("prometheus-agent/prometheus-agent.yml"), stack, interval)
            (remote,) = agent["remote_write"]
            remote["url"] = f"{central_url}/api/v1/write"
            agent_address = f"127.0.0.1:{free_port()}"
            args = render_args(default_args(d / "prometheus-agent.default"),
                               {"--config.file": str(_write(tmp / f"agent-{stack.name}.yml", agent)),
                                "--storage.agent.path": str(tmp / f"agent-{stack.name}-data")},
                               listen=("--web.listen-address", agent_address))
            _start(["prometheus", *args], tmp / f"agent-{stack.name}.log", f"http://{agent_address}/-/ready",
                   f"agent of {stack.name}", procs)
            agents.append(f"http://{agent_address}")
        return Engine("prometheus-agent", [central_url], [central_url], hook, procs, agents)

    return _engine(tmp, start)


def start_victoriametrics(tmp: Path, stacks: list[FleetStack], interval: str = INTERVAL) -> Engine:
    """deploy/fleet/victoriametrics: a vmagent per stack, victoria-metrics, vmalert."""
    d = DEPLOY / "victoriametrics"
    rules = _rules(tmp, interval)
    shipped = interval == SHIPPED

    def start(tmp: Path, hook: Webhook, procs: list[Proc], am: str) -> Engine:
        vm = f"127.0.0.1:{free_port()}"
        args = render_args(default_args(d / "victoria-metrics.default"),
                           {"-storageDataPath": str(tmp / "vm-data"), "-httpListenAddr": vm,
                            **({} if shipped else {"-search.latencyOffset": interval})})
        _start(["victoria-metrics", *args], tmp / "victoria-metrics.log", f"http://{vm}/health", "victoria-metrics",
               procs)
        vmalert = f"127.0.0.1:{free_port()}"
        args = render_args(default_args(d / "vmalert.default"),
                           {"-rule": str(rules[0].parent / "*.rules.yml"), "-datasource.url": f"http://{vm}",
                            "-notifier.url": f"http://{am}", "-remoteWrite.url": f"http://{vm}",
                            "-remoteRead.url": f"http://{vm}", "-httpListenAddr": vmalert,
                            **({} if shipped else {"-evaluationInterval": interval})})
        _start(["vmalert", *args], tmp / "vmalert.log", f"http://{vmalert}/health", "vmalert", procs)
        agents = []
        for stack in stacks:
            scrape = _write(tmp / f"vmagent-{stack.name}.yml",
                            _stack_scrape_config(_load("victoriametrics/vmagent-scrape.yml"), stack, interval))
            agent = f"127.0.0.1:{free_port()}"
            args = render_args(default_args(d / "vmagent.default"),
                               {"-promscrape.config": str(scrape), "-remoteWrite.url": f"http://{vm}/api/v1/write",
                                "-remoteWrite.tmpDataPath": str(tmp / f"vmagent-{stack.name}-data"),
                                "-httpListenAddr": agent})
            _start(["vmagent", *args], tmp / f"vmagent-{stack.name}.log", f"http://{agent}/health",
                   f"vmagent of {stack.name}", procs)
            agents.append(f"http://{agent}")
        return Engine("victoriametrics", [f"http://{vm}"], [f"http://{vmalert}"], hook, procs, agents)

    return _engine(tmp, start)


def start_sharded(tmp: Path, stacks: list[FleetStack], interval: str = INTERVAL, replicas: int = 2) -> Engine:
    """deploy/fleet/sharding: Prometheus replicas sharing the stacks' exporters by hashmod."""
    d = DEPLOY / "sharding"
    rules = _rules(tmp, interval)

    def start(tmp: Path, hook: Webhook, procs: list[Proc], am: str) -> Engine:
        by_name = {s.name: s for s in stacks}
        groups = _load("sharding/lucid-stacks.yml")
        for group in groups:
            group["targets"] = [by_name[group["labels"]["stack"]].target]
        sd = _write(tmp / "lucid-stacks.yml", groups)
        urls = []
        for n in range(replicas):
            config = yaml.safe_load((d / f"prometheus-shard-{n}.yml").read_text())
            if interval != SHIPPED:
                config["global"].update(scrape_interval=interval, scrape_timeout=interval,
                                        evaluation_interval=interval)
            config["rule_files"] = [str(rules[0].parent / "*.rules.yml")]
            config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [am]
            (job,) = config["scrape_configs"]
            job["file_sd_configs"][0]["files"] = [str(sd)]
            address = f"127.0.0.1:{free_port()}"
            cfg = _write(tmp / f"shard-{n}.yml", config)
            _start(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp / f'shard-{n}-data'}",
                    f"--web.listen-address={address}"], tmp / f"shard-{n}.log", f"http://{address}/-/ready",
                   f"shard {n}", procs)
            urls.append(f"http://{address}")
        return Engine("sharded", urls, urls, hook, procs)

    return _engine(tmp, start)


TOPOLOGIES: dict[str, Callable[..., Engine]] = {
    "prometheus-agent": start_prometheus_agents,
    "victoriametrics": start_victoriametrics,
    "sharded": start_sharded,
}

