"""Loads the dashboard generator and the panel-query substitution from grafana/ (not a package)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

from .support import ROOT, load_script

GRAFANA = ROOT / "grafana"
DASHBOARD_DIR = GRAFANA / "dashboards"


def _load(name: str) -> ModuleType:
    return load_script(GRAFANA / f"{name}.py", f"lucid_grafana_{name}")


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
