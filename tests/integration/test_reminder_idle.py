"""The idle delivery loop, with the injectable clock: it sleeps until the earliest pending
reminder is due (one indexed look-up, tests/integration/test_query_plans.py), at most `poll`,
and a reminder planned in this process wakes it at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId

from server.db.connection import init_models, make_client
from server.services.reminders.clock import Wakeup, to_ms
from server.services.reminders.delivery import DeliverySettings, DueReminder, ReminderDelivery
from server.services.reminders.planning import ReminderPlanning
from server.services.reminders.port import ReminderPlan

START = datetime(2026, 5, 4, 9, tzinfo=UTC)
POLL = 60.0


class Signal:
    """Set whenever the loop under test does something the test waits for (a sleep, a
    send), so that the test waits for exactly that, never for a guessed time."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):  # a bound for a broken loop, not a guess
            while not condition():
                await self._event.wait()


SIGNAL = Signal()


class ParkedClock:
    """Time moves only when the test moves it; a sleep really waits until then."""

    def __init__(self, start: datetime) -> None:
        self.ms = to_ms(start)
        self.sleeps: list[float] = []
        self._moved = asyncio.Event()

    def now_ms(self) -> int:
        return self.ms

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        SIGNAL.notify()
        until = self.ms + round(seconds * 1000)
        while self.ms < until:
            await self._moved.wait()

    def advance(self, seconds: float) -> None:
        self.ms += round(seconds * 1000)
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()


class Recorder:
    def __init__(self) -> None:
        self.sent: list[DueReminder] = []

    async def send(self, reminder: DueReminder) -> None:
        self.sent.append(reminder)
        SIGNAL.notify()


until = SIGNAL.until


@pytest.fixture
async def bound(mongo_uri: str, db_name: str, db: Any) -> AsyncIterator[Any]:
    client = make_client(mongo_uri, 5)
    await init_models(client, db_name)
    yield db
    await client.close()


@pytest.fixture
async def user(bound: Any) -> ObjectId:
    result = await bound.users.insert_one({"telegram_id": 7, "timezone": "UTC", "role": "user",
                                           "active": True})  # fmt: skip
    return result.inserted_id


async def running(
    clock: ParkedClock, sender: Recorder
) -> tuple[ReminderPlanning, asyncio.Task[None]]:
    """A process's delivery loop, running, and its planning (which shares the loop's wake-up:
    a plan due before the loop looks again wakes it)."""
    wakeup = Wakeup()
    delivery = ReminderDelivery(
        DeliverySettings(send_rate=1000, poll=POLL, workers=2), clock, wakeup=wakeup
    )
    return ReminderPlanning(wakeup), asyncio.create_task(delivery.run(sender))


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_idle_it_sleeps_until_the_earliest_due_then_sends_it(bound, user):
    clock, sender = ParkedClock(START), Recorder()
    later = START + timedelta(hours=2)
    for n in range(200):  # many scheduled later: the look-up is the same one
        plan = ReminderPlan(ObjectId(), user, f"later {n}", later + timedelta(minutes=n), None,
                            False)  # fmt: skip
        await ReminderPlanning().plan(plan)
    reminders, loop = await running(clock, sender)
    await reminders.plan(ReminderPlan(ObjectId(), user, "tea", START + timedelta(seconds=5),
                                      None, False))  # fmt: skip
    try:
        # Worker 0 sleeps until "tea" is due (woken by its plan if it was already asleep);
        # the other worker until there is work.
        await until(lambda: 5.0 in clock.sleeps)
        assert sender.sent == []
        assert set(clock.sleeps) <= {5.0, POLL, POLL * 5}
        clock.advance(5)
        await until(lambda: len(sender.sent) == 1)
        assert sender.sent[0].title == "tea"
        # Then the next is two hours away: it sleeps for the bound, one look-up a minute.
        looked = len(clock.sleeps)
        await until(lambda: POLL in clock.sleeps[looked:])
    finally:
        await stop(loop)


async def test_a_reminder_planned_here_wakes_the_idle_loop_at_once(bound, user):
    clock, sender = ParkedClock(START), Recorder()
    reminders, loop = await running(clock, sender)
    try:
        await until(lambda: POLL in clock.sleeps)  # nothing scheduled: asleep for `poll`
        await reminders.plan(ReminderPlan(ObjectId(), user, "now", START, None, False))
        await until(lambda: len(sender.sent) == 1)
        assert clock.ms == to_ms(START)  # woken by the plan, not by time passing
    finally:
        await stop(loop)
