"""The data probes return: plain samples, turned into metric families by the collector.

Probes never touch prometheus_client; they return ``Sample`` values. This keeps parsing
pure and testable and lets the collector build fresh families on every scrape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

MetricType = Literal["gauge", "counter", "info"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of one metric. ``name`` is the full metric name (``lucid_...``).

    Counter names end in ``_total``; the collector strips and re-adds it as the
    exposition format expects.
    """

    name: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)
    help: str = ""
    type: MetricType = "gauge"


def gauge(name: str, value: float, help: str = "", **labels: str) -> Sample:
    return Sample(name, float(value), labels, help, "gauge")


def counter(name: str, value: float, help: str = "", **labels: str) -> Sample:
    return Sample(name, float(value), labels, help, "counter")


def one_hot(name: str, label: str, current: str, states: tuple[str, ...], help: str = "",
            **labels: str) -> list[Sample]:
    """A state as one series per possible value, 1 on the current one (the enum pattern).

    A current value outside ``states`` is still exposed so that nothing is silently lost.
    """
    values = list(states) if current in states else [*states, current]
    return [Sample(name, 1.0 if s == current else 0.0, {**labels, label: s}, help) for s in values]
