"""Loads the dashboard generator and the panel-query substitution from grafana/ (not a package)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from .support import ROOT

GRAFANA = ROOT / "grafana"
DASHBOARD_DIR = GRAFANA / "dashboards"


def _load(name: str) -> ModuleType:
    key = f"lucid_grafana_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, GRAFANA / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


generate = _load("generate")
queries = _load("queries")


def committed_dashboards() -> dict[str, dict[str, Any]]:
    """uid -> dashboard, from the committed JSON files."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        d = json.loads(path.read_text())
        out[d["uid"]] = d
    return out


def dashboard_paths() -> list[Path]:
    return sorted(DASHBOARD_DIR.glob("*.json"))


# Series Prometheus writes itself (the alert panels add "or vector(0)" to ALERTS; the scrape's own
# up and scrape_duration_seconds exist for every scrape of the exporter).
FROM_PROMETHEUS = frozenset({"ALERTS", "up", "scrape_duration_seconds"})


def all_panel_queries(rate_interval: str = "1m", interval: str = "15s", values: dict[str, Any] | None = None,
                      ) -> list[Any]:
    """Every panel query of every committed dashboard, substituted (``queries.PanelQuery``)."""
    out: list[Any] = []
    for d in committed_dashboards().values():
        out += queries.panel_queries(d, values, rate_interval=rate_interval, interval=interval)
    return out


def metrics_not_exported(expr: str, exported: frozenset[str] | set[str]) -> set[str]:
    """The metrics ``expr`` uses that are not in ``exported`` (sample names of the exporter's /metrics).

    The rule of the live tests: a panel query must return data when this is empty.
    """
    return set(generate.metric_names(expr)) - set(exported) - FROM_PROMETHEUS
