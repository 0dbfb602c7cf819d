"""A fleet of Lucid stacks behind one Prometheus: every shipped rule keeps the ``stack`` label.

Each stack's series carry the target label ``stack`` (set by Prometheus relabelling, docs/fleet.md),
and ``instance``. A rule that aggregates or matches vectors without them mixes the stacks: one
stack's fault pages without saying where, or another stack's state hides it. These tests read the
rule expressions with the PromQL parser (lucid_exporter/promql.py), never with a pattern, and check
that each rule that combines series has promtool cases with two stacks (run by
test_alert_rules.test_promtool_unit_tests_pass).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lucid_exporter import promql, rules

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "alerts"
SPECS = {r.name: r.spec for r in rules.rules()}


def _shipped_rules() -> list[dict[str, Any]]:
    return [rule for path in sorted(ALERTS.glob("*.rules.yml"))
            for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def _promtool_tests() -> list[dict[str, Any]]:
    return [t for path in sorted((ALERTS / "tests").glob("*.test.yml"))
            for t in yaml.safe_load(path.read_text())["tests"]]


SHIPPED = _shipped_rules()
COMBINING = {r["alert"]: r["expr"] for r in SHIPPED if promql.cross_target(r["expr"])}


def _stacks(test: dict[str, Any]) -> dict[str, set[str]]:
    """stack -> the instances its input series come from."""
    out: dict[str, set[str]] = {}
    for s in test["input_series"]:
        labels = {m.name: m.value for m in promql.parse(s["series"]).matchers.matchers}
        if "stack" in labels:
            out.setdefault(labels["stack"], set()).add(labels.get("instance", ""))
    return out


@pytest.mark.parametrize("rule", SHIPPED, ids=lambda r: r["alert"])
def test_no_rule_can_drop_the_stack_or_mix_two_stacks(rule: dict[str, Any]) -> None:
    problems = promql.stack_unsafe(rule["expr"])
    if SPECS[rule["alert"]].scope == "fleet":
        assert problems and all("absent()" in p for p in problems), \
            f"{rule['alert']} is fleet-wide, which only absent() needs: {problems}"
    else:
        assert problems == [], f"{rule['alert']}: {'; '.join(problems)}"


@pytest.mark.parametrize(("expr", "finding"), [
    ('sum by (container) (rate(lucid_log_lines_total{level="ERROR"}[5m])) > 10', "sum by (container) drops"),
    ("count(lucid_service_up == 0) > 3", "count(...) without by/without drops"),
    ("max without (instance) (lucid_redis_up) == 0", "max without (instance) drops instance"),
    ("topk by (service) (1, lucid_service_health_duration_seconds)", "topk by (service) drops instance, stack"),
    ('lucid_service_dependency_up == 0 unless on () lucid_mongodb_up == 0', "unless on () matches across"),
    ("a / on (job, instance) b", "/ on (job, instance) matches across stack"),
    ("a and ignoring (stack) b", "and ignoring (stack) matches across stack"),
    ("a * on (instance, stack) group_left (version) sum without (x) (b)", None),
    ("absent(lucid_exporter_build_info)", "absent() fires only when no target"),
    ('label_replace(up, "stack", "x", "", "")', "label_replace() overwrites stack"),
    ("up > scalar(lucid_redis_up)", "scalar() drops every label"),
    ("sum without (level) (increase(lucid_log_lines_total[15m])) > 5 unless ignoring (service) b", None),
    ("absent(x) and on () absent(y)", "absent()"),
])
def test_the_stack_check_finds_every_way_to_lose_the_stack(expr: str, finding: str | None) -> None:
    found = promql.stack_unsafe(expr)
    if finding is None:
        assert found == []
    else:
        assert any(finding in f for f in found), found


def test_rules_that_combine_series_are_found_in_the_syntax_tree() -> None:
    assert promql.cross_target("sum without (status) (lucid_nodes) == 0") == ["sum without (status)"]
    assert promql.cross_target("a unless ignoring (cluster, dependency) b == 0") == [
        "unless ignoring (cluster, dependency)"]
    assert promql.cross_target("a / (b > 0) > 0.9 and c == 1") == []  # one-to-one on every label
    assert promql.cross_target("increase(x[15m]) > 20") == []
    # The shipped pack: the log-rate, nodes, port-pool, dependency and exporter rules, among others.
    assert {"LucidErrorLogRateHigh", "LucidAuthServiceErrorLogs", "LucidMostServicesDown", "LucidNoActiveNodes",
            "LucidServiceMongoDBDependencyDown", "LucidExporterAbsent",
            "LucidExporterScrapeNearTimeout"} <= set(COMBINING)


@pytest.mark.parametrize("alert", sorted(COMBINING))
def test_each_rule_that_combines_series_fires_for_one_stack_of_two(alert: str) -> None:
    """A promtool case per rule: stack a faulty, stack b healthy, each from its own instance, and one
    where both exporters have the same address (a Prometheus agent per stack); the alert fires with
    stack="a" only (promtool compares the whole list of alerts, so none fires for b). A fleet-wide
    rule (absent()) stays silent while stack b answers and fires once, without a stack, when neither does."""
    fleet = SPECS[alert].scope == "fleet"
    variants: set[bool] = set()  # whether the two stacks share an instance name
    for test in _promtool_tests():
        stacks = _stacks(test)
        if set(stacks) != {"a", "b"}:
            continue
        checks = [c for c in test["alert_rule_test"] if c["alertname"] == alert]
        if not checks:
            continue
        last = checks[-1]["exp_alerts"]
        if fleet:
            if last and all("stack" not in a["exp_labels"] for a in last):
                variants.add(stacks["a"] == stacks["b"])
        elif last and all(a["exp_labels"].get("stack") == "a" for a in last):
            assert all(a["exp_labels"]["instance"] in stacks["a"] for a in last), test["name"]
            variants.add(stacks["a"] == stacks["b"])
    assert variants == {True, False}, f"{alert}: no promtool case with two stacks ({variants})"


def test_the_fleet_wide_rule_stays_silent_while_one_stack_answers() -> None:
    fleet = [a for a in COMBINING if SPECS[a].scope == "fleet"]
    assert fleet == ["LucidExporterAbsent"]
    silent = [t for t in _promtool_tests() if set(_stacks(t)) == {"a", "b"} and any(
        c["alertname"] == "LucidExporterAbsent" and c["exp_alerts"] == [] for c in t["alert_rule_test"])]
    assert len(silent) == 2, [t["name"] for t in silent]
