"""Fault injection for the simulated stack.

HTTP-level kinds change how a service answers every request; other kinds (added by the
status simulations) change the state a service reports. A service may carry several.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("lucid_sim")

# Precedence: the first of these a service carries decides how it answers HTTP.
HTTP_KINDS: tuple[str, ...] = ("down", "hang", "error", "garbage", "unhealthy", "degraded")
DESCRIPTIONS: dict[str, str] = {
    "down": "connection refused (the listener is closed)",
    "hang": "accepts the connection and never answers",
    "error": "HTTP 500",
    "garbage": "HTTP 200 with invalid JSON",
    "unhealthy": "HTTP 200 with status unhealthy",
    "degraded": "HTTP 200 with status degraded",
}


class FaultError(ValueError):
    pass


@dataclass
class Faults:
    known_services: set[str]
    # kind -> description; a personality's descriptions of the HTTP kinds replace DESCRIPTIONS'.
    extra_kinds: dict[str, str] = field(default_factory=dict)
    active: dict[str, set[str]] = field(default_factory=dict)
    # The running personality's veto: why ``kind`` cannot be expressed on ``service`` in the answers
    # it imitates (one line), or None. A refused fault is never set: ``PUT`` answers 400 with it.
    refuse: Callable[[str, str], str | None] | None = None

    def kinds(self) -> dict[str, str]:
        return {**DESCRIPTIONS, **self.extra_kinds}

    def add(self, service: str, kind: str) -> None:
        if service not in self.known_services:
            raise FaultError(f"unknown service {service!r}; known: {', '.join(sorted(self.known_services))}")
        if kind not in self.kinds():
            raise FaultError(f"unknown fault kind {kind!r}; known: {', '.join(sorted(self.kinds()))}")
        reason = self.refuse(service, kind) if self.refuse is not None else None
        if reason:
            raise FaultError(f"{kind} on {service}: {reason}")
        self.active.setdefault(service, set()).add(kind)

    def clear(self, service: str | None = None, kind: str | None = None) -> None:
        if service is None:
            self.active.clear()
        elif kind is None:
            self.active.pop(service, None)
        else:
            self.active.get(service, set()).discard(kind)

    def has(self, service: str, kind: str) -> bool:
        return kind in self.active.get(service, ())

    def http_fault(self, service: str) -> str | None:
        current = self.active.get(service, set())
        return next((k for k in HTTP_KINDS if k in current), None)


def parse_spec(spec: str) -> tuple[str, str]:
    """``SERVICE=KIND`` from the command line."""
    service, sep, kind = spec.partition("=")
    if not sep or not service or not kind:
        raise FaultError(f"--fault takes SERVICE=KIND, got {spec!r}")
    return service.strip(), kind.strip()


class FaultFollower:
    """A part of the sim that follows the faults injected at runtime: ``sync()`` every 0.2 s.

    A failing sync is logged and tried again on the next tick; it never ends the loop.
    """

    follow_interval = 0.2
    _follow_task: asyncio.Task[None] | None = None

    async def sync(self) -> None:
        raise NotImplementedError

    def start_following(self) -> None:
        self._follow_task = asyncio.create_task(self._follow())

    async def stop_following(self) -> None:
        if self._follow_task is not None:
            self._follow_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow_task
            self._follow_task = None

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.follow_interval)
            try:
                await self.sync()
            except Exception as e:  # the next tick tries again
                log.warning("sim: %s could not follow the faults: %s", type(self).__name__, e)
