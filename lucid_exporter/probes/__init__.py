"""Probes: one module per kind of source. ``build_all`` asks each module for its probes.

A module exposes ``build(settings, services) -> list[Probe]``; adding a source is adding a
module and its name below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings
    from ..engine import Probe
    from ..inventory import Service

MODULES: tuple[str, ...] = (
    "health",
    "elasticsearch",
    "mongodb",
    "redis",
    "lucid",
    "docker",
    "logs",
    "network",
    "host",
)


def build_all(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    probes: list[Probe] = []
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        probes.extend(module.build(settings, services))
    return probes
