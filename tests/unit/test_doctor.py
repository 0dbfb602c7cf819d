"""The doctor diagnoses from the same data as the alerts: the rule that would page names the problem,
its runbook section and its sentence, and doctor never diagnoses from what it cannot see."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from lucid_exporter import catalogue, rules
from lucid_exporter.config import load
from lucid_exporter.doctor import Diagnosis, diagnose, report_json, report_text
from lucid_exporter.engine import ProbeResult
from lucid_exporter.metrics import Sample, gauge
from lucid_exporter.probes.base import Probe, ProbeContext

SETTINGS = load()
RULES = [r for r in rules.rules() if catalogue.clusters()[r.file].kind == "lucid"]


class _P(Probe):
    def __init__(self, kind: str, target: str) -> None:
        self.kind, self.target = kind, target

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        return []


def _result(kind: str, target: str, samples: list[Sample], ok: bool = True, reason: str = "",
            message: str = "connection refused") -> ProbeResult:
    return ProbeResult(_P(kind, target), samples, ok, 0.01, time.time(), time.monotonic(), reason,
                       "" if ok else message)


def _healthy_services() -> list[ProbeResult]:
    """Every service answering healthy, and the gateway's rate limit seen."""
    out = [_result("lucid_status", "api-gateway/gateway_rate_limit", [gauge("lucid_gateway_rate_limit_limit", 100)])]
    for s in catalogue.services().values():
        if s.health != "none":
            out.append(_result("health", s.name, [gauge("lucid_service_up", 1, service=s.name, cluster=s.cluster),
                                                  gauge("lucid_service_degraded", 0, service=s.name,
                                                        cluster=s.cluster)]))
    return out


# -- promtool's expanding notation, to replay each alert's own test cases ----------------------------
_NUM = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
_TOKEN = re.compile(rf"^(?P<a>{_NUM}|_)(?:(?P<op>[-+])(?P<b>{_NUM}))?(?:x(?P<n>\d+))?$")
_SERIES = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)?(?:\{(?P<labels>.*)\})?$")


def _values(notation: str) -> list[float | None]:
    out: list[float | None] = []
    for token in notation.split():
        m = _TOKEN.match(token)
        assert m, token
        if m["a"] == "_":
            out.extend([None] * int(m["n"] or 1))
            continue
        a, b = float(m["a"]), float(m["b"] or 0) * (-1 if m["op"] == "-" else 1)
        n = int(m["n"]) if m["n"] is not None else 0
        out.extend(a + i * b for i in range(n + 1))
    return out


def _series(text: str) -> tuple[str, dict[str, str]]:
    m = _SERIES.match(text)
    assert m, text
    labels = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"] or ""))
    return labels.pop("__name__", m["name"] or ""), labels


def _minutes(text: str) -> int:
    return sum(int(n) * {"m": 1, "h": 60}[u] for n, u in re.findall(r"(\d+)([mh])", text))


def _round_at(case: catalogue.Case) -> tuple[list[ProbeResult], float]:
    """The case's series as one probe round, with their values at the case's evaluation time."""
    minute = _minutes(case.at)
    samples = []
    for text, notation in case.series.items():
        name, labels = _series(text)
        vals = _values(notation)
        value = vals[min(minute, len(vals) - 1)]
        if value is not None:
            samples.append(Sample(name, value, labels))
    return [_result("replay", "case", samples)], minute * 60.0


def _fired(d: Diagnosis, name: str) -> list[Any]:
    return [f for finding in d.findings for f in finding.firing if f.rule.name == name]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.name}-{r.problem}")
def test_doctor_finds_what_each_alert_pages_for_with_its_problem_and_sentence(rule: rules.Rule) -> None:
    """Replaying the alert's own firing case, doctor names the alert, its problem, its runbook section
    and the description the page carries (promtool checks the same sentence)."""
    results, now = _round_at(rule.fires)
    d = diagnose(results, SETTINGS, now=now)
    if rule.name in d.needs_history:
        assert re.search(r"\b(rate|increase|deriv|\w+_over_time)\(|\boffset\b", rule.expr), rule.name
        return
    fired = _fired(d, rule.name)
    assert fired, f"{rule.name}: the firing case does not fire in doctor"
    mine = [f for f in fired if f.rule.problem == rule.problem]
    assert mine and mine[0].description == rule.fires.description
    finding = next(f for f in d.findings if f.problem.slug == rule.problem)
    assert finding.runbook_url(rules.RenderConfig()) == rule.runbook_url(rules.RenderConfig())


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.name}-{r.problem}")
def test_doctor_is_silent_where_the_alert_is(rule: rules.Rule) -> None:
    results, now = _round_at(rule.silent)
    d = diagnose(results, SETTINGS, now=now)
    assert not [f for f in _fired(d, rule.name) if f.rule.problem == rule.problem]


