"""Reminder delivery through the real app and the fake Bot API: several app instances on one
database, the send budget, 429 and 403, blocked chats, a database outage, and the buttons.

No test sleeps to let something (not) happen: each waits for an observable fact (a message
at the fake Bot API, woken by its events; a reminder's state in the database; a witness
reminder due later going out), or moves the reminders' clock (the outage)."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from models.reminder import CANCELLED, PENDING, SENT, Reminder
from server.keys import SERVICES
from server.services.accounts.users import TelegramProfile
from server.services.reminders.clock import to_ms
from server.services.reminders.port import ReminderPlan
from server.services.tasks.service import TaskDraft
from tests.bot_helpers import bot_settings, post_update, wait_until
from tests.clock import MovableClock
from tests.e2e.test_database_outage import own_mongo, restart, wait_ready  # noqa: F401
from tests.fake_bot_api import FakeBotAPI, text_message_update
from tests.kit.telegram import buttons, callback_query_update, chat_member_update

FAST = {"reminder_poll": 0.1, "reminder_late_after": 5}


async def seed_users(db: Any, n: int, first_id: int = 10_000, **fields: Any) -> list[ObjectId]:
    now = datetime.now(UTC)
    docs = [
        {"_id": ObjectId(), "telegram_id": first_id + i, "first_name": f"u{i}", "role": "user",
         "active": True, "created_at": now, "updated_at": now, **fields}
        for i in range(n)
    ]  # fmt: skip
    await db.users.insert_many(docs)
    return [d["_id"] for d in docs]


def pending_reminder(user_id: ObjectId, title: str, due_ms: int) -> dict[str, Any]:
    """A reminder as the service stores a new plan: the model's own defaults (pending, not
    claimed, not paused, never sent), so no state is written here by hand. Inserted in bulk
    because planning 500 through the service one by one would take longer than the test's
    "all due in the same second"."""
    reminder = Reminder.model_construct(
        id=ObjectId(), user_id=str(user_id), title=title, due_ms=due_ms, occurrence_ms=due_ms
    )
    return reminder.model_dump(by_alias=True)


async def seed_reminders(db: Any, user_ids: list[ObjectId], due_ms: int) -> list[ObjectId]:
    docs = [pending_reminder(uid, f"task {i}", due_ms) for i, uid in enumerate(user_ids)]
    assert all(doc["state"] == PENDING for doc in docs)
    await db.reminders.insert_many(docs)
    return [d["_id"] for d in docs]


async def wait_states(db: Any, ids: list[ObjectId], state: int, what: str) -> None:
    """Wait until every one of these reminders is in `state` in the database. Counted from
    a find: on the embedded server count_documents of an ObjectId `$in` counts 0
    (docs/embedded-database.md)."""
    query = {"_id": {"$in": ids}, "state": {"$eq": state}}

    async def count() -> int:
        return len(await db.reminders.find(query, {"_id": 1}).to_list(None))

    await wait_db(count, len(ids), what, timeout=15.0)


def sends(fake: FakeBotAPI) -> list[Any]:
    """The reminder messages (other replies, e.g. a task card, have other buttons)."""
    return [
        call
        for call in fake.calls_to("sendMessage")
        if any(data.startswith("r:") for _, data in buttons(call)[:1])
    ]


def task_of(call: Any) -> str:
    return buttons(call)[0][1].split(":")[2]


def max_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_two_instances_deliver_500_due_in_one_second_once_each_never_early(
    make_client, fake_api, db
):
    rate = 100  # raised from 25 so the test takes seconds; the budget logic is the same
    first = await make_client(**bot_settings(fake_api), reminder_send_rate=rate, **FAST)
    second = await make_client(**bot_settings(fake_api), reminder_send_rate=rate, **FAST)
    users = await seed_users(db, 500)
    due_ms = (int(time.time()) + 2) * 1000  # all in the same second
    tasks = await seed_reminders(db, users, due_ms)
    await fake_api.until(lambda: len(sends(fake_api)) >= 500, "500 reminders", timeout=30)
    # Every send is recorded (SENT) after Telegram's answer, and only a PENDING reminder can
    # be claimed: once all 500 are SENT no send is in flight and none can start again.
    await wait_states(db, tasks, SENT, "all 500 recorded as sent")
    calls = sends(fake_api)
    assert len(calls) == 500
    assert Counter(task_of(c) for c in calls) == Counter(str(t) for t in tasks)
    assert min(c.at for c in calls) >= due_ms / 1000, "a reminder went out early"
    per_process = [first.server.app[SERVICES].reminders.sent,
                   second.server.app[SERVICES].reminders.sent]  # fmt: skip
    assert sum(per_process) == 500
    assert min(per_process) > 0, per_process  # both instances took part
    duration = max(c.at for c in calls) - min(c.at for c in calls)
    peak = max_in_any_second([c.at for c in calls])
    print(f"\n500 reminders, 2 instances: {duration:.2f} s, {499 / duration:.0f} msg/s, "
          f"peak {peak} in any second, budget {rate}/s, split {per_process}")  # fmt: skip
    # Slots are 1000/rate ms apart; arrival jitter on a loaded machine may bunch a few.
    assert peak <= rate * 1.05
    assert await db.reminders.count_documents({"state": SENT}) == 500


async def test_one_chat_gets_at_most_one_message_per_second(make_client, fake_api, db):
    await make_client(**bot_settings(fake_api), **FAST)
    [user] = await seed_users(db, 1)
    await seed_reminders(db, [user] * 4, int(time.time() * 1000))
    await fake_api.until(lambda: len(sends(fake_api)) >= 4, "4 reminders to one chat", timeout=15)
    times = sorted(c.at for c in sends(fake_api))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.9, gaps


async def test_429_retry_after_pauses_every_sender_then_resumes_losing_nothing(
    make_client, fake_api, db
):
    await make_client(**bot_settings(fake_api), **FAST)
    await make_client(**bot_settings(fake_api), **FAST)
    fake_api.fail("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    users = await seed_users(db, 30)
    tasks = await seed_reminders(db, users, int(time.time() * 1000))
    await fake_api.until(
        lambda: len(sends(fake_api)) >= 31, "30 reminders after the 429", timeout=20
    )
    await wait_states(db, tasks, SENT, "all 30 recorded as sent")  # none still in flight
    calls = sends(fake_api)
    refused_at = calls[0].at  # the first call got the 429
    delivered = calls[1:]
    assert Counter(task_of(c) for c in delivered) == Counter(str(t) for t in tasks)
    # Nothing started between the 429 and the end of the pause (calls already on the way
    # when it arrived may land just after it).
    during = [c.at - refused_at for c in delivered if 0.3 < c.at - refused_at < 1.95]
    assert not during, during
    assert max(c.at for c in delivered) - refused_at >= 2.0


async def test_403_marks_the_user_unreachable_until_they_write_again(make_client, fake_api, db):
    client = await make_client(**bot_settings(fake_api), **FAST)
    [blocker, other] = await seed_users(db, 2, first_id=777)
    fake_api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=777)
    now_ms = int(time.time() * 1000)
    [first_task] = await seed_reminders(db, [blocker], now_ms)
    await seed_reminders(db, [other], now_ms)
    await fake_api.until(
        lambda: len(fake_api.calls_to("sendMessage")) >= 2, "both attempts", timeout=10
    )
    await wait_db(lambda: paused(db, first_task), 1, "the refused send pauses the reminders")
    assert await db.reminder_chats.find_one({"_id": 777, "blocked_ms": {"$gt": 0}})
    # a reminder planned for the blocked user now is paused too
    second_task = ObjectId()
    soon = datetime.now(UTC) + timedelta(seconds=0.2)
    planning = client.server.app[SERVICES].planning
    await planning.plan(ReminderPlan(second_task, blocker, "second", soon, None, False))
    assert await paused(db, second_task) == 1
    # A witness due after it, for the other user: once the witness is out, delivery has
    # passed the paused reminder's time, so had it been claimable it would have gone too.
    [witness] = await seed_reminders(db, [other], to_ms(soon) + 300)
    await fake_api.until(
        lambda: str(witness) in {task_of(c) for c in sends(fake_api)}, "witness", timeout=10
    )
    to_777 = [c for c in fake_api.calls_to("sendMessage") if c.params["chat_id"] == "777"]
    assert len(to_777) == 1  # only the refused one
    # the user writes again: both are delivered
    resp = await post_update(client, text_message_update("hi", chat_id=777, user_id=777))
    assert resp.status == 200
    await fake_api.until(
        lambda: len([c for c in sends(fake_api) if c.params["chat_id"] == "777"]) >= 3,
        "the paused reminders",
        timeout=10,
    )
    delivered = {task_of(c) for c in sends(fake_api) if c.params["chat_id"] == "777"}
    assert delivered == {str(first_task), str(second_task)}


async def paused(db: Any, task: ObjectId) -> int:
    return int((await db.reminders.find_one({"_id": task}))["paused"])


async def test_a_kicked_update_pauses_reminders_and_an_unblock_resumes_them(
    make_client, fake_api, db
):
    # Two processes: the user's message makes the second remember the chat as reachable;
    # the block reaches the first; Telegram's unblock update reaches the second, which must
    # look in the database (not at what it remembers) and resume the reminders.
    first = await make_client(**bot_settings(fake_api), **FAST)
    second = await make_client(**bot_settings(fake_api), **FAST)
    [user] = await seed_users(db, 1, first_id=888)
    future = int(time.time() * 1000) + 60_000
    [task] = await seed_reminders(db, [user], future)

    def change(old: str, new: str) -> dict[str, Any]:
        return chat_member_update(888, old, new)

    hello = text_message_update("/help", chat_id=888, user_id=888)
    assert (await post_update(second, hello)).status == 200
    await fake_api.wait_for("sendMessage")  # the second has seen the chat reachable
    assert (await post_update(first, change("member", "kicked"))).status == 200
    await wait_db(lambda: paused(db, task), 1, "the kicked update pauses the reminders")
    assert (await post_update(second, change("kicked", "member"))).status == 200
    await wait_db(lambda: paused(db, task), 0, "the unblock update resumes the reminders")
    assert not await db.reminder_chats.find_one({"_id": 888, "blocked_ms": {"$gt": 0}})


async def wait_db(read: Any, expected: Any, what: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until `read()` (a database read) returns `expected`. The database has no events
    to wait on, so this re-reads (as tests.bot_helpers.wait_until does), with a deadline."""
    value: Any = None

    async def check() -> bool:
        nonlocal value
        value = await read()
        return bool(value == expected)

    try:
        await wait_until(check, what, timeout)
    except AssertionError as err:
        raise AssertionError(f"{err} (last seen {value!r})") from None


