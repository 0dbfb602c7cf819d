"""The sim's clock, and the periodic events (blocks, anchors, samples) that a fault can stall.

The sim's clock is real time plus what a test made pass at once: ``POST /clock/advance?seconds=N``
on the control port makes N seconds of the sim's life go by without waiting, so that blocks,
rounds, sessions, queues, samples and fault durations all move on by N. The sim keeps answering
with real timestamps, because the exporter and Prometheus compare them with their own clocks:
advancing moves everything that has already happened N seconds into the past (each part of the
sim shifts its own instants, see ``SimClock.on_advance``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field


class ClockError(ValueError):
    pass


@dataclass
class SimClock:
    advanced: float = 0.0  # seconds made to pass at once, in total
    _listeners: list[Callable[[float], None]] = field(default_factory=list)

    def on_advance(self, listener: Callable[[float], None]) -> None:
        """``listener(seconds)`` moves its part's past ``seconds`` back."""
        self._listeners.append(listener)

    def advance(self, seconds: float) -> None:
        if not math.isfinite(seconds) or seconds < 0:
            raise ClockError(f"seconds must be a finite number >= 0, got {seconds!r}")
        self.advanced += seconds
        for listener in self._listeners:
            listener(seconds)


@dataclass
class Ticker:
    """Something that happens once per ``period`` (a block, an anchor, a resource sample) and
    stops while a fault stalls it.

    Ticks are numbered from the sim's start (``tick`` is passed in, computed from the sim's
    clock). While stalled, the last tick stays the one at which it stopped; once the fault is
    cleared the next event carries the current time again (fresh within one period). What it
    produced (``count``) continues from where it stopped, unless ``catches_up``.
    """

    period: float
    # True for an observer of someone else's events (the TRON client following the TRON
    # network): after reconnecting it sees the network's latest block at once.
    catches_up: bool = False
    stalled_at: int | None = None
    lost: int = 0  # ticks that produced nothing while stalled

    def follow(self, tick: int, stalled: bool) -> None:
        if stalled and self.stalled_at is None:
            self.stalled_at = tick
        elif not stalled and self.stalled_at is not None:
            if not self.catches_up:
                self.lost += tick - self.stalled_at
            self.stalled_at = None

    def last(self, tick: int) -> int:
        """The tick of the latest event."""
        return tick if self.stalled_at is None else self.stalled_at

    def count(self, tick: int) -> int:
        """Events produced up to and including the latest."""
        return self.last(tick) - self.lost