@pytest.mark.parametrize("service", [s for s in catalogue.services().values() if s.health != "none"],
                         ids=lambda s: s.name)
def test_a_service_down_names_the_problem_of_services_yaml_as_its_page_does(service: catalogue.ServiceSpec) -> None:
    up_metric = {"mongodb": "lucid_mongodb_up", "redis": "lucid_redis_up", "elasticsearch": "lucid_elasticsearch_up"}
    results = [r for r in _healthy_services() if r.probe.target != service.name]
    down = [gauge("lucid_service_up", 0, service=service.name, cluster=service.cluster)]
    if service.name in up_metric:
        down.append(gauge(up_metric[service.name], 0))
    results.append(_result("health", service.name, down, ok=False, reason="refused"))
    d = diagnose(results, SETTINGS)
    slugs = [f.problem.slug for f in d.findings]
    assert slugs == [service.problem]
    paging = [r for r in rules.rules() if service.name in r.services]
    assert [f.firing[0].rule.name for f in d.findings] == [paging[0].name]
    assert d.findings[0].runbook_url(rules.RenderConfig()) == paging[0].runbook_url(rules.RenderConfig())


def test_healthy_round_has_no_findings() -> None:
    d = diagnose(_healthy_services(), SETTINGS)
    assert d.ok and d.findings == []
    assert "no guide problem observed" in report_text(d)


def test_no_docker_socket_is_blindness_not_a_system_failure() -> None:
    """docker.enabled (the default) without the socket mounted, every service up: doctor says what it
    cannot see, names no problem, prints no destructive step."""
    results = [*_healthy_services(),
               _result("docker", "engine", [], ok=False, reason="refused",
                       message="cannot reach the docker engine at unix:///var/run/docker.sock")]
    d = diagnose(results, SETTINGS)
    text = report_text(d)
    assert d.ok and "Complete System Failure" not in text and "DESTRUCTIVE" not in text
    assert "Cannot see" in text and "docker engine" in text
    assert report_json(d)["cannot_see"][0]["probe"] == "docker"


def test_a_disabled_source_is_reported_as_not_seen() -> None:
    d = diagnose(_healthy_services(), load(None, {"docker": {"enabled": False}}))
    assert "docker engine: containers, networks, disk usage (docker.enabled: false): disabled in the configuration" \
        in report_text(d)


def test_one_stopped_container_is_not_a_complete_system_failure() -> None:
    results = [*_healthy_services(),
               _result("docker", "containers", [gauge("lucid_container_running", 0, container="lucid-xrdp"),
                                                gauge("lucid_container_present", 1, container="lucid-xrdp")])]
    d = diagnose(results, SETTINGS)
    assert "complete-system-failure" not in [f.problem.slug for f in d.findings]


def test_steps_are_flagged_from_the_data_and_observed_values_printed() -> None:
    results = [*_healthy_services(), _result("redis", "redis", [
        gauge("lucid_redis_up", 1), gauge("lucid_redis_memory_used_bytes", 950), gauge("lucid_redis_memory_max_bytes",
                                                                                       1000),
        gauge("lucid_redis_maxmemory_policy", 1, policy="noeviction"),
        gauge("lucid_redis_maxmemory_policy", 0, policy="allkeys-lru")])]
    d = diagnose(results, SETTINGS)
    assert [f.problem.slug for f in d.findings] == ["redis-memory-issues"]
    text = report_text(d)
    assert "observed: lucid_redis_memory_used_bytes{} 950" in text
    problem = catalogue.problems()["redis-memory-issues"]
    for step in problem.solutions:
        if step.destructive:
            assert f"DESTRUCTIVE ({step.note}): {step.what}" in text
    sols = report_json(d)["findings"][0]["solutions"]
    assert {s["what"] for s in sols if s["destructive"]} == {s.what for s in problem.solutions if s.destructive}


def test_secret_revealing_steps_carry_a_warning() -> None:
    results = [_result("lucid_status", "auth-service/auth_verify", [gauge("lucid_auth_token_verify_ok", 0)])]
    results += [r for r in _healthy_services()]
    text = report_text(diagnose(results, SETTINGS))
    step = next(s for s in catalogue.problems()["jwt-token-validation-failures"].diagnostics if s.reveals_secret
                and "JWT_SECRET" in s.command)
    assert f"REVEALS A SECRET ({step.note}): do not paste its output anywhere: {step.what}" in text


def test_every_step_flag_that_destroys_or_reveals_has_a_reason() -> None:
    for p in catalogue.problems().values():
        for s in (*p.diagnostics, *p.solutions):
            if s.destructive or s.reveals_secret:
                assert s.note, f"{p.slug}: {s.what}"
