"""The example Alertmanager configuration (alerts/alertmanager.example.yml) in a real Alertmanager
(Debian's prometheus-alertmanager): an outage pages once, as the outage.

Alerts are posted with the labels the shipped rules give them (a service-down alert names its
service; LucidProbeFailing takes the service from its probe's target) and Alertmanager's own API
says which ones its inhibition rules suppress. amtool cannot test inhibitions: only a running
Alertmanager applies them.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lucid_exporter import rules

from ..support import ROOT, Proc, free_port, http_get, wait_until

pytestmark = pytest.mark.integration

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"


@pytest.fixture
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Alertmanager per test: an alert posted by one test (LucidMostServicesDown) must not inhibit
    another's."""
    tmp = tmp_path_factory.mktemp("alertmanager")
    config = yaml.safe_load((ROOT / "alerts" / "alertmanager.example.yml").read_text())
    for receiver in config["receivers"]:  # nothing is sent anywhere: the API tells what is suppressed
        receiver.pop("webhook_configs", None)
    (tmp / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = Proc([ALERTMANAGER, f"--config.file={tmp / 'alertmanager.yml'}", f"--storage.path={tmp / 'data'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="], tmp / "alertmanager.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(url), timeout=30, what="alertmanager ready")
        yield url
    finally:
        proc.stop()


def _ready(url: str) -> bool:
    try:
        return http_get(f"{url}/-/ready", timeout=2)[0] == 200
    except OSError:
        return False


def _rule(name: str, service: str = "") -> rules.Rule:
    return next(r for r in rules.rules() if r.name == name and (not service or service in r.services))


def _alert(name: str, **labels: str) -> dict[str, str]:
    """The labels the shipped rule gives the alert (severity, cluster, problem, a one-service alert's
    service) with the series' own."""
    return {"alertname": name, **_rule(name).labels(), **labels}


def _post(url: str, *alerts: dict[str, str]) -> None:
    body = json.dumps([{"labels": a} for a in alerts]).encode()
    req = urllib.request.Request(f"{url}/api/v2/alerts", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def _states(url: str, marker: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(alertname, service) -> Alertmanager's status of the alerts labelled with this test's marker."""
    status, body = http_get(f"{url}/api/v2/alerts?filter=" + urllib.request.quote(f'drill="{marker}"'))
    assert status == 200, body
    return {(a["labels"]["alertname"], a["labels"].get("service", "")): a["status"] for a in json.loads(body)}


def _suppressed(url: str, marker: str, expected: dict[tuple[str, str], bool]) -> dict[tuple[str, str], bool]:
    """(alertname, service) -> suppressed, once Alertmanager's inhibitor has seen every posted alert: it
    follows the alerts asynchronously, so a target posted with its source is muted a moment later."""
    def now() -> dict[tuple[str, str], bool]:
        return {k: v["state"] == "suppressed" for k, v in _states(url, marker).items()}

    with contextlib.suppress(TimeoutError):  # the caller's assertion says what differs
        wait_until(lambda: now() == expected, timeout=20, what="Alertmanager's inhibitions settled")
    return now()


def test_a_down_service_inhibits_the_probe_failures_of_that_service_only(alertmanager: str) -> None:
    marker = "one-service"
    _post(alertmanager,
          _alert("LucidAuthServiceDown", service="auth-service", drill=marker),
          _alert("LucidProbeFailing", probe="health", target="auth-service", service="auth-service", drill=marker),
          _alert("LucidProbeFailing", probe="redis", target="redis", service="redis", drill=marker))
    # Two LucidProbeFailing share no (alertname, service) key here: one per service.
    expected = {("LucidAuthServiceDown", "auth-service"): False, ("LucidProbeFailing", "auth-service"): True,
                ("LucidProbeFailing", "redis"): False}
    assert _suppressed(alertmanager, marker, expected) == expected


def test_a_store_down_alert_names_its_service_and_inhibits_its_probes(alertmanager: str) -> None:
    """lucid_mongodb_up has no service label: the rule of LucidMongoDBDown sets it."""
    down = _alert("LucidMongoDBDown", drill="store")
    assert down["service"] == "mongodb"
    _post(alertmanager, down,
          _alert("LucidProbeFailing", probe="mongodb_dbstats", target="mongodb", service="mongodb", drill="store"))
    expected = {("LucidMongoDBDown", "mongodb"): False, ("LucidProbeFailing", "mongodb"): True}
    assert _suppressed(alertmanager, "store", expected) == expected


def test_a_system_failure_pages_once_and_still_silences_the_probes(alertmanager: str) -> None:
    """LucidMostServicesDown inhibits the per-service down alerts; those, although inhibited themselves,
    still inhibit their services' probe failures."""
    marker = "outage"
    services = ("session-api", "session-storage", "api-gateway")
    alerts = [_alert("LucidMostServicesDown", drill=marker)]
    for s in services:
        alerts.append({"alertname": "LucidServiceDown", **_rule("LucidServiceDown", s).labels(), "service": s,
                       "cluster": "sessions", "drill": marker})
        alerts.append(_alert("LucidProbeFailing", probe="health", target=s, service=s, drill=marker))
    _post(alertmanager, *alerts)
    expected = {("LucidMostServicesDown", ""): False,
                **{(name, s): True for s in services for name in ("LucidServiceDown", "LucidProbeFailing")}}
    assert _suppressed(alertmanager, marker, expected) == expected


def test_a_probe_failure_without_an_outage_is_not_inhibited(alertmanager: str) -> None:
    """A critical alert of a service that is not a down alert does not hide the exporter's ticket."""
    _post(alertmanager,
          _alert("LucidChunkEncryptionFailing", service="chunk-processor", drill="no-outage"),
          _alert("LucidProbeFailing", probe="lucid_status", target="chunk-processor/processing_queue",
                 service="chunk-processor", drill="no-outage"))
    expected = {("LucidChunkEncryptionFailing", "chunk-processor"): False,
                ("LucidProbeFailing", "chunk-processor"): False}
    assert _suppressed(alertmanager, "no-outage", expected) == expected


def test_the_example_config_is_the_one_tested() -> None:
    text = (ROOT / "alerts" / "alertmanager.example.yml").read_text()
    inhibit = yaml.safe_load(text)["inhibit_rules"]
    assert {"source_matchers": ['alertname=~"Lucid.+Down"', 'service=~".+"'],
            "target_matchers": ['alertname="LucidProbeFailing"'], "equal": ["service"]} in inhibit
    assert Path(ALERTMANAGER).exists()