async def test_a_database_outage_delays_reminders_then_each_goes_out_once_marked_late(
    make_client,
    fake_api,
    own_mongo,  # noqa: F811 - the imported fixture
    db_name,
    monkeypatch: pytest.MonkeyPatch,
):
    # The app builds its reminders with their default clock; this one can be moved, so the
    # reminders fall due during the outage without the test waiting for them to.
    clock = MovableClock.installed(monkeypatch)
    client = await make_client(
        **bot_settings(fake_api, mongodb_uri=own_mongo.uri, mongodb_timeout=1.0),
        reminder_poll=0.1, reminder_late_after=1,
    )  # fmt: skip
    reminders = client.server.app[SERVICES].reminders
    assert reminders.clock is clock
    users = client.server.app[SERVICES].users

    user, _ = await users.ensure_telegram_user(TelegramProfile(telegram_id=4242))
    due = datetime.now(UTC) + timedelta(seconds=60)
    ids = [ObjectId() for _ in range(3)]
    for i, task_id in enumerate(ids):
        await client.server.app[SERVICES].planning.plan(
            ReminderPlan(task_id, user.id, f"late {i}", due, None, False)
        )
    own_mongo.stop()
    clock.advance(63)  # all three fall due while the database is away, 3 s ago
    assert sends(fake_api) == []
    server = restart(own_mongo)
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(own_mongo.uri)
    try:
        await wait_ready(client)
        await fake_api.until(lambda: len(sends(fake_api)) >= 3, "the missed reminders", 15)
        # recorded as sent: none is in flight or can be claimed again
        await wait_states(mongo[db_name], ids, SENT, "the three recorded as sent")
        calls = sends(fake_api)
        assert len(calls) == 3
        assert len({task_of(c) for c in calls}) == 3
        assert all("(late: this was due " in c.params["text"] for c in calls)
    finally:
        await mongo.close()
        server.stop()


