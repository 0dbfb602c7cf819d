"""A real Prometheus and Alertmanager around the exporter, and a webhook receiver that records pages.

Prometheus loads the shipped rules with their ``for:`` durations shortened, so that a fault
reaches the webhook in seconds; the expressions and thresholds are the shipped ones.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from ..support import ROOT, Proc, free_port, http_get, load_script, wait_port, wait_until

RUNBOOK_PREFIX = "https://github.com/lucid-exporter/lucid-exporter/blob/main/docs/runbooks/"


@dataclass(frozen=True)
class Drill:
    service: str
    fault: str
    alert: str
    cluster: str
    problem: str
    resolves: bool = True  # within the drill, once cleared (windowed alerts take longer)


def shipped_severity(alert: str) -> str:
    for f in (Path(__file__).resolve().parents[2] / "alerts").glob("*.rules.yml"):
        for group in yaml.safe_load(f.read_text())["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == alert:
                    return str(rule["labels"]["severity"])
    raise AssertionError(f"{alert} is not in the shipped rules")


def page_and_resolve(mon: Monitoring, drills: Sequence[Drill], inject: Callable[[Drill], None],
                      clear: Callable[[], None], timeout: float = 60) -> dict[str, float]:
    """Inject every drill's fault, wait for each alert at the webhook and check it, clear, wait for
    every resolution. Returns the seconds from injection to the webhook, per alert."""
    injected: dict[Drill, float] = {}
    for d in drills:
        injected[d] = time.time()
        inject(d)

    def fired(d: Drill) -> tuple[float, dict] | None:  # type: ignore[type-arg]
        # An alert per service or container (LucidServiceDown, ...) must be the drilled one's.
        for at, alert in mon.webhook.alerts(d.alert, "firing", since=injected[d]):
            labels = alert["labels"]
            if labels.get("service", d.service) == d.service and \
                    labels.get("container", f"lucid-{d.service}") == f"lucid-{d.service}":
                return at, alert
        return None

    timings: dict[str, float] = {}
    try:
        for d in drills:
            at, alert = wait_until(lambda d=d: fired(d), timeout=timeout, interval=0.5, what=f"{d.alert} paged")
            timings[d.alert] = at - injected[d]
            labels, ann = alert["labels"], alert["annotations"]
            assert labels["severity"] == shipped_severity(d.alert), d
            assert labels["cluster"] == d.cluster, d
            assert labels["problem"] == d.problem, d
            assert ann["runbook_url"].startswith(RUNBOOK_PREFIX) and ann["runbook_url"].endswith(f"#{d.problem}"), ann
            assert ann["summary"] and ann["description"]
    finally:
        cleared = time.time()
        clear()
    for d in drills:
        if d.resolves:
            wait_until(lambda d=d: mon.webhook.alerts(d.alert, "resolved", since=cleared), timeout=60,
                       what=f"{d.alert} resolved")
    report = "\n".join(f"{name:<40} {seconds:6.1f} s" for name, seconds in timings.items())
    print("\nseconds from fault injection to the webhook:\n" + report)
    return timings


def _drill_rules_module():  # type: ignore[no-untyped-def]
    return load_script(ROOT / "scripts" / "drill_rules.py")


def shortened_rules(dest: Path, for_seconds: int = 2, window_scale: float = 1.0,
                    min_window_seconds: float = 20.0) -> list[Path]:
    """The shipped rules with every ``for:`` cut to ``for_seconds`` and, with ``window_scale``, their
    time windows scaled down (scripts/drill_rules.py)."""
    return list(_drill_rules_module().shortened_rules(dest, for_seconds, 1, window_scale, min_window_seconds))


def shipped_rules() -> list[Path]:
    return sorted((ROOT / "alerts").glob("*.rules.yml"))


@dataclass
class Webhook:
    """Alertmanager's webhook receiver: every notification, in order of arrival."""

    port: int = field(default_factory=free_port)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook.notifications.append(json.loads(body))
                hook.received_at.append(time.time())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self, name: str, status: str, since: float = 0.0) -> list[tuple[float, dict[str, Any]]]:
        found = []
        for at, n in zip(list(self.received_at), list(self.notifications), strict=True):
            if at < since:
                continue
            for a in n.get("alerts", []):
                if a["labels"].get("alertname") == name and a["status"] == status:
                    found.append((at, a))
        return found

    def alerts_between(self, start: float, end: float, status: str) -> list[tuple[float, dict[str, Any]]]:
        """(arrival, alert) of every alert of ``status`` notified from ``start`` to ``end``."""
        return [(at, a) for at, n in zip(list(self.received_at), list(self.notifications), strict=True)
                if start <= at <= end for a in n.get("alerts", []) if a["status"] == status]

    def alerts_since(self, since: float, status: str) -> list[str]:
        return [a["labels"]["alertname"] for at, n in zip(list(self.received_at), list(self.notifications), strict=True)
                if at >= since for a in n.get("alerts", []) if a["status"] == status]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Monitoring:
    prometheus: Proc
    alertmanager: Proc
    webhook: Webhook
    prometheus_url: str
    alertmanager_url: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        status, body = http_get(f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            data = {}
        if status != 200 or data.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {body[:300]}")
        return list(data["data"]["result"])

    def firing(self) -> list[dict[str, Any]]:
        return self.alerts("firing")

    def alerts(self, *states: str) -> list[dict[str, Any]]:
        """Prometheus' alerts in one of ``states`` (pending, firing; all when none is given)."""
        _, body = http_get(f"{self.prometheus_url}/api/v1/alerts")
        return [a for a in json.loads(body)["data"]["alerts"] if not states or a["state"] in states]

    def wait_scraped(self, timeout: float = 30) -> None:
        def scraped() -> bool:
            try:
                return bool(self.query('up{job="lucid-exporter"} == 1'))
            except AssertionError:  # Prometheus answers 503 while it starts
                return False

        wait_until(scraped, timeout, what="exporter scraped")

    def stop(self) -> None:
        self.prometheus.stop()
        self.alertmanager.stop()
        self.webhook.stop()


def start_monitoring(tmp: Path, exporter_url: str, rules: list[Path], scrape_timeout: str = "1s",
                     scrape_interval: str = "1s", evaluation_interval: str = "1s") -> Monitoring:
    hook = Webhook()
    am_port, prom_port = free_port(), free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    am_cfg = tmp / "alertmanager.yml"
    am_cfg.write_text(yaml.safe_dump({
        "route": {"receiver": "drill", "group_by": ["alertname", "cluster", "service"], "group_wait": "0s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "drill", "webhook_configs": [
            {"url": f"http://127.0.0.1:{hook.port}/", "send_resolved": True}]}],
    }))
    am = Proc(["prometheus-alertmanager", f"--config.file={am_cfg}", f"--storage.path={tmp / 'am-data'}",
               f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="], tmp / "alertmanager.log")
    target = re.sub(r"^https?://", "", exporter_url)
    prom_cfg = tmp / "prometheus.yml"
    prom_cfg.write_text(yaml.safe_dump({
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval,
                   "scrape_timeout": scrape_timeout},
        "rule_files": [str(r) for r in rules],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [{"job_name": "lucid-exporter", "static_configs": [{"targets": [target]}]}],
    }))
    prom = Proc(["prometheus", f"--config.file={prom_cfg}", f"--storage.tsdb.path={tmp / 'prom-data'}",
                 f"--web.listen-address=127.0.0.1:{prom_port}", "--rules.alert.resend-delay=1s"],
                tmp / "prometheus.log")
    try:
        wait_port(am_port, proc=am.p, timeout=30)
        wait_port(prom_port, proc=prom.p, timeout=30)
    except Exception:
        prom.stop()
        am.stop()
        hook.stop()
        raise
    return Monitoring(prom, am, hook, f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}")
