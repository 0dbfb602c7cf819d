"""Probes: one module per kind of source, each with ``build(settings, services) -> list[Probe]``.

``BUILDERS`` is the registry (like blackbox_exporter's ``Probers`` map): adding a source is adding
its module and one entry here. A module imports its client library only when it builds a probe,
so a disabled source costs no import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from . import (
    auth_verify,
    docker,
    elasticsearch,
    gateway,
    health,
    host,
    logs,
    mongodb,
    network,
    redis,
    status,
)

if TYPE_CHECKING:
    from ..config import Settings
    from ..inventory import Service
    from .base import Probe

Builder = Callable[["Settings", "dict[str, Service]"], "Sequence[Probe]"]

BUILDERS: dict[str, Builder] = {
    "health": health.build,
    "elasticsearch": elasticsearch.build,
    "mongodb": mongodb.build,
    "redis": redis.build,
    "status": status.build,
    "gateway": gateway.build,
    "auth_verify": auth_verify.build,
    "docker": docker.build,
    "logs": logs.build,
    "network": network.build,
    "host": host.build,
}


def build_all(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    probes: list[Probe] = []
    for build in BUILDERS.values():
        probes.extend(build(settings, services))
    return probes
