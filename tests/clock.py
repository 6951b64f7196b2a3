"""Clocks for tests: one that moves only when the test moves it (`clock.now += 5`), and the
services' wall clock moved forward by hand."""

from __future__ import annotations

import time

from server.services.reminders.clock import SystemClock


class ManualClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class MovableClock(SystemClock):
    """The reminders' and notices' clock in end-to-end tests: the wall clock plus `offset`
    seconds, moved forward by hand (a reminder for tomorrow falls due at once)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now_ms(self) -> int:
        return int((time.time() + self.offset) * 1000)

    def advance(self, seconds: float) -> None:
        self.offset += seconds
