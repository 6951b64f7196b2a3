"""Clocks for tests: one that moves only when the test moves it (`clock.now += 5`); the
reminders' clock (server/services/reminders/clock.py: planning, delivery, the claims, the
change notices) stepped by hand; and the services' wall clock moved forward by hand."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from server.services.reminders import clock as reminder_clock
from server.services.reminders.clock import SystemClock, to_ms


class ManualClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class SteppedClock:
    """The reminders' clock in integration tests: epoch milliseconds that move only when the
    test moves them (`advance`, or `ms` set), or by `sleep`, which returns at once with the
    clock moved by what was asked (plus `oversleep_ms`, as a busy event loop wakes a sleeper
    late). Every sleep is recorded."""

    def __init__(self, start: int | datetime = 1_900_000_000_000) -> None:
        self.ms = start if isinstance(start, int) else to_ms(start)
        self.sleeps: list[float] = []
        self.oversleep_ms = 0

    def now_ms(self) -> int:
        return self.ms

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.ms += round(seconds * 1000) + self.oversleep_ms
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.ms += round(seconds * 1000)


class MovableClock(SystemClock):
    """The reminders' and notices' clock in end-to-end tests: the wall clock plus `offset`
    seconds, moved forward by hand (a reminder for tomorrow falls due at once)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now_ms(self) -> int:
        return int((time.time() + self.offset) * 1000)

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    @classmethod
    def installed(cls, monkeypatch: Any) -> MovableClock:
        """A movable clock the app's reminders and change notices will use: the one clock
        server/bootstrap.py builds is made here instead (pass pytest's monkeypatch)."""
        moved = cls()
        monkeypatch.setattr(reminder_clock, "SystemClock", lambda: moved)
        return moved
