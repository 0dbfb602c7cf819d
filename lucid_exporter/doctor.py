"""``lucid-exporter doctor``: the guide's methodology as a command, from the same data as the alerts.

One probe round (identify), then every shipped alert rule is evaluated on that round (check health):
a rule whose condition holds names its problem, the same problem and runbook section its page
would name, with the same sentence. For each problem observed: the guide's diagnostic steps with
the values the exporter read in their place, its log steps (analyse logs), its solutions with
destructive and secret-revealing steps flagged from the data (apply solutions), and how to verify.

What the exporter cannot see is said as such: a failed probe (the docker socket not mounted, a
store refusing the exporter) or a disabled source is listed under "cannot see", and no problem is
diagnosed from it. Rules over a range (rate, increase) need Prometheus' history and are counted.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import alerttext, catalogue, inventory, rules
from .catalogue import Problem, Step
from .checks import profile_gaps
from .config import Settings
from .engine import ProbeResult
from .metrics import Sample
from .probes.status import not_run
from .promql import NeedsHistory, evaluate

MAX_OBSERVED = 6  # values printed per metric of a step


@dataclass
class Firing:
    """One series for which an alert's condition holds in this round."""

    rule: rules.Rule
    labels: dict[str, str]
    value: float

    @property
    def description(self) -> str:
        return alerttext.render(self.rule.spec.description, self.labels, self.value)


@dataclass
class Finding:
    problem: Problem
    firing: list[Firing] = field(default_factory=list)

    @property
    def services(self) -> list[str]:
        """The services it concerns: the firing series' own, or the one service its alert pages for."""
        names = {f.labels["service"] for f in self.firing if f.labels.get("service")}
        names |= {f.rule.services[0] for f in self.firing if len(f.rule.services) == 1}
        return sorted(names)

    def runbook_url(self, cfg: rules.RenderConfig) -> str:
        return self.firing[0].rule.runbook_url(cfg)


@dataclass
class Diagnosis:
    findings: list[Finding]
    failed: list[ProbeResult]  # what the exporter could not read this round
    disabled: list[str]  # sources switched off in the config
    needs_history: list[str]  # alerts Prometheus evaluates over time, not doctor
    samples: list[Sample]
    probes: int
    profile: str = "guide"
    # (alert, check, note): alerts the API profile leaves blind (the check they read has no endpoint there)
    blind_alerts: list[tuple[str, str, str]] = field(default_factory=list)
    # (check, why): checks of the profile not run for want of a credential or input
    not_run: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _disabled(settings: Settings) -> list[str]:
    """The sources switched off in the config (every section with an ``enabled`` key), by what they
    watch (the section's description)."""
    out = []
    for name, spec in type(settings).model_fields.items():
        section = getattr(settings, name)
        if getattr(section, "enabled", True) is False:
            out.append(f"{spec.description or name} ({name}.enabled: false)")
    return out


def diagnose(results: Iterable[ProbeResult], settings: Settings, now: float | None = None,
             cfg: rules.RenderConfig | None = None) -> Diagnosis:
    """Every shipped rule (the exporter's own aside) evaluated on one round's samples."""
    now = time.time() if now is None else now
    results = list(results)
    samples = [s for r in results for s in r.samples]
    series = [(s.name, dict(s.labels), s.value) for s in samples]
    by_problem: dict[str, Finding] = {}
    needs_history: list[str] = []
    problems = catalogue.problems()
    for rule in rules.rules(cfg):
        if catalogue.clusters()[rule.file].kind == "exporter":
            continue  # the exporter's own health: shown as what it cannot see
        try:
            points = evaluate(rule.expr, series, now)
        except NeedsHistory:
            if rule.name not in needs_history:
                needs_history.append(rule.name)
            continue
        for p in points:
            labels = {k: v for k, v in p.labels if k != "__name__"}
            finding = by_problem.setdefault(rule.problem, Finding(problems[rule.problem]))
            finding.firing.append(Firing(rule, labels, p.value))
    order = list(problems)
    findings = sorted(by_problem.values(), key=lambda f: order.index(f.problem.slug))
    failed = [r for r in results if not r.success]
    profile = settings.status.profile
    blind = profile_gaps(profile, settings.checks) if settings.status.enabled else []
    skipped = [(f"{c.service}/{c.name}", why) for c, why in not_run(settings, inventory.build(settings))]
    return Diagnosis(findings, failed, _disabled(settings), needs_history, samples, len(results), profile, blind,
                     skipped)


# -- what was observed in a step's place ----------------------------------------------------------
def _containers(services: list[str]) -> set[str]:
    specs = catalogue.services()
    return {specs[s].container_name for s in services if s in specs}


def _agrees(sample: Sample, finding: Finding) -> bool:
    for f in finding.firing:
        shared = set(sample.labels) & set(f.labels)
        if shared and all(sample.labels[k] == f.labels[k] for k in shared):
            return True
    return False


def observed(step: Step, finding: Finding, samples: list[Sample]) -> list[str]:
    """``name{labels} value`` for the step's metrics, narrowed to the finding's services when the
    metric has a service or container label."""
    services = set(finding.services)
    containers = _containers(finding.services)
    out: list[str] = []
    for metric in step.observed_by:
        rows = [s for s in samples if s.name == metric]
        narrowed = [s for s in rows if s.labels.get("service") in services or s.labels.get("container") in containers]
        shown = narrowed or [s for s in rows if "service" not in s.labels and "container" not in s.labels] or rows
        # Closer still: the series that agree with a firing alert on every label they share with it
        # (the hardware wallet's state, not every dependency's one-hot states).
        shown = [s for s in shown if _agrees(s, finding)] or shown
        for s in shown[:MAX_OBSERVED]:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out.append(f"{metric}{{{labels}}} {alerttext.go_value(s.value)}")
        if len(shown) > MAX_OBSERVED:
            out.append(f"{metric}: {len(shown) - MAX_OBSERVED} more series")
        if not rows:
            out.append(f"{metric}: not read this round")
    return out


