"""Every exported metric is watched: read by an alert rule, shown on a dashboard panel, or listed as
informational in lucid_exporter/catalogue/metrics.yaml with the reason no rule or panel needs it.

Rules are read with lucid_exporter.promql.metric_names, panels with grafana/generate.py's (which
replaces Grafana's variables first), both from the metric specs' names.
"""

from __future__ import annotations

from lucid_exporter import catalogue, rules
from lucid_exporter.promql import metric_names

from ..dashboards_support import committed_dashboards, generate

SPECS = catalogue.metrics()


def _read_by_rules() -> set[str]:
    return {m for r in rules.rules() for m in metric_names(r.expr)}


def _shown_on_panels() -> set[str]:
    return {m for d in committed_dashboards().values() for e in generate.dashboard_exprs(d)
            for m in generate.metric_names(e)}


def test_every_exported_metric_is_read_by_a_rule_shown_on_a_panel_or_informational() -> None:
    watched = _read_by_rules() | _shown_on_panels()
    unwatched = sorted(name for name, spec in SPECS.items() if name not in watched and not spec.informational)
    assert not unwatched, ("metrics no rule reads and no panel shows: add a panel or a rule, or give them an "
                           f"`informational:` reason in metrics.yaml: {unwatched}")


def test_an_informational_metric_says_why_and_is_really_unread() -> None:
    """informational is the exception with its reason; a metric a rule or panel reads is not one."""
    watched = _read_by_rules() | _shown_on_panels()
    for name, spec in SPECS.items():
        if spec.informational:
            assert len(spec.informational.split()) >= 5, f"{name}: give the reason, not a word"
            assert name not in watched, f"{name} is read by a rule or panel: drop its informational reason"


def test_rules_and_panels_read_only_specified_metrics() -> None:
    assert not (_read_by_rules() | _shown_on_panels()) - set(SPECS)
