"""Sleeping until a deadline or until there is work: the idle wait of the background loops
(reminder delivery, change notices), which must not poll the database while nothing is due."""

from __future__ import annotations

import asyncio
from typing import Protocol


class Sleeper(Protocol):
    async def sleep(self, seconds: float) -> None: ...


async def sleep_or_work(clock: Sleeper, work: asyncio.Event, seconds: float) -> None:
    """The clock's sleep, cut short when `work` is set. Two tasks raced with asyncio.wait,
    not wait_for (on Python 3.11 wait_for can swallow a cancellation that arrives as the
    event is set, and the loop would never stop)."""
    if work.is_set():
        return
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    waiter = asyncio.ensure_future(work.wait())
    try:
        await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, waiter):
            task.cancel()
        await asyncio.gather(sleeper, waiter, return_exceptions=True)