def _flags(step: Step) -> str:
    flags = []
    if step.destructive:
        flags.append(f"DESTRUCTIVE ({step.note})" if step.note else "DESTRUCTIVE")
    if step.reveals_secret:
        flags.append(f"REVEALS A SECRET ({step.note}): do not paste its output anywhere" if step.note
                     else "REVEALS A SECRET: do not paste its output anywhere")
    return " ".join(flags)


def _step(step: Step, lines: list[str] | None = None) -> str:
    flag = _flags(step)
    head = f"    - {flag + ': ' if flag else ''}{step.what}"
    cmd = "        " + step.command.replace("\n", "\n        ")
    seen = "".join(f"\n        observed: {o}" for o in (lines or []))
    return f"{head}\n{cmd}{seen}"


def _is_log_step(step: Step) -> bool:
    return "docker logs" in step.command


# -- reports --------------------------------------------------------------------------------------
def _cannot_see(d: Diagnosis) -> list[str]:
    out = [f"    - {what}: disabled in the configuration" for what in d.disabled]
    out += [f"    - {r.probe.kind} {r.probe.target}: {r.reason}: {r.message}" for r in d.failed]
    out += [f"    - lucid_status {target}: not run: {why}" for target, why in d.not_run]
    return out


def report_text(d: Diagnosis, cfg: rules.RenderConfig | None = None) -> str:
    cfg = cfg or rules.RenderConfig()
    failed = len(d.failed)
    lines = [f"1. Identify (API profile {d.profile}): {d.probes} probes ran, {d.probes - failed} succeeded, "
             f"{failed} failed."]
    blind = _cannot_see(d)
    if blind:
        lines.append("   Cannot see (no problem is diagnosed from these; fix the exporter's access or config):")
        lines.extend(blind)
    if d.needs_history:
        lines.append(f"   {len(d.needs_history)} alert(s) need history over time and are left to Prometheus: "
                     + ", ".join(d.needs_history))
    if d.blind_alerts:
        lines.append(f"   API profile {d.profile}: {len(d.blind_alerts)} alert(s) read a check this API has no "
                     "endpoint for and cannot fire (docs/status-checks.md):")
        lines.extend(f"    - {alert} ({check}): {note}" for alert, check, note in d.blind_alerts)
    if not d.findings:
        lines.append("2. Check health: no guide problem observed in what the exporter can see.")
        return "\n".join(lines) + "\n"
    lines.append(f"2. Check health: {len(d.findings)} guide problem(s) observed.\n")
    for i, f in enumerate(d.findings, 1):
        p = f.problem
        lines.append(f"=== [{i}] {p.title}  (cluster {p.cluster}; runbook {f.runbook_url(cfg)})")
        lines.append("  Observed (the alerts that page for it once their for: has passed):")
        for fire in f.firing:
            lines.append(f"    - {fire.rule.name} ({fire.rule.spec.severity}, for {fire.rule.spec.for_}): "
                         f"{fire.description}")
        health = [s for s in p.diagnostics if not _is_log_step(s)]
        logs = [s for s in p.diagnostics if _is_log_step(s)]
        if health:
            lines.append("  Check health (the guide's diagnostic steps, and what the exporter read in their place):")
            lines.extend(_step(s, observed(s, f, d.samples)) for s in health)
        if logs:
            lines.append("  Analyse logs:")
            lines.extend(_step(s, observed(s, f, d.samples)) for s in logs)
        if p.solutions:
            lines.append("  Apply solutions (in order; read the runbook section before any flagged step):")
            lines.extend(_step(s) for s in p.solutions)
        verify = f" --target {f.services[0]}" if f.services else ""
        lines.append(f"  Verify: lucid-exporter doctor{verify} (exit 0 when the problem is gone)\n")
    return "\n".join(lines)


def _step_json(step: Step, lines: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"what": step.what, "command": step.command, "destructive": step.destructive,
                           "reveals_secret": step.reveals_secret}
    if step.note:
        out["note"] = step.note
    if lines is not None:
        out["observed"] = lines
    return out


def report_json(d: Diagnosis, cfg: rules.RenderConfig | None = None) -> dict[str, Any]:
    cfg = cfg or rules.RenderConfig()
    return {
        "ok": d.ok,
        "probes": {"total": d.probes, "failed": len(d.failed)},
        "cannot_see": [{"probe": r.probe.kind, "target": r.probe.target, "reason": r.reason, "error": r.message}
                       for r in d.failed] + [{"disabled": what} for what in d.disabled]
        + [{"probe": "lucid_status", "target": target, "not_run": why} for target, why in d.not_run],
        "needs_history": d.needs_history,
        "profile": d.profile,
        "blind_alerts": [{"alert": a, "check": c, "note": n} for a, c, n in d.blind_alerts],
        "findings": [
            {"problem": f.problem.slug, "title": f.problem.title, "cluster": f.problem.cluster,
             "runbook": f.runbook_url(cfg), "services": f.services,
             "alerts": [{"alert": x.rule.name, "severity": x.rule.spec.severity, "labels": x.labels,
                         "value": x.value, "description": x.description} for x in f.firing],
             "diagnostics": [_step_json(s, observed(s, f, d.samples)) for s in f.problem.diagnostics],
             "solutions": [_step_json(s) for s in f.problem.solutions]}
            for f in d.findings
        ],
    }
