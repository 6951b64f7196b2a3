"""Change notifications of shared lists on the real database, with the clock in hand: a
burst is one batch per recipient, due a window after its first change; only those who see
the list and turned notifications on get it, never the actor; of two processes one sends a
batch, and one that dies holding it is taken over when its lease lapses; changes that
arrive while a batch is sent are kept for the next; quiet hours wait, a blocked chat drops.
(Through the app and the fake Bot API: tests/e2e/test_bot_notices.py.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from beanie import PydanticObjectId

from models import User
from server.services.accounts.telegram_channel import TelegramChannel
from server.services.reminders.claims import ReminderClaims
from server.services.reminders.delivery import ChatUnreachable
from server.services.sharing.notices import (
    Change,
    ChangeNotices,
    DueNotice,
    NoticeSettings,
)
from server.services.sharing.service import Sharing
from server.services.tasks.service import TaskChanges, TaskDraft
from tests.clock import SteppedClock as Clock
from tests.integration.tasks_env import TasksEnv

T0 = 1_900_000_000_000  # epoch ms (2030)
WINDOW = 60.0
LEASE = 30.0


@dataclass
class Recorder:
    """A NoticeSender that keeps what it was asked to send; `during` runs inside a send."""

    sent: list[DueNotice] = field(default_factory=list)
    fail: Exception | None = None
    during: Any = None

    async def send(self, notice: DueNotice) -> None:
        if self.during is not None:
            await self.during()
        if self.fail is not None:
            raise self.fail
        self.sent.append(notice)


def process(clock: Clock) -> ChangeNotices:
    """The notices of one process (its own claims object, as each process has)."""
    claims = ReminderClaims(clock, LEASE, send_rate=1000, chat_interval=0.05)
    return ChangeNotices(claims, NoticeSettings(window=WINDOW, lease=LEASE, poll=1.0), clock)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@dataclass
class Family:
    alice: PydanticObjectId  # owner
    bob: PydanticObjectId  # editor, notifications on
    carol: PydanticObjectId  # viewer, notifications off
    list_id: str
    notices: ChangeNotices
    sharing: Sharing


async def person(env: TasksEnv, name: str, telegram_id: int, on: bool) -> PydanticObjectId:
    return await env.user(first_name=name, telegram_id=telegram_id, notify_changes=on)


@pytest.fixture
async def family(env: TasksEnv, clock: Clock) -> Family:
    sharing = Sharing(env.lists, env.tasks, TelegramChannel(configured=True, username="b"), None)
    alice = await person(env, "Оля", 9001, on=True)  # on, but she is the one who changes
    bob = await person(env, "Bob", 9002, on=True)
    carol = await person(env, "Carol", 9003, on=False)
    groceries = await env.lists.create(alice, "Покупки")
    for who, role in ((bob, "editor"), (carol, "viewer")):
        await sharing.accept(who, (await sharing.create_invite(alice, groceries.id, role)).code)
    notices = process(clock)
    env.tasks.observer = notices
    return Family(alice, bob, carol, groceries.id, notices, sharing)


async def batches(env: TasksEnv) -> int:
    return len(await env.db.change_batches.find({}, {"_id": 1}).to_list())


async def add(env: TasksEnv, who: Any, title: str, list_id: str) -> str:
    return str((await env.tasks.create(who, TaskDraft(title=title, list_ref=list_id))).id)


async def test_ten_additions_are_one_message_to_each_member_who_opted_in_none_to_the_actor(
    env, family, clock
):
    for i in range(10):
        await add(env, family.alice, f"молоко {i}", family.list_id)
    sender = Recorder()
    clock.ms += int(WINDOW * 1000) - 1  # not yet: a window after the first change
    assert await family.notices.deliver_one(sender) is False
    clock.ms += 1
    assert await family.notices.deliver_one(sender) is True
    assert await family.notices.deliver_one(sender) is False  # one batch: Bob's
    assert len(sender.sent) == 1
    notice = sender.sent[0]
    assert notice.chat_id == 9002  # Bob; not Carol (off), not Оля (the actor)
    assert (notice.actor, notice.list_name) == ("Оля", "Покупки")
    assert notice.changes == [Change("added", 10, "молоко 0")]
    assert await batches(env) == 0  # sent: deleted


async def test_each_kind_of_change_is_counted_and_the_move_out_is_the_old_lists(env, family, clock):
    first = await add(env, family.bob, "хлеб", family.list_id)
    second = await add(env, family.bob, "сыр", family.list_id)
    await env.tasks.complete(family.bob, first)
    await env.tasks.update(family.bob, second, TaskChanges(title="сыр твёрдый"))
    await env.tasks.update(family.bob, second, TaskChanges(title="сыр твёрдый"))  # no change
    await env.tasks.move(family.bob, second, "inbox")  # out of the shared list, to Bob's own
    await env.tasks.update(family.bob, second, TaskChanges(title="сыр мягкий"))  # his own now
    third = await add(env, family.bob, "чай", family.list_id)
    await env.tasks.delete(family.bob, third)
    clock.ms += int(WINDOW * 1000)
    sender = Recorder()
    while await family.notices.deliver_one(sender):
        pass
    assert [n.chat_id for n in sender.sent] == [9001]  # Оля, the owner; Carol is off
    assert sender.sent[0].changes == [
        Change("added", 3, "хлеб"),
        Change("done", 1, "хлеб"),
        Change("edited", 1, "сыр твёрдый"),
        Change("deleted", 1, "чай"),
        Change("moved", 1, "сыр твёрдый"),
    ]


async def test_a_list_nobody_else_sees_records_nothing(env, family, clock):
    own = await env.lists.create(family.alice, "Личное")
    await add(env, family.alice, "секрет", own.id)
    await add(env, family.alice, "входящие", "inbox")
    assert await batches(env) == 0


async def test_two_processes_one_batch_one_message(env, family, clock):
    await add(env, family.alice, "молоко", family.list_id)
    clock.ms += int(WINDOW * 1000)
    first, second = process(clock), process(clock)
    sender = Recorder()
    results = await asyncio.gather(first.deliver_one(sender), second.deliver_one(sender))
    assert sorted(results) == [False, True]
    assert [n.changes for n in sender.sent] == [[Change("added", 1, "молоко")]]


async def test_a_process_that_dies_holding_a_batch_is_taken_over_after_its_lease(
    env, family, clock
):
    await add(env, family.alice, "молоко", family.list_id)
    clock.ms += int(WINDOW * 1000)
    dead, alive = process(clock), process(clock)
    assert await dead.claim_due(clock.now_ms()) is not None  # claimed, then the process died
    sender = Recorder()
    assert await alive.deliver_one(sender) is False  # leased: not before the lease lapses
    clock.ms += int(LEASE * 1000) + 1  # the lease has lapsed
    assert await alive.deliver_one(sender) is True
    assert len(sender.sent) == 1
    assert await alive.deliver_one(sender) is False


async def test_changes_made_while_a_batch_is_sent_go_in_the_next_message(env, family, clock):
    await add(env, family.alice, "молоко", family.list_id)
    await add(env, family.alice, "хлеб", family.list_id)
    clock.ms += int(WINDOW * 1000)

    async def meanwhile() -> None:
        sender.during = None
        await add(env, family.alice, "сыр", family.list_id)
        await add(env, family.alice, "чай", family.list_id)

    sender = Recorder(during=meanwhile)
    assert await family.notices.deliver_one(sender) is True
    assert sender.sent[0].changes == [Change("added", 2, "молоко")]
    assert await family.notices.deliver_one(sender) is False  # the rest waits a window
    clock.ms += int(WINDOW * 1000)
    assert await family.notices.deliver_one(sender) is True
    assert sender.sent[1].changes == [Change("added", 2, "чай")]  # the last title is kept


async def test_nothing_goes_to_someone_who_left_or_turned_it_off_before_it_was_due(
    env, family, clock
):
    dave = await person(env, "Dave", 9004, on=True)
    await family.sharing.accept(
        dave, (await family.sharing.create_invite(family.alice, family.list_id, "viewer")).code
    )
    await add(env, family.alice, "молоко", family.list_id)
    await family.sharing.remove(dave, family.list_id, str(dave))  # Dave leaves
    await User.get_pymongo_collection().update_one(
        {"_id": family.bob}, {"$set": {"notify_changes": False}}
    )
    clock.ms += int(WINDOW * 1000)
    sender = Recorder()
    while await family.notices.deliver_one(sender):
        pass
    assert sender.sent == []
    assert await batches(env) == 0


async def test_quiet_hours_hold_a_batch_until_they_end_and_it_keeps_collecting(env, family, clock):
    # Bob's quiet hours 22:00-08:00 in Berlin; T0 is 2030-03-17 17:46:40 UTC (18:46 there).
    await User.get_pymongo_collection().update_one(
        {"_id": family.bob}, {"$set": {"timezone": "Europe/Berlin"}}
    )
    await env.db.reminder_prefs.insert_one({"_id": str(family.bob), "quiet_start": 1320,
                                            "quiet_end": 480, "digest_at": -1})  # fmt: skip
    clock.ms += 4 * 3600 * 1000  # 22:46 Berlin: quiet
    await add(env, family.alice, "молоко", family.list_id)
    clock.ms += int(WINDOW * 1000)
    sender = Recorder()
    assert await family.notices.deliver_one(sender) is True  # looked at, held back
    assert sender.sent == []
    await add(env, family.alice, "хлеб", family.list_id)
    batch = await env.db.change_batches.find_one({})
    end = datetime.fromtimestamp(batch["due_ms"] / 1000, UTC).astimezone(ZoneInfo("Europe/Berlin"))
    assert (end.hour, end.minute) == (8, 0)
    clock.ms = batch["due_ms"]
    assert await family.notices.deliver_one(sender) is True
    assert sender.sent[0].changes == [Change("added", 2, "молоко")]


async def test_a_chat_that_blocked_the_bot_drops_the_batch(env, family, clock):
    await add(env, family.alice, "молоко", family.list_id)
    clock.ms += int(WINDOW * 1000)
    assert await family.notices.deliver_one(Recorder(fail=ChatUnreachable())) is True
    assert await batches(env) == 0


async def test_the_idle_loop_sleeps_until_the_earliest_batch_is_due(env, family, clock):
    await add(env, family.alice, "молоко", family.list_id)
    notices = process(clock)
    assert await notices.next_due_ms(clock.now_ms()) == T0 + int(WINDOW * 1000)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    clock.sleep = sleep  # type: ignore[method-assign]
    notices.settings = NoticeSettings(window=WINDOW, lease=LEASE, poll=120.0)
    await notices._idle_until_due()
    assert sleeps == [WINDOW]
