"""The domain facts of lucid-exporter, as package data: one YAML file per fact, one model each.

    clusters.yaml        the guide's ten clusters (+ the exporter itself)
    services.yaml        the Lucid services: cluster, port, health check, the problem that diagnoses them
    problems.yaml        the guide's 27 problems with their symptoms, diagnostic and solution steps
    checks/<profile>.yaml  an API profile: its status checks, and the service facts it changes
                         (guide: the troubleshooting guide's paths; lucid: the real Lucid code's)
    metrics.yaml         every metric the exporter writes (and the few Prometheus writes that rules read)
    alerts/<file>.yaml   the alert rules, each with its reason and its promtool cases

Each file is read and validated on first use, then cached: ``serve`` reads only the services and
the checks; ``doctor`` and the renderers read the rest. ``validate()`` cross-checks every reference
between the files (a service's cluster and problem, an alert's problem and metrics, ...) and is run
by the tests and the renderers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .models import AlertSpec, ApiProfile, Case, Cluster, MetricSpec, Problem, ServiceSpec, Step

__all__ = [
    "AlertSpec",
    "ApiProfile",
    "Case",
    "CatalogueDataError",
    "Cluster",
    "MetricSpec",
    "Problem",
    "ServiceSpec",
    "Step",
    "alert_files",
    "alerts",
    "clusters",
    "lucid_clusters",
    "metrics",
    "problems",
    "profile",
    "profile_names",
    "read",
    "services",
    "validate",
]

M = TypeVar("M", bound=BaseModel)


class CatalogueDataError(ValueError):
    """A package data file is malformed: a defect of the package, caught by the tests."""


def read(relative: str) -> Any:
    """The parsed YAML of one package data file."""
    text = resources.files(__name__).joinpath(relative).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def _rows(relative: str, key: str, model: type[M], name: Callable[[M], str]) -> dict[str, M]:
    data = read(relative)
    out: dict[str, M] = {}
    for i, row in enumerate(data.get(key, []) if isinstance(data, dict) else []):
        try:
            item = model.model_validate(row)
        except ValidationError as e:
            raise CatalogueDataError(f"{relative}: {key}[{i}]: {e}") from None
        if name(item) in out:
            raise CatalogueDataError(f"{relative}: {name(item)} is listed twice")
        out[name(item)] = item
    if not out:
        raise CatalogueDataError(f"{relative}: no {key}")
    return out


@cache
def clusters() -> Mapping[str, Cluster]:
    """Every cluster in the guide's order, the exporter's own last."""
    return _rows("clusters.yaml", "clusters", Cluster, lambda c: c.name)


def lucid_clusters() -> tuple[str, ...]:
    """The ten clusters of the Lucid stack, in the guide's order."""
    return tuple(c.name for c in clusters().values() if c.kind == "lucid")


@cache
def services() -> Mapping[str, ServiceSpec]:
    return _rows("services.yaml", "services", ServiceSpec, lambda s: s.name)


@cache
def problems() -> Mapping[str, Problem]:
    """The guide's problems in its order, then the exporter's own."""
    return _rows("problems.yaml", "problems", Problem, lambda p: p.slug)


@cache
def metrics() -> Mapping[str, MetricSpec]:
    return _rows("metrics.yaml", "metrics", MetricSpec, lambda m: m.name)


def profile_names() -> tuple[str, ...]:
    """The shipped API profiles (checks/<name>.yaml), guide first."""
    names = sorted(p.name.removesuffix(".yaml") for p in resources.files(__name__).joinpath("checks").iterdir()
                   if p.name.endswith(".yaml"))
    return tuple(sorted(names, key=lambda n: n != "guide"))


@cache
def profile(name: str = "guide") -> ApiProfile:
    """One API profile: its checks (every row, the unavailable ones too) and its service overrides."""
    if name not in profile_names():
        raise CatalogueDataError(f"no API profile {name!r} (shipped: {', '.join(profile_names())})")
    try:
        found = ApiProfile.model_validate(read(f"checks/{name}.yaml"))
    except ValidationError as e:
        raise CatalogueDataError(f"checks/{name}.yaml: {e}") from None
    if found.name != name:
        raise CatalogueDataError(f"checks/{name}.yaml: name is {found.name!r}")
    seen: set[str] = set()
    for c in found.checks:
        if c.name in seen:
            raise CatalogueDataError(f"checks/{name}.yaml: {c.name} is listed twice")
        seen.add(c.name)
    return found


def alert_files() -> tuple[str, ...]:
    """Rule files, one per cluster (the exporter's last): alerts/<name>.yaml."""
    return tuple(clusters())


@cache
def alerts() -> tuple[tuple[str, AlertSpec], ...]:
    """(file, alert) for every alert, in file order then in the order written."""
    out: list[tuple[str, AlertSpec]] = []
    seen: set[str] = set()
    for f in alert_files():
        for a in _rows(f"alerts/{f}.yaml", "alerts", AlertSpec, lambda a: a.alert).values():
            if a.alert in seen:
                raise CatalogueDataError(f"alerts/{f}.yaml: {a.alert} is defined in two files")
            seen.add(a.alert)
            out.append((f, a))
    return tuple(out)


def validate() -> list[str]:
    """Every reference between the files that does not resolve; [] when the catalogue is whole."""
    errors: list[str] = []
    cl, sv, pr, me = clusters(), services(), problems(), metrics()
    for p in pr.values():
        if p.cluster not in cl:
            errors.append(f"problems.yaml: {p.slug}: unknown cluster {p.cluster!r}")
        for step in (*p.diagnostics, *p.solutions):
            errors.extend(f"problems.yaml: {p.slug}: step {step.what!r} names unknown metric {m!r}"
                          for m in step.observed_by if m not in me)
    for s in sv.values():
        if s.cluster not in cl or cl[s.cluster].kind != "lucid":
            errors.append(f"services.yaml: {s.name}: unknown cluster {s.cluster!r}")
        if s.problem not in pr:
            errors.append(f"services.yaml: {s.name}: unknown problem {s.problem!r}")
    alert_names = {a.alert for _, a in alerts()}
    for name in profile_names():
        prof = profile(name)
        for svc, o in prof.services.items():
            if svc not in sv:
                errors.append(f"checks/{name}.yaml: services: unknown service {svc!r}")
            if o.absent and (o.port or o.container or o.health_path):
                errors.append(f"checks/{name}.yaml: services: {svc} is absent and has an address")
        for c in prof.checks:
            if c.service not in sv:
                errors.append(f"checks/{name}.yaml: {c.name}: unknown service {c.service!r}")
            elif prof.services.get(c.service, None) is not None and prof.services[c.service].absent \
                    and not c.unavailable:
                errors.append(f"checks/{name}.yaml: {c.name}: its service is absent under this profile")
            errors.extend(f"checks/{name}.yaml: {c.name}: replaced_by names unknown metric {m!r}"
                          for m in c.replaced_by if m not in me)
            errors.extend(f"checks/{name}.yaml: {c.name}: alerts names unknown alert {a!r}"
                          for a in c.alerts if a not in alert_names)
            errors.extend(f"checks/{name}.yaml: {c.name}: metric {e.metric} is not in metrics.yaml"
                          for e in c.metrics if e.metric not in me)
    for f, a in alerts():
        if a.problem and a.problem not in pr:
            errors.append(f"alerts/{f}.yaml: {a.alert}: unknown problem {a.problem!r}")
        for name in a.services:
            if name != "*" and name not in sv:
                errors.append(f"alerts/{f}.yaml: {a.alert}: unknown service {name!r}")
    return errors
