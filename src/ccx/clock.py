"""Clocks: the system clock, and a simulated one that tests and simulations move by hand.

Ledger timestamps are integer nanoseconds since the Unix epoch (as in TigerBeetle).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

NS_PER_S = 1_000_000_000


class Clock(Protocol):
    def now_ns(self) -> int:
        """Nanoseconds since the Unix epoch."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now_ns(self) -> int:
        return time.time_ns()


class SimulatedClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start_ns: int = 1_767_225_600 * NS_PER_S) -> None:  # 2026-01-01 UTC
        assert start_ns >= 0
        self._now_ns = start_ns
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._now_ns

    def advance(self, seconds: float = 0.0, *, ns: int = 0) -> int:
        delta_ns = int(seconds * NS_PER_S) + ns
        assert delta_ns >= 0, "a simulated clock never goes back"
        with self._lock:
            self._now_ns += delta_ns
            return self._now_ns
