"""The one clock of reminders: planning, delivery, the claims and the shared lists' change
notices read time (epoch milliseconds) and sleep through it, so a test moves time by hand
(tests/clock.py) and every part sees the same move. Epoch milliseconds, not datetimes: the
reminder documents store integers (models/reminder.py says why)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Protocol

from models import clock as model_clock


class Clock(Protocol):
    def now_ms(self) -> int: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def to_ms(instant: datetime) -> int:
    """An aware instant as epoch milliseconds (a naive one is a bug: whose clock?)."""
    if instant.tzinfo is None:
        raise ValueError("aware datetime expected")
    return model_clock.to_ms(instant)


# Exact (no float rounding): models/clock.py's, the one every service uses.
from_ms = model_clock.from_ms


class Wakeup:
    """This process's idle delivery loop, woken early: planning a reminder due before the
    loop would look again (`sleeping_until`), or a chat becoming reachable, wakes it at once,
    instead of after up to `poll` seconds. Shared by planning, reachability and delivery."""

    def __init__(self) -> None:
        self.work = asyncio.Event()
        # When the idle loop will look again (clock ms); 0 while it is not asleep.
        self.sleeping_until = 0

    def due_at(self, due_ms: int) -> None:
        if due_ms < self.sleeping_until:
            self.work.set()

    def now(self) -> None:
        self.work.set()