async def test_snooze_and_done_buttons_and_a_repeat_through_real_presses(make_client, fake_api, db):
    client = await make_client(**bot_settings(fake_api), **FAST)
    services = client.server.app[SERVICES]

    user, _ = await services.users.ensure_telegram_user(TelegramProfile(telegram_id=5150))
    await db.users.update_one({"_id": user.id}, {"$set": {"timezone": "Europe/Berlin"}})
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime.now(UTC)
    rule = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"
    # real tasks: the buttons act through the tasks service
    daily = (await services.tasks.create(user.id, TaskDraft("vitamins", remind_at=now,
                                                            repeat=rule))).id  # fmt: skip
    once = (await services.tasks.create(user.id, TaskDraft("call mom", remind_at=now))).id
    await fake_api.until(lambda: len(sends(fake_api)) >= 2, "two reminders", timeout=10)
    by_task = {task_of(c): c for c in sends(fake_api)}
    assert by_task[str(once)].params["text"] == "⏰ call mom"

    # the repeat moved on to 09:00 tomorrow (or today, before 9) in the user's zone
    doc = await db.reminders.find_one({"_id": daily})
    following = datetime.fromtimestamp(doc["due_ms"] / 1000, UTC).astimezone(berlin)
    assert doc["state"] == PENDING
    assert (following.hour, following.minute) == (9, 0)
    assert timedelta(0) < following - now <= timedelta(days=1)

    async def moved_on() -> bool:  # the task shows its next occurrence (set_remind_at)
        task = await db.tasks.find_one({"_id": daily})
        at = task["remind_at"]
        return at is not None and abs(at.timestamp() - following.timestamp()) < 1

    await wait_until(moved_on, "the task's remind_at moved on", timeout=2.5)

    async def press(data: str, message_id: int) -> None:
        message = {"message_id": message_id, "date": int(time.time()),
                   "chat": {"id": 5150, "type": "private"}, "text": "⏰ call mom"}  # fmt: skip
        update = callback_query_update(
            data, message, user_id=5150, first_name="u", language_code="en"
        )
        assert (await post_update(client, update)).status == 200

    await press(f"r:10m:{once}", 1)
    [answer] = await fake_api.wait_for("answerCallbackQuery")
    assert answer.params["text"].startswith("💤 Snoozed until ")
    doc = await db.reminders.find_one({"_id": once})
    assert doc["state"] == PENDING
    moved = doc["due_ms"] / 1000 - time.time()
    assert 9 * 60 - 5 < moved <= 10 * 60
    task = await db.tasks.find_one({"_id": once})
    assert abs(task["remind_at"].timestamp() - doc["due_ms"] / 1000) < 1  # the task moved too
    [edit] = await fake_api.wait_for("editMessageText")
    assert "Snoozed until" in edit.params["text"]

    await press(f"r:tomorrow:{daily}", 2)
    await fake_api.wait_for("answerCallbackQuery", 2)
    doc = await db.reminders.find_one({"_id": daily})
    tomorrow = datetime.fromtimestamp(doc["due_ms"] / 1000, UTC).astimezone(berlin)
    assert (tomorrow.date(), tomorrow.hour) == (
        now.astimezone(berlin).date() + timedelta(days=1),
        9,
    )

    await press(f"r:done:{once}", 3)
    await fake_api.wait_for("answerCallbackQuery", 3)
    assert (await db.reminders.find_one({"_id": once}))["state"] == CANCELLED
    assert (await db.tasks.find_one({"_id": once}))["done"] in (True, 1)

    # someone else's button does nothing
    stranger = callback_query_update(
        f"r:done:{daily}", None, user_id=999, first_name="s", language_code=None, query_id="x"
    )
    await services.users.ensure_telegram_user(TelegramProfile(telegram_id=999))
    assert (await post_update(client, stranger)).status == 200
    answers = await fake_api.wait_for("answerCallbackQuery", 4)
    assert answers[-1].params["text"] == "This reminder is no longer there."
    assert (await db.reminders.find_one({"_id": daily}))["state"] == PENDING


