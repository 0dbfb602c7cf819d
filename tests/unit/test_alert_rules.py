"""The alert rules pack: promtool checks and unit tests, structure, runbook links, coverage.

Runs Debian's promtool (``promtool check rules`` and ``promtool test rules``); fails, never skips,
when promtool is missing (``make setup`` installs the ``prometheus`` package).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lucid_exporter import catalogue, rules

from ..support import load_script

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "alerts"
RUNBOOKS = ROOT / "docs" / "runbooks"
CLUSTERS = catalogue.lucid_clusters()
TEMPLATED_CLUSTER = "{{ $labels.cluster }}"
# Alerts whose description is static: the series they fire on carry no label or value that tells
# more than the alert's name (a single 0/1 status, or absent()).
STATIC_DESCRIPTION_OK = {
    "LucidMongoDBReplicaSetNotInitialized", "LucidMongoDBAuthenticationFailing", "LucidElasticsearchDown",
    "LucidElasticsearchClusterRed", "LucidElasticsearchClusterYellow", "LucidAuthTokenVerificationFailing",
    "LucidAuthServiceDegraded", "LucidGatewayRateLimitNotEnforced", "LucidConsensusNotReached",
    "LucidChunkEncryptionFailing", "LucidRDPPortPoolExhausted", "LucidNoActiveNodes", "LucidPoOTScoresMissing",
    "LucidAdminRBACCheckFailing", "LucidAdminRBACNoRoles", "LucidTronNetworkDisconnected", "LucidExporterAbsent",
    "LucidAnchoringBlockchainDisconnected",
}


generate = load_script(ALERTS / "generate.py", "lucid_alerts_generate")
coverage = load_script(ROOT / "scripts" / "coverage.py", "lucid_alerts_coverage")
guide_check = load_script(ROOT / "scripts" / "guide_check.py", "lucid_guide_check")
CFG = rules.RenderConfig()


def _rules() -> list[dict[str, Any]]:
    out = []
    for path in sorted(ALERTS.glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                out.append({**rule, "_file": path.name.removesuffix(".rules.yml")})
    return out


def _problems() -> list[catalogue.Problem]:
    return coverage.guide_problems()  # type: ignore[no-any-return]


def _duration_seconds(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smhd])", text))


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed (Debian package 'prometheus'; `make setup` installs it)")
    return path


RULES = _rules()
PROBLEMS = _problems()
SLUGS = {p.slug: p for p in PROBLEMS}


def test_promtool_check_rules_accepts_every_rule_file() -> None:
    files = sorted(str(p) for p in ALERTS.glob("*.rules.yml"))
    assert len(files) == len(CLUSTERS) + 1
    res = subprocess.run([_promtool(), "check", "rules", *files], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_promtool_unit_tests_pass() -> None:
    files = sorted(str(p) for p in (ALERTS / "tests").glob("*.test.yml"))
    assert len(files) == len(CLUSTERS) + 1
    res = subprocess.run([_promtool(), "test", "rules", *files], capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


def test_generated_rules_tests_runbook_tables_and_metrics_list_are_up_to_date() -> None:
    assert generate.main(["--check"]) == 0, "run python alerts/generate.py and commit the result"


def test_every_alert_has_the_required_labels_and_annotations() -> None:
    names = [(r["alert"], r["labels"]["problem"]) for r in RULES]
    assert len(names) == len(set(names)), "an alert name is used once per problem (LucidServiceDown: per problem)"
    for r in RULES:
        name = r["alert"]
        assert re.fullmatch(r"Lucid[A-Z][A-Za-z0-9]*", name), name
        labels, ann = r["labels"], r["annotations"]
        assert labels["severity"] in {"critical", "warning", "info"}, name
        if r["_file"] == "exporter":
            assert labels["cluster"] == "exporter", name
        else:
            assert labels["cluster"] in (r["_file"], TEMPLATED_CLUSTER), name
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", labels["problem"]), name
        assert set(ann) == {"summary", "description", "runbook_url", "dashboard_url"}, name
        assert ann["summary"] and "{{" not in ann["summary"], f"{name}: summary must be static"
        assert "{{" in ann["description"] or name in STATIC_DESCRIPTION_OK, f"{name}: description not templated"
        assert r.get("for"), f"{name}: every alert needs a for: duration"


def test_critical_alerts_do_not_page_on_a_routine_restart() -> None:
    for r in RULES:
        if r["labels"]["severity"] == "critical":
            assert _duration_seconds(r["for"]) >= 120, f"{r['alert']}: for: {r['for']} would page on a restart"


def test_ratios_guard_against_division_by_zero() -> None:
    for r in RULES:
        expr = r["expr"]
        if " / " not in expr:
            continue
        # A count is never 0 where the numerator has a value: count() of nothing is no series at all.
        guarded = re.search(r"/ (?:on \([^)]*\) )?\(.*> 0\)", expr) or expr.startswith("count")
        assert guarded, f"{r['alert']}: denominator of {expr!r} is not guarded against 0"


def test_problem_labels_are_the_slugs_of_the_guide_headings() -> None:
    assert PROBLEMS, "the catalogue holds the guide's problems"
    for p in PROBLEMS:
        assert p.slug == coverage.github_anchor(p.title)
        assert p.cluster in CLUSTERS
        assert p.part in catalogue.clusters()[p.cluster].guide_parts, p.slug
    for r in RULES:
        problem = r["labels"]["problem"]
        assert problem in catalogue.problems(), f"{r['alert']}: problem {problem!r} is in no runbook"
        owner = catalogue.problems()[problem].cluster
        # A rule lives in its problem's cluster file; the generic service-down rule lives in the system
        # file and takes the cluster from the series.
        assert owner == r["_file"] or r["labels"]["cluster"] == TEMPLATED_CLUSTER, f"{r['alert']}: {problem}"


def test_each_problem_of_the_guide_is_detected_by_an_alert() -> None:
    covered = {r["labels"]["problem"] for r in RULES}
    missing = [p.title for p in PROBLEMS if p.slug not in covered]
    assert not missing, f"problems without an alert: {missing}"


def test_problem_data_matches_the_guide() -> None:
    """problems.yaml holds the guide's problems verbatim. Where the guide is at hand (beside the clone),
    every title, part, section, symptom and step is compared with it; without it, the structure the
    guide guarantees is checked: every cluster's parts have problems, in the clusters' order, each with
    its symptoms (system recovery excepted) and its steps."""
    guide = guide_check.find_guide()
    if guide is not None:
        assert guide_check.differences(guide.read_text(encoding="utf-8")) == []
    order = {c: i for i, c in enumerate(CLUSTERS)}
    assert [order[p.cluster] for p in PROBLEMS] == sorted(order[p.cluster] for p in PROBLEMS)
    assert {p.cluster for p in PROBLEMS} == set(CLUSTERS)
    for p in PROBLEMS:
        assert p.solutions, p.slug
        assert p.diagnostics or p.section in ("System Recovery", "Data Recovery"), p.slug


def test_runbook_urls_resolve_to_headings_of_the_runbooks() -> None:
    for r in RULES:
        url = r["annotations"]["runbook_url"]
        assert url.startswith(CFG.runbook_base + "/"), url
        file, _, anchor = url.removeprefix(CFG.runbook_base + "/").partition("#")
        path = RUNBOOKS / file
        assert path.exists(), f"{r['alert']}: {path} does not exist"
        assert anchor in coverage.runbook_anchors(path), f"{r['alert']}: no heading #{anchor} in {file}"
        assert anchor == r["labels"]["problem"], r["alert"]
        assert file == f"{catalogue.problems()[anchor].cluster}.md", r["alert"]


def test_dashboard_urls_point_at_the_overview_or_the_cluster_dashboard() -> None:
    for r in RULES:
        url = r["annotations"]["dashboard_url"]
        assert url.startswith(CFG.dashboard_base + "/"), url
        uid = url.removeprefix(CFG.dashboard_base + "/")
        assert uid in {"lucid-overview", f"lucid-{r['_file']}"}, f"{r['alert']}: {uid}"


def test_a_consumer_renders_the_pack_with_its_own_links_and_job(tmp_path: Path) -> None:
    cfg = rules.RenderConfig(runbook_base="https://wiki.example/runbooks", dashboard_base="https://g.example/d",
                             job="lucid")
    written = rules.render(tmp_path, cfg)
    texts = "\n".join(p.read_text() for p in written)
    assert "https://wiki.example/runbooks/foundation.md#mongodb-connection-failures" in texts
    assert 'up{job="lucid"} == 0' in texts and "lucid-exporter/blob" not in texts
    files = sorted(str(p) for p in (tmp_path / "tests").glob("*.test.yml"))
    res = subprocess.run([_promtool(), "test", "rules", *files], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    fires: set[str] = set()
    silent: set[str] = set()
    for path in (ALERTS / "tests").glob("*.test.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for check in test.get("alert_rule_test", []):
                exp = check.get("exp_alerts") or []
                (fires if exp else silent).add(check["alertname"])
                for alert in exp:
                    assert alert.get("exp_labels") and alert.get("exp_annotations"), check["alertname"]
    names = {r["alert"] for r in RULES}
    assert len(RULES) == len(rules.rules(CFG)), "every rendered rule is in the rule files"
    assert names - fires == set(), "alerts without a firing test"
    assert names - silent == set(), "alerts without a silent test"


def _sections(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    current = None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            current = coverage.github_anchor(line[3:])
            out[current] = ""
        elif current:
            out[current] += line + "\n"
    return out


def test_each_problem_has_a_complete_runbook_section() -> None:
    for p in PROBLEMS:
        sections = _sections(RUNBOOKS / f"{p.cluster}.md")
        assert p.slug in sections, f"no section for {p.title} in {p.cluster}.md"
        body = sections[p.slug]
        for part in ("**Symptoms.**", "**Alerts that fire.**", "**Metrics to look at.**", "**Verify.**"):
            assert part in body, f"{p.title}: runbook section lacks {part}"
        assert "```bash" in body, f"{p.title}: runbook section lacks the guide's commands"


def test_destructive_steps_of_the_data_carry_a_warning_in_their_runbook_section() -> None:
    """A step flagged destructive in problems.yaml is explained in its problem's runbook section behind
    a **Destructive** (or **Caution**) note, and the section offers a safer first step."""
    for p in catalogue.problems().values():
        destructive = [s for s in p.solutions + p.diagnostics if s.destructive]
        if not destructive:
            continue
        body = _sections(RUNBOOKS / f"{p.cluster}.md")[p.slug]
        assert re.search(r"\*\*(Destructive|Caution)", body), f"{p.slug}: no warning for {destructive[0].what!r}"
        assert "safer" in body.lower(), f"{p.slug}: no safer first step"


def test_coverage_table_is_current_and_every_row_is_filled() -> None:
    text, errors = coverage.build()
    assert errors == []
    rows = [line for line in text.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == len(PROBLEMS)
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(cells), f"empty cell in {row}"
    assert coverage.main(["--check"]) == 0, "run python scripts/coverage.py and commit docs/coverage.md"


def test_every_catalogue_service_pages_once_with_its_own_problem() -> None:
    """Each service with a health check is selected by exactly one service-down rule (or has an alert
    of its store probe), and that rule carries the problem services.yaml names for it."""
    paging: dict[str, list[rules.Rule]] = {}
    for r in rules.rules(CFG):
        for s in r.services:
            paging.setdefault(s, []).append(r)
    for s in catalogue.services().values():
        found = paging.get(s.name, [])
        assert len(found) == 1, f"{s.name}: paged by {[r.name for r in found]}"
        assert found[0].problem == s.problem, s.name


def test_example_alertmanager_config_is_valid_and_routes_by_severity() -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail("amtool is not installed (Debian package 'prometheus-alertmanager')")
    config = str(ALERTS / "alertmanager.example.yml")
    res = subprocess.run([amtool, "check-config", config], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    for severity, receiver in (("critical", "lucid-page"), ("warning", "lucid-ticket"), ("info", "lucid-null")):
        res = subprocess.run([amtool, "config", "routes", "test", f"--config.file={config}", f"severity={severity}",
                              "cluster=foundation", "problem=redis-memory-issues"],
                             capture_output=True, text=True, timeout=60)
        assert res.stdout.strip() == receiver, res.stdout + res.stderr


def test_drill_rules_keep_every_alert_with_a_short_for(tmp_path: Path) -> None:
    drill_rules = load_script(ROOT / "scripts" / "drill_rules.py")
    drill_rules.shortened_rules(tmp_path, 5)
    files = sorted(str(p) for p in tmp_path.glob("*.rules.yml"))
    res = subprocess.run([_promtool(), "check", "rules", *files], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    drill = [rule for f in files for g in yaml.safe_load(Path(f).read_text())["groups"] for rule in g["rules"]]
    assert {r["for"] for r in drill} == {"5s"}
    assert [r["alert"] for r in drill] == [r["alert"] for r in RULES]
    assert tmp_path.exists()


def test_drill_rules_can_scale_the_windows_and_keep_everything_else(tmp_path: Path) -> None:
    """The drills' rules: for: cut, the windows of the expressions (rate, increase, subqueries, offset)
    scaled but never below the floor; thresholds, labels and annotations as shipped."""
    drill_rules = load_script(ROOT / "scripts" / "drill_rules.py")
    assert drill_rules.scale_windows("increase(x[30m]) > 2", 0.05, 20) == "increase(x[90s]) > 2"
    assert drill_rules.scale_windows("rate(x[5m]) * 60 > 10", 0.05, 20) == "rate(x[20s]) * 60 > 10"
    assert drill_rules.scale_windows("x < 0.9 * max_over_time(x[1h:])", 0.05, 20) == "x < 0.9 * max_over_time(x[180s:])"
    assert drill_rules.scale_windows("x offset 1h", 0.05, 20) == "x offset 180s"
    files = drill_rules.shortened_rules(tmp_path, 10, 1, 0.05, 20)
    res = subprocess.run([_promtool(), "check", "rules", *map(str, files)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    drill = {r["alert"]: r for f in files for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]}
    for r in RULES:
        d = drill[r["alert"]] if r["alert"] != "LucidServiceDown" else None
        if d is None:
            continue
        assert d["labels"] == r["labels"] and d["annotations"] == r["annotations"] and d["for"] == "10s"
        assert ("[" in d["expr"]) == ("[" in r["expr"])
        assert not re.search(r"\[\d+[mhd]", d["expr"]), d["expr"]
