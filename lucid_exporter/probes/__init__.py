"""Probes: one module per kind of source, each with ``build(settings, services) -> list[Probe]``.

``BUILDERS`` is the registry (like blackbox_exporter's ``Probers`` map): adding a source is adding
its module and one entry here. A module is imported only when its source is enabled
(``Source.enabled``), so a disabled source costs no import of its client library (redis-py,
pymongo, the docker SDK) at start-up or in memory; tests/unit/test_lazy_imports.py holds it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings
    from ..inventory import Service
    from .base import Probe

Builder = Callable[["Settings", "dict[str, Service]"], "Sequence[Probe]"]


@dataclass(frozen=True)
class Source:
    """One kind of source: its module under probes/ and whether the configuration turns it on."""

    module: str
    enabled: Callable[[Settings], bool]

    def builder(self) -> Builder:
        build: Builder = importlib.import_module(f"{__name__}.{self.module}").build
        return build


def _always(settings: Settings) -> bool:
    return True


def _status(settings: Settings) -> bool:
    return settings.status.enabled


BUILDERS: dict[str, Source] = {
    "health": Source("health", _always),
    "elasticsearch": Source("elasticsearch", lambda s: s.elasticsearch.enabled),
    "mongodb": Source("mongodb", lambda s: s.mongodb.enabled),
    "redis": Source("redis", lambda s: s.redis.enabled),
    "status": Source("status", _status),
    "gateway": Source("gateway", _status),
    "auth_verify": Source("auth_verify", _status),
    "docker": Source("docker", lambda s: s.docker.enabled),
    # The log probe reads the docker engine's logs: nothing to read without the engine.
    "logs": Source("logs", lambda s: s.logs.enabled and s.docker.enabled),
    "network": Source("network", lambda s: s.network.enabled),
    "host": Source("host", lambda s: s.host.enabled),
}


def build_all(settings: Settings, services: dict[str, Service]) -> list[Probe]:
    probes: list[Probe] = []
    for source in BUILDERS.values():
        if source.enabled(settings):
            probes.extend(source.builder()(settings, services))
    return probes
