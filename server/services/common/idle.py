"""The background loops' shared parts (reminder delivery, change notices): sleeping until a
deadline or until there is work (they must not poll the database while nothing is due), and
going on after a step failed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from pymongo.errors import PyMongoError

log = logging.getLogger(__name__)


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


class StepFailures:
    """A background loop's step run so that no failure stops the loop: the database away is
    warned about and retried after a pause growing to 5 s (nothing is lost: what is due stays
    due), a bug is logged with its traceback and retried after one growing to 30 s (a claim
    left behind lapses with its lease)."""

    def __init__(self, loop: str, clock: Sleeper) -> None:
        self._loop = loop  # the loop's name in the log: "reminders", "change notices"
        self._clock = clock
        self._failures = 0

    async def attempt(
        self,
        step: Callable[[], Awaitable[bool]],
        *,
        database_away: Callable[[], Awaitable[None]] | None = None,
    ) -> bool | None:
        """The step's result, or None when it failed (after the pause). `database_away`:
        what to do instead of the warning and pause when the database is away."""
        try:
            result = await step()
        except PyMongoError as exc:
            self._failures += 1
            if database_away is not None:
                await database_away()
            else:
                log.warning("%s: database unavailable (%s)", self._loop, type(exc).__name__)
                await self._clock.sleep(min(5.0, 0.2 * 2**self._failures))
            return None
        except Exception:
            self._failures += 1
            log.exception("%s: delivery failed", self._loop)
            await self._clock.sleep(min(30.0, 0.5 * 2**self._failures))
            return None
        self._failures = 0
        return result
