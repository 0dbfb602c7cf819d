"""The Probe interface: one diagnostic source against one target.

Every probe module under ``probes/`` builds ``Probe`` objects; the engine runs them. A probe returns
samples or raises (preferably ``ProbeError`` with a reason from ``errors.REASONS``); it never touches
prometheus_client.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from ..metrics import Sample

if TYPE_CHECKING:
    from ..config import Settings


@dataclass
class ProbeContext:
    """What a probe may use: the shared HTTP pool and the configuration."""

    http: aiohttp.ClientSession
    settings: Settings
    # Monotonic deadline of the current run; probes with several steps can check it.
    deadline: float = 0.0

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


class Probe(ABC):
    """One diagnostic source against one target.

    ``kind`` and ``target`` become the ``probe`` and ``target`` labels of the self-metrics.
    ``selectors`` are the names ``/probe?target=`` accepts for it (a service name selects
    its health probe and all its status checks).

    ``min_interval`` overrides ``probes.min_interval_seconds`` for this probe. A ``background``
    probe (an expensive source on a long interval of its own) is refreshed without making a
    scrape wait, once it has a result: the scrape serves the last one, whose age is exported.
    """

    kind: str = "probe"
    target: str = ""
    timeout: float | None = None
    min_interval: float | None = None
    background: bool = False

    @property
    def selectors(self) -> frozenset[str]:
        return frozenset({self.target})

    @abstractmethod
    async def run(self, ctx: ProbeContext) -> list[Sample]:
        """Return samples, or raise (preferably ProbeError with a reason)."""

    def http_requests(self, settings: Settings) -> Iterable[tuple[str, int]]:
        """(url, n): the requests one run sends at once through the shared HTTP pool, so that
        the pool keeps enough connections to each host (see ``Engine.http_pool_limits``)."""
        return ()

    def failure_samples(self, reason: str) -> list[Sample]:
        """Samples still exposed when the probe fails, e.g. ``up 0``."""
        return []

    async def close(self) -> None:  # noqa: B027 - optional hook, most probes hold nothing
        """Release long-lived clients."""