async def test_a_reminder_planned_in_the_future_is_not_sent_early(make_client, fake_api):
    client = await make_client(**bot_settings(fake_api), **FAST)
    services = client.server.app[SERVICES]

    user, _ = await services.users.ensure_telegram_user(TelegramProfile(telegram_id=6000))
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    await services.planning.plan(ReminderPlan(ObjectId(), user.id, "soon", due, None, False))
    await fake_api.until(lambda: len(sends(fake_api)) >= 1, "the reminder", timeout=10)
    [call] = sends(fake_api)
    assert due.timestamp() <= call.at <= due.timestamp() + 1.0


async def test_a_task_created_and_changed_over_rest_is_reminded(make_client, fake_api, db):
    token = "bot-service-token-0123456789abcdefghijklmn"
    client = await make_client(**bot_settings(fake_api), bot_api_tokens=token, **FAST)
    headers = {"Authorization": f"Bot {token}", "X-Telegram-User-Id": "9090"}
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    resp = await client.post("/api/tasks", json={"title": "stretch", "remind_at": soon},
                             headers=headers)  # fmt: skip
    assert resp.status == 201, await resp.text()
    task = await resp.json()
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    other = await (await client.post("/api/tasks", json={"title": "later", "remind_at": later},
                                     headers=headers)).json()  # fmt: skip
    await fake_api.until(lambda: len(sends(fake_api)) >= 1, "the reminder", timeout=10)
    [call] = sends(fake_api)
    assert (call.params["chat_id"], call.params["text"]) == ("9090", "⏰ stretch")
    assert task_of(call) == task["id"]
    # a deleted task is never reminded
    resp = await client.delete(f"/api/tasks/{other['id']}", headers=headers)
    assert resp.status == 204
    assert await db.reminders.count_documents({"_id": ObjectId(other["id"])}) == 0
