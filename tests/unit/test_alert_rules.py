"""The alert rules pack: promtool checks and unit tests, structure, runbook links, coverage.

Runs Debian's promtool (``promtool check rules`` and ``promtool test rules``); fails, never skips,
when promtool is missing (``make setup`` installs the ``prometheus`` package).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "alerts"
RUNBOOKS = ROOT / "docs" / "runbooks"
CLUSTERS = ("foundation", "auth", "gateway", "blockchain", "sessions", "rdp", "nodes", "admin", "tron", "system")
TEMPLATED_CLUSTER = "{{ $labels.cluster }}"
# Where the troubleshooting guide may be: in CI shared/ is a sibling of the clone; the worktrees
# of the development machine sit one level deeper.
GUIDE_CANDIDATES = [
    ROOT.parent / "shared" / "seed" / "lucid-troubleshooting-guide.md",
    ROOT.parent.parent / "shared" / "seed" / "lucid-troubleshooting-guide.md",
]
# Alerts whose description is static: the series they fire on carry no label or value that tells
# more than the alert's name (a single 0/1 status, or absent()).
STATIC_DESCRIPTION_OK = {
    "LucidMongoDBReplicaSetNotInitialized", "LucidMongoDBAuthenticationFailing", "LucidElasticsearchDown",
    "LucidElasticsearchClusterRed", "LucidElasticsearchClusterYellow", "LucidAuthTokenVerificationFailing",
    "LucidAuthServiceDegraded", "LucidGatewayRateLimitNotEnforced", "LucidConsensusNotReached",
    "LucidChunkEncryptionFailing", "LucidRDPPortPoolExhausted", "LucidNoActiveNodes", "LucidPoOTScoresMissing",
    "LucidAdminRBACCheckFailing", "LucidAdminRBACNoRoles", "LucidTronNetworkDisconnected", "LucidExporterAbsent",
}
DESTRUCTIVE = re.compile(
    r"flushall|flushdb|deleteMany|changeUserPassword|system prune|volume prune|network rm|-X DELETE|openssl rand"
)


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


generate = _load(ALERTS / "generate.py", "lucid_alerts_generate")
coverage = _load(ROOT / "scripts" / "coverage.py", "lucid_alerts_coverage")


def _rules() -> list[dict[str, Any]]:
    out = []
    for path in sorted(ALERTS.glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                out.append({**rule, "_file": path.name.removesuffix(".rules.yml")})
    return out


def _problems() -> list[dict[str, str]]:
    return list(yaml.safe_load((ALERTS / "guide_problems.yml").read_text())["problems"])


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
SLUGS = {p["slug"]: p for p in PROBLEMS}


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
    names = [r["alert"] for r in RULES]
    assert len(names) == len(set(names)), "alert names must be unique"
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
        guarded = re.search(r"/ \(.*> 0\)", expr) or expr.startswith("count(")
        assert guarded, f"{r['alert']}: denominator of {expr!r} is not guarded against 0"


def test_problem_labels_are_the_slugs_of_the_guide_headings() -> None:
    assert len(PROBLEMS) == 27
    for p in PROBLEMS:
        assert p["slug"] == coverage.github_anchor(p["title"])
        assert p["cluster"] in CLUSTERS
    for r in RULES:
        if r["_file"] == "exporter":
            continue
        problem = r["labels"]["problem"]
        assert problem in SLUGS, f"{r['alert']}: problem {problem!r} is not a guide heading"
        assert SLUGS[problem]["cluster"] == r["_file"], f"{r['alert']}: {problem} belongs to another cluster"


def test_each_of_the_27_problems_is_detected_by_an_alert() -> None:
    covered = {r["labels"]["problem"] for r in RULES}
    missing = [p["title"] for p in PROBLEMS if p["slug"] not in covered]
    assert not missing, f"problems without an alert: {missing}"


def test_committed_problem_list_matches_the_guide_when_the_guide_is_present() -> None:
    guide = next((p for p in GUIDE_CANDIDATES if p.exists()), None)
    if guide is None:  # in CI without ../shared: the committed data is the reference
        return
    part = section = ""
    found = []
    for line in guide.read_text().splitlines():
        if line.startswith("## "):
            part = line[3:].strip()
        elif line.startswith("### "):
            section = line[4:].strip()
        elif line.startswith("#### Problem: "):
            found.append({"title": line.removeprefix("#### Problem: ").strip(), "part": part, "section": section})
    assert found == [{k: p[k] for k in ("title", "part", "section")} for p in PROBLEMS]


def test_runbook_urls_resolve_to_headings_of_the_runbooks() -> None:
    for r in RULES:
        url = r["annotations"]["runbook_url"]
        assert url.startswith(generate.RUNBOOK_BASE + "/"), url
        file, _, anchor = url.removeprefix(generate.RUNBOOK_BASE + "/").partition("#")
        path = RUNBOOKS / file
        assert path.exists(), f"{r['alert']}: {path} does not exist"
        assert anchor in coverage.runbook_anchors(path), f"{r['alert']}: no heading #{anchor} in {file}"
        assert anchor == r["labels"]["problem"], r["alert"]


def test_dashboard_urls_point_at_the_overview_or_the_cluster_dashboard() -> None:
    for r in RULES:
        url = r["annotations"]["dashboard_url"]
        assert url.startswith(generate.DASHBOARD_BASE + "/"), url
        uid = url.removeprefix(generate.DASHBOARD_BASE + "/")
        assert uid in {"lucid-overview", f"lucid-{r['_file']}"}, f"{r['alert']}: {uid}"


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
        sections = _sections(RUNBOOKS / f"{p['cluster']}.md")
        assert p["slug"] in sections, f"no section for {p['title']} in {p['cluster']}.md"
        body = sections[p["slug"]]
        for part in ("**Symptoms.**", "**Alerts that fire.**", "**Metrics to look at.**", "**Verify.**"):
            assert part in body, f"{p['title']}: runbook section lacks {part}"
        assert "```bash" in body, f"{p['title']}: runbook section lacks the guide's commands"


def test_destructive_steps_carry_a_warning_and_a_safer_first_step() -> None:
    for path in sorted(RUNBOOKS.glob("*.md")):
        if path.name == "README.md":  # the index only names them
            continue
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if not DESTRUCTIVE.search(line):
                continue
            before = "\n".join(lines[max(0, i - 15): i + 1])
            assert re.search(r"\*\*(Destructive|Caution)", before), f"{path.name}:{i + 1}: unmarked {line.strip()!r}"
            block = "\n".join(lines[max(0, i - 15): i + 15])
            assert "Safer" in block or "safer" in block, f"{path.name}:{i + 1}: no safer first step"


def test_coverage_table_is_current_and_every_row_is_filled() -> None:
    text, errors = coverage.build()
    assert errors == []
    rows = [line for line in text.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == 27
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(cells), f"empty cell in {row}"
    assert coverage.main(["--check"]) == 0, "run python scripts/coverage.py and commit docs/coverage.md"


def _selector_matches(selector: str, service: str) -> bool:
    m = re.search(r'service(=~|!~|!=|=)"([^"]*)"', selector)
    if m is None:
        return True
    op, value = m.groups()
    full = re.fullmatch(value, service) is not None if "~" in op else value == service
    return full if op in ("=", "=~") else not full


def test_every_catalogue_service_has_exactly_one_down_alert() -> None:
    from lucid_exporter.inventory import default_catalogue

    down_rules = [r for r in RULES if re.match(r"lucid_service_up(\{[^}]*\})? == 0$", r["expr"])]
    own_probe = {"mongodb": "LucidMongoDBDown", "redis": "LucidRedisDown", "elasticsearch": "LucidElasticsearchDown"}
    names = {r["alert"] for r in RULES}
    services = [s.name for s in default_catalogue().values() if s.health != "none"] + ["a-service-added-in-config"]
    for service in services:
        matching = [r["alert"] for r in down_rules if _selector_matches(r["expr"], service)]
        if service in own_probe:
            assert matching == [] and own_probe[service] in names, (service, matching)
        else:
            assert len(matching) == 1, f"{service}: down alerts {matching}"


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
    import importlib.util

    spec = importlib.util.spec_from_file_location("drill_rules", ROOT / "scripts" / "drill_rules.py")
    assert spec is not None and spec.loader is not None
    drill_rules = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(drill_rules)
    drill_rules.shortened_rules(tmp_path, 5)
    files = sorted(str(p) for p in tmp_path.glob("*.rules.yml"))
    res = subprocess.run([_promtool(), "check", "rules", *files], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    drill = [rule for f in files for g in yaml.safe_load(Path(f).read_text())["groups"] for rule in g["rules"]]
    assert {r["for"] for r in drill} == {"5s"}
    assert [r["alert"] for r in drill] == [r["alert"] for r in RULES]
