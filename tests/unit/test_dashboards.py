"""The Grafana dashboards: generated == committed, and the conventions of DESIGN.md and issue 7."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from lucid_exporter import catalogue, promql
from lucid_exporter.catalogue import lucid_clusters

from ..dashboards_support import DASHBOARD_DIR, GRAFANA, committed_dashboards, dashboard_paths, generate, queries
from ..support import ROOT

CLUSTERS = lucid_clusters()
STACK = 'stack=~"$stack"'
DASHBOARDS = committed_dashboards()
UIDS = sorted(DASHBOARDS)
CLUSTER_UIDS = [f"lucid-{c}" for c in CLUSTERS]
EXPECTED_UIDS = sorted(["lucid-overview", "lucid-exporter", *CLUSTER_UIDS])


def panels(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in queries.iter_panels(d["panels"]) if p["type"] != "row"]


def test_generated_files_equal_the_committed_ones() -> None:
    stale = [str(p.relative_to(ROOT)) for p, text in generate.render().items()
             if not p.exists() or p.read_text() != text]
    assert not stale, f"run `python grafana/generate.py` and commit: {stale}"
    generated = {p.name for p in generate.render() if p.parent == generate.DASHBOARD_DIR}
    assert {p.name for p in dashboard_paths()} == generated, "a dashboard JSON that the generator does not write"


def test_generator_check_mode_passes_on_the_committed_tree() -> None:
    assert generate.main(["--check"]) == 0


def test_every_cluster_has_its_dashboard_with_a_stable_uid() -> None:
    assert UIDS == EXPECTED_UIDS
    assert tuple(generate.CLUSTERS) == CLUSTERS
    for path in dashboard_paths():
        assert path.stem == json.loads(path.read_text())["uid"]


def test_the_guide_problems_are_all_covered_by_a_panel() -> None:
    descriptions = " ".join(p["description"] for d in DASHBOARDS.values() for p in panels(d))
    problems = [p for ps in generate.PROBLEMS.values() for p in ps]
    assert problems == [p.title for p in catalogue.problems().values() if p.cluster in CLUSTERS]
    missing = [p for p in problems if f"Guide: {p}." not in descriptions]
    assert not missing


@pytest.mark.parametrize("uid", UIDS)
def test_dashboard_conventions(uid: str) -> None:
    d = DASHBOARDS[uid]
    assert "__inputs" not in d and "__requires" not in d
    assert isinstance(d["schemaVersion"], int) and d["schemaVersion"] >= 36
    assert d["uid"] == uid and d["title"].startswith("Lucid / ")
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables["datasource"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    for v in variables.values():
        if v["type"] == "query":
            assert v["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    ids = [p["id"] for p in queries.iter_panels(d["panels"])]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert panels(d), "a dashboard without panels"


@pytest.mark.parametrize("uid", UIDS)
def test_every_panel_has_a_unit_a_guide_description_and_the_datasource_variable(uid: str) -> None:
    for p in panels(DASHBOARDS[uid]):
        where = f"{uid} panel {p['id']} {p['title']!r}"
        assert p["fieldConfig"]["defaults"].get("unit"), f"{where}: no unit"
        m = re.match(r"Guide: (.+?)\. ", p.get("description", ""))
        assert m and m.group(1) in generate.GUIDE_TOPICS, f"{where}: description must name a guide problem"
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
        assert p["targets"], f"{where}: no query"
        for t in p["targets"]:
            assert t["datasource"] == p["datasource"], where
            assert t["expr"].strip(), where


@pytest.mark.parametrize("uid", UIDS)
def test_every_rate_and_increase_uses_rate_interval(uid: str) -> None:
    for expr in generate.dashboard_exprs(DASHBOARDS[uid]):
        for fn, window in re.findall(r"\b(rate|irate|increase|delta|idelta|deriv)\s*\([^\[]*\[([^\]]*)\]", expr):
            assert window == "$__rate_interval", f"{uid}: {expr}: {fn}() must use [$__rate_interval]"


@pytest.mark.parametrize("uid", UIDS)
def test_every_metric_is_registered_in_the_generator(uid: str) -> None:
    for expr in generate.dashboard_exprs(DASHBOARDS[uid]):
        unknown = generate.metric_names(expr) - set(generate.METRICS)
        assert not unknown, f"{uid}: {expr} uses unregistered {unknown}"


def _link_urls(d: dict[str, Any]) -> set[str]:
    urls = {lk["url"] for lk in d.get("links", []) if lk.get("type") == "link"}
    for p in queries.iter_panels(d["panels"]):
        urls |= {lk["url"].split("?")[0] for lk in p.get("links", [])}
    return urls


def test_overview_links_to_every_cluster_dashboard_and_back() -> None:
    overview = DASHBOARDS["lucid-overview"]
    urls = _link_urls(overview)
    for uid in [*CLUSTER_UIDS, "lucid-exporter"]:
        assert f"/d/{uid}/{uid}" in urls, f"overview does not link to {uid}"
        assert "/d/lucid-overview/lucid-overview" in _link_urls(DASHBOARDS[uid]), f"{uid} does not link back"
        tags = [lk for lk in DASHBOARDS[uid]["links"] if lk.get("type") == "dashboards"]
        assert tags and tags[0]["tags"] == ["lucid"], f"{uid}: no dropdown of the Lucid dashboards"
        assert "lucid" in DASHBOARDS[uid]["tags"]


def test_overview_has_one_row_per_cluster_with_service_status_and_firing_alerts() -> None:
    overview = DASHBOARDS["lucid-overview"]
    rows = [p["title"] for p in overview["panels"] if p["type"] == "row"]
    assert [r for r in rows if r != "All clusters"] == [f"{generate.CLUSTER_TITLES[c]} ({c})" for c in CLUSTERS]
    exprs = [t["expr"] for p in panels(overview) for t in p["targets"]]
    for c in CLUSTERS:
        for sev in ("critical", "warning", "info"):
            assert f'ALERTS{{alertstate="firing",cluster="{c}",severity="{sev}",{STACK}}}' in " ".join(exprs)
        if c != "system":  # the catalogue has no service of its own in the system cluster
            assert f'lucid_service_up{{cluster="{c}",{STACK}}}' in exprs


def test_block_age_is_computed_from_the_timestamp() -> None:
    exprs = [t["expr"] for p in panels(DASHBOARDS["lucid-blockchain"]) for t in p["targets"]]
    assert f"time() - lucid_blockchain_latest_block_timestamp_seconds{{{STACK}}}" in exprs


def test_metrics_used_doc_lists_every_metric_a_panel_reads() -> None:
    text = (GRAFANA / "METRICS_USED.md").read_text()
    used = {n for d in DASHBOARDS.values() for e in generate.dashboard_exprs(d) for n in generate.metric_names(e)}
    assert used and all(f"`{name}`" in text for name in used)


def test_docs_list_every_dashboard_with_its_panel_count() -> None:
    text = (ROOT / "docs" / "dashboards.md").read_text()
    for uid, d in DASHBOARDS.items():
        assert f"| {d['title']} | `{uid}` | {len(panels(d))} |" in text


def test_provisioning_files_point_grafana_at_the_dashboards_and_prometheus() -> None:
    prov = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "lucid.yml").read_text())
    assert prov["apiVersion"] == 1
    (provider,) = prov["providers"]
    assert provider["type"] == "file" and provider["options"]["path"].startswith("/var/lib/grafana/dashboards")
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["url"].startswith("http")
    assert DASHBOARD_DIR.is_dir()


# --- the metric-name extraction and the substitution the end-to-end test relies on -------------

@pytest.mark.parametrize(("expr", "names"), [
    ('count(ALERTS{alertstate="firing",severity="critical"}) or vector(0)', {"ALERTS"}),
    ("sum by (reason) (increase(lucid_probe_errors_total{probe=~\"$probe\"}[$__rate_interval]))",
     {"lucid_probe_errors_total"}),
    ("time() - lucid_blockchain_latest_block_timestamp_seconds", {"lucid_blockchain_latest_block_timestamp_seconds"}),
    ("lucid_redis_memory_used_bytes / (lucid_redis_memory_max_bytes > 0)",
     {"lucid_redis_memory_used_bytes", "lucid_redis_memory_max_bytes"}),
    ('a{x="by (y)"} / on (service) group_left (cluster) b offset 5m', {"a", "b"}),
    ("topk(10, lucid_service_health_duration_seconds) * 1e3", {"lucid_service_health_duration_seconds"}),
    ('label_values(lucid_service_up{cluster="auth"}, service)', {"lucid_service_up"}),
])
def test_metric_names_of_a_query(expr: str, names: set[str]) -> None:
    assert generate.metric_names(expr) == names


def test_panel_queries_substitute_every_variable() -> None:
    d = DASHBOARDS["lucid-auth"]
    qs = queries.panel_queries(d, rate_interval="2m", interval="30s")
    assert qs and all("$" not in q.expr and "[[" not in q.expr for q in qs)
    assert 'lucid_service_up{cluster="auth",service=~".*",stack=~".*"}' in [q.expr for q in qs]
    one = queries.panel_queries(d, {"service": "auth-service", "stack": "node-7"})
    assert 'lucid_service_up{cluster="auth",service=~"auth-service",stack=~"node-7"}' in [q.expr for q in one]
    two = queries.panel_queries(d, {"service": ["auth-service", "x.y"]})
    assert 'lucid_service_up{cluster="auth",service=~"(auth-service|x\\\\.y)",stack=~".*"}' in [q.expr for q in two]


def test_substitute_handles_every_syntax_and_builtins() -> None:
    v = {"container": "lucid-redis"}
    expr = 'rate(a{c="$container",d="${container}",e="${container:regex}",f="[[container]]"}[$__rate_interval])'
    assert queries.substitute(expr, v, rate_interval="1m") == \
        'rate(a{c="lucid-redis",d="lucid-redis",e="lucid-redis",f="lucid-redis"}[1m])'
    assert queries.substitute("x[$__interval] / $__range_s / ${__range}", {}, interval="15s", range_="2h") == \
        "x[15s] / 7200 / 2h"
    with pytest.raises(KeyError):
        queries.substitute("a{b=\"$nope\"}", v)


def test_panel_queries_use_concrete_current_values_and_skip_hidden_targets() -> None:
    d = {"uid": "t", "templating": {"list": [
        {"name": "datasource", "type": "datasource", "query": "prometheus"},
        {"name": "job", "type": "custom", "current": {"value": "lucid"}, "multi": False},
        {"name": "svc", "type": "query", "includeAll": True, "multi": True, "allValue": None,
         "current": {"value": ["$__all"]}}]},
        "panels": [{"type": "row", "id": 1, "panels": [
            {"id": 2, "title": "p", "targets": [{"refId": "A", "expr": 'up{job="$job",service=~"$svc"}'},
                                                {"refId": "B", "expr": "hidden", "hide": True}]}]}]}
    (q,) = queries.panel_queries(d)
    assert (q.dashboard, q.panel_id, q.ref_id, q.expr) == ("t", 2, "A", 'up{job="lucid",service=~".*"}')


@pytest.mark.parametrize("uid", UIDS)
def test_panels_fit_the_grid_without_overlapping(uid: str) -> None:
    taken: set[tuple[int, int]] = set()
    for p in DASHBOARDS[uid]["panels"]:
        g = p["gridPos"]
        assert g["w"] > 0 and g["h"] > 0 and g["x"] >= 0 and g["x"] + g["w"] <= 24, (uid, p["title"])
        cells = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & taken, f"{uid}: panel {p['title']!r} overlaps another"
        taken |= cells
        assert p["type"] in {"row", "stat", "timeseries", "bargauge", "histogram"}, p["type"]


def test_every_alert_dashboard_url_names_a_shipped_dashboard() -> None:
    uids = {json.loads(p.read_text())["uid"] for p in (ROOT / "grafana" / "dashboards").glob("*.json")}
    for rules in (ROOT / "alerts").glob("*.rules.yml"):
        for group in yaml.safe_load(rules.read_text())["groups"]:
            for rule in group["rules"]:
                url = rule.get("annotations", {}).get("dashboard_url")
                assert url, f"{rule.get('alert')} has no dashboard_url"
                assert url.rsplit("/d/", 1)[1].split("/")[0] in uids, (rule["alert"], url)


# --- a fleet: every query is scoped to the stack variable (docs/fleet.md) -----------------------

@pytest.mark.parametrize("uid", UIDS)
def test_the_stack_variable_comes_after_the_data_source_and_offers_every_stack(uid: str) -> None:
    names = [v["name"] for v in DASHBOARDS[uid]["templating"]["list"]]
    assert names[:2] == ["datasource", "stack"]
    stack = DASHBOARDS[uid]["templating"]["list"][1]
    assert stack["query"]["query"] == "label_values(lucid_exporter_build_info, stack)"
    assert stack["multi"] and stack["includeAll"] and stack["allValue"] == ".*"
    for v in DASHBOARDS[uid]["templating"]["list"][2:]:  # the other variables list the stacks' values only
        assert f"{{{STACK}" in v["query"]["query"] or f",{STACK}}}" in v["query"]["query"], v["name"]


def _stack_problems(expr: str, picked: str) -> list[str]:
    """Each selector without the stack matcher, and each by/on list without stack, read with the parser."""
    problems: list[str] = []

    def visit(node: promql.pp.Expr) -> None:
        if isinstance(node, promql.pp.VectorSelector):
            if not any(m.name == "stack" and m.op == promql.pp.MatchOp.Re and m.value == picked
                       for m in node.matchers.matchers):
                problems.append(f"selector {node.name or node} has no stack=~\"$stack\"")
        elif isinstance(node, promql.pp.AggregateExpr) and node.modifier is not None:
            if node.modifier.type == promql.pp.AggModifierType.By and "stack" not in node.modifier.labels:
                problems.append(f"{node.op} by ({', '.join(node.modifier.labels)}) mixes the stacks")
            if node.modifier.type == promql.pp.AggModifierType.Without and "stack" in node.modifier.labels:
                problems.append(f"{node.op} without (stack) mixes the stacks")
        elif isinstance(node, promql.pp.BinaryExpr) and node.modifier is not None and node.modifier.matching:
            m = node.modifier.matching
            if (m.type == promql.pp.LabelModifierType.Include) != ("stack" in m.labels):
                problems.append(f"{node.op} on/ignoring ({', '.join(m.labels)}) matches across stacks")

    promql.pp.walk(promql.parse(expr), visit)
    return problems


@pytest.mark.parametrize("uid", UIDS)
def test_every_selector_of_every_panel_query_has_the_stack_matcher(uid: str) -> None:
    """Read with the PromQL parser once Grafana has put one stack in the variable: every vector
    selector selects that stack, and every by/on list keeps the stacks apart."""
    picked = "node-7"
    qs = queries.panel_queries(DASHBOARDS[uid], {"stack": picked})
    assert qs
    for q in qs:
        assert _stack_problems(q.expr, picked) == [], str(q)


@pytest.mark.parametrize(("expr", "scoped"), [
    ('sum by (container) (rate(lucid_log_lines_total{container=~"$c"}[$__rate_interval]))',
     'sum by (stack, container) (rate(lucid_log_lines_total{container=~"$c",stack=~"$stack"}[$__rate_interval]))'),
    ("count(lucid_service_up == 0) or vector(0)", 'count(lucid_service_up{stack=~"$stack"} == 0) or vector(0)'),
    ("a and on (job, instance) b", 'a{stack=~"$stack"} and on (stack, job, instance) b{stack=~"$stack"}'),
    ('max_over_time(sum without (status) (lucid_nodes)[1h:]) offset 5m',
     'max_over_time(sum without (status) (lucid_nodes{stack=~"$stack"})[1h:]) offset 5m'),
    ('topk(10, time() - x{probe=~"$probe"})', 'topk(10, time() - x{probe=~"$probe",stack=~"$stack"})'),
    ('sum(x) by (y) / ignoring (z) group_left (w) {__name__="q"}',
     'sum(x{stack=~"$stack"}) by (stack, y) / ignoring (z) group_left (w) {__name__="q",stack=~"$stack"}'),
    ('up{stack="b"} == 0', 'up{stack="b"} == 0'),
])
def test_stack_scoping_of_a_query(expr: str, scoped: str) -> None:
    assert generate.stack_scoped(expr) == scoped
    assert generate.stack_scoped_variable('label_values(lucid_service_up{cluster="auth"}, service)') == \
        'label_values(lucid_service_up{cluster="auth",stack=~"$stack"}, service)'
