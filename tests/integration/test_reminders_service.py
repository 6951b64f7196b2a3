"""Reminder planning, preferences and delivery on the real database with a controlled clock:
never before its time, a lapsed lease taken over, repeats re-armed in the user's zone (and
reported to the tasks service as events), plans that must not resend; and the query shapes
they rely on, pinned (they differ on the embedded server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from server.db.connection import init_models, make_client
from server.services.reminders.clock import Wakeup, to_ms
from server.services.reminders.delivery import DeliverySettings, DueReminder, ReminderDelivery
from server.services.reminders.planning import ReminderPlanning, snooze_target
from server.services.reminders.port import Advanced, DeliveryEvent, ReminderPlan, Sent
from server.services.reminders.preferences import ReminderPreferences, quiet_end_ms
from tests.clock import SteppedClock

BERLIN = ZoneInfo("Europe/Berlin")


class Recorder:
    def __init__(self) -> None:
        self.sent: list[DueReminder] = []

    async def send(self, reminder: DueReminder) -> None:
        self.sent.append(reminder)


class Hang:
    """A send that never returns: the process 'dies' while holding its claim."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, reminder: DueReminder) -> None:
        self.started.set()
        await asyncio.Event().wait()


@pytest.fixture
async def bound(mongo_uri: str, db_name: str, db: Any) -> AsyncIterator[Any]:
    client = make_client(mongo_uri, 5)
    await init_models(client, db_name)
    yield db
    await client.close()


async def make_user(db: Any, telegram_id: int, zone: str = "Europe/Berlin") -> ObjectId:
    now = datetime.now(UTC)
    result = await db.users.insert_one({"telegram_id": telegram_id, "timezone": zone,
                                        "role": "user", "active": True, "created_at": now,
                                        "updated_at": now})  # fmt: skip
    return result.inserted_id


@dataclass
class Events:
    """The tasks service's side of the delivery events: what it was told."""

    heard: list[DeliveryEvent] = field(default_factory=list)

    async def reminder_delivered(self, event: DeliveryEvent) -> None:
        self.heard.append(event)


@dataclass
class Rooms:
    """One process's reminders, wired as server/bootstrap.py wires them."""

    planning: ReminderPlanning
    prefs: ReminderPreferences
    delivery: ReminderDelivery
    events: Events


def service(clock: SteppedClock, **settings: Any) -> Rooms:
    wakeup, events = Wakeup(), Events()
    prefs = ReminderPreferences(clock)
    delivery = ReminderDelivery(
        DeliverySettings(**{"send_rate": 1000, "lease": 30, **settings}), clock,
        events=events, prefs=prefs, wakeup=wakeup,
    )  # fmt: skip
    return Rooms(ReminderPlanning(wakeup), prefs, delivery, events)


async def test_not_before_its_time_then_once(bound):
    start = datetime(2026, 3, 28, 8, 59, 58, tzinfo=UTC)
    clock = SteppedClock(start)
    reminders, sender = service(clock), Recorder()
    user = await make_user(bound, 1)
    task = ObjectId()
    await reminders.planning.plan(
        ReminderPlan(task, user, "milk", start + timedelta(seconds=2), None, False)
    )
    assert await reminders.delivery.deliver_one(sender) is False
    clock.advance(1.999)
    assert await reminders.delivery.deliver_one(sender) is False
    clock.advance(0.001)
    assert await reminders.delivery.deliver_one(sender) is True
    assert [r.title for r in sender.sent] == ["milk"]
    assert await reminders.delivery.deliver_one(sender) is False
    # the tasks service re-planning the same (sent) occurrence, e.g. after a title edit
    await reminders.planning.plan(ReminderPlan(task, user, "oat milk", start + timedelta(seconds=2),
                                      None, False))  # fmt: skip
    clock.advance(60)
    assert await reminders.delivery.deliver_one(sender) is False
    assert len(sender.sent) == 1


async def test_a_send_is_reported_to_the_tasks_service_a_digest_is_not(bound):
    start = datetime(2026, 3, 28, 9, tzinfo=UTC)
    clock = SteppedClock(start)
    reminders, sender = service(clock, late_after=60), Recorder()
    user = await make_user(bound, 8)
    task = ObjectId()
    await reminders.planning.plan(ReminderPlan(task, user, "tea", start, None, False))
    clock.advance(61)  # late
    assert await reminders.delivery.deliver_one(sender)
    assert reminders.events.heard == [Sent(task, start, late=True)]  # a one-off: no Advanced
    first = await reminders.prefs.set_digest(user, 10 * 60, UTC)
    assert first is not None
    clock.ms = to_ms(first)
    assert await reminders.delivery.deliver_one(sender)
    assert [r.kind for r in sender.sent] == ["task", "digest"]
    assert len(reminders.events.heard) == 1  # the digest is no task's


async def test_a_dead_claim_is_taken_over_after_its_lease(bound):
    start = datetime(2026, 3, 28, 9, tzinfo=UTC)
    clock = SteppedClock(start)
    dead, alive = service(clock, lease=30), service(clock, lease=30)
    user = await make_user(bound, 2)
    await dead.planning.plan(ReminderPlan(ObjectId(), user, "call", start, None, False))
    hang = Hang()
    stuck = asyncio.create_task(dead.delivery.deliver_one(hang))
    await hang.started.wait()
    sender = Recorder()
    assert await alive.delivery.deliver_one(sender) is False  # claimed, lease running
    clock.advance(29)
    assert await alive.delivery.deliver_one(sender) is False
    clock.advance(1.01)
    assert await alive.delivery.deliver_one(sender) is True
    assert [r.title for r in sender.sent] == ["call"]
    stuck.cancel()


async def test_a_repeat_is_re_armed_at_the_wall_time_across_dst(bound):
    # Saturday 28 March 2026, 09:00 Berlin (CET); Sunday Berlin springs forward.
    due = datetime(2026, 3, 28, 9, tzinfo=BERLIN)
    clock = SteppedClock(due)
    reminders, sender = service(clock), Recorder()
    user = await make_user(bound, 3)
    task = ObjectId()
    rule = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"
    await reminders.planning.plan(ReminderPlan(task, user, "vitamins", due, rule, False))
    assert await reminders.delivery.deliver_one(sender)
    doc = await bound.reminders.find_one({"_id": task})
    following = datetime.fromtimestamp(doc["due_ms"] / 1000, UTC)
    assert following.astimezone(BERLIN).isoformat() == "2026-03-29T09:00:00+02:00"
    assert following - due == timedelta(hours=23)
    advanced = [e.to for e in reminders.events.heard if isinstance(e, Advanced)]
    assert advanced == [following]
    # the tasks service echoes the advance: nothing changes, nothing is sent early
    await reminders.planning.plan(ReminderPlan(task, user, "vitamins", following, rule, False))
    clock.advance(22 * 3600)
    assert not await reminders.delivery.deliver_one(sender)
    clock.advance(3600)
    assert await reminders.delivery.deliver_one(sender)
    assert len(sender.sent) == 2


async def test_an_outage_sends_one_late_message_then_the_next_future_occurrence(bound):
    due = datetime(2026, 3, 28, 9, tzinfo=BERLIN)
    clock = SteppedClock(due)
    reminders, sender = service(clock, late_after=60), Recorder()
    user = await make_user(bound, 4)
    task = ObjectId()
    rule = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"
    await reminders.planning.plan(ReminderPlan(task, user, "pills", due, rule, False))
    clock.advance(3 * 24 * 3600 + 5)  # three days without the delivery loop
    assert await reminders.delivery.deliver_one(sender)
    assert not await reminders.delivery.deliver_one(sender)
    [late] = sender.sent
    assert late.late
    doc = await bound.reminders.find_one({"_id": task})
    assert doc["late"] == 1
    assert datetime.fromtimestamp(doc["due_ms"] / 1000, BERLIN).isoformat() == (
        "2026-04-01T09:00:00+02:00"
    )


async def test_plan_moves_cancels_and_forgets(bound):
    start = datetime(2026, 3, 28, 9, tzinfo=UTC)
    clock = SteppedClock(start)
    reminders, sender = service(clock), Recorder()
    user = await make_user(bound, 5)
    task = ObjectId()
    await reminders.planning.plan(
        ReminderPlan(task, user, "a", start + timedelta(hours=1), None, False)
    )
    await reminders.planning.plan(
        ReminderPlan(task, user, "a", start + timedelta(hours=2), None, False)
    )
    clock.advance(3600)
    assert not await reminders.delivery.deliver_one(sender)
    await reminders.planning.plan(
        ReminderPlan(task, user, "a", start + timedelta(hours=2), None, True)
    )
    clock.advance(3600)
    assert not await reminders.delivery.deliver_one(sender)  # done: cancelled
    await reminders.planning.plan(
        ReminderPlan(task, user, "a", start + timedelta(hours=2), None, False)
    )
    await reminders.planning.forget_task(task)
    assert not await reminders.delivery.deliver_one(sender)
    assert await bound.reminders.count_documents({}) == 0


def test_snooze_targets_in_the_users_zone():
    now = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 in Berlin, before the DST change
    assert snooze_target("10m", now, BERLIN) == datetime(2026, 3, 28, 22, 40, tzinfo=UTC)
    assert snooze_target("1h", now, BERLIN) == datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    tomorrow = snooze_target("tomorrow", now, BERLIN)
    assert tomorrow.astimezone(BERLIN).isoformat() == "2026-03-29T09:00:00+02:00"
    late = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # already Sunday in Berlin
    assert snooze_target("tomorrow", late, BERLIN).astimezone(BERLIN).day == 30


# ---------------------------------------------------------------- the query shapes relied on


async def test_query_shapes(db):
    col = db.shapes
    await col.insert_many([{"_id": i, "due_ms": 100 - i, "lease_ms": 0, "state": 0, "paused": 0,
                            "user_id": "u1" if i % 2 else "u2"} for i in range(4)])  # fmt: skip
    # the claim: range conditions, a sort, $set + $inc, the document after
    doc = await col.find_one_and_update(
        {"state": 0, "paused": 0, "due_ms": {"$lte": 99}, "lease_ms": {"$lt": 5}},
        {"$set": {"lease_ms": 50, "claim": "t"}, "$inc": {"attempts": 1}},
        sort=[("due_ms", 1)], return_document=ReturnDocument.AFTER,
    )  # fmt: skip
    assert (doc["_id"], doc["lease_ms"], doc["attempts"]) == (3, 50, 1)
    # the record matches the claim token; a stale token changes nothing
    assert (
        await col.update_one({"_id": 3, "claim": "x"}, {"$set": {"state": 1}})
    ).matched_count == 0
    assert (
        await col.update_one({"_id": 3, "claim": "t"}, {"$set": {"state": 1}})
    ).matched_count == 1
    # a string user_id matches by equality (an ObjectId outside _id would not, on nx-27017)
    assert (await col.update_many({"user_id": "u1"}, {"$set": {"paused": 1}})).matched_count == 2
    # the 429 gate: $max in an upsert
    await db.gate.update_one({"_id": "g"}, {"$max": {"until": 5}}, upsert=True)
    await db.gate.update_one({"_id": "g"}, {"$max": {"until": 3}}, upsert=True)
    assert (await db.gate.find_one({"_id": "g"}))["until"] == 5
    # a chat's turn: a conditional update, else an insert that a busy chat refuses
    chats = db.chats
    assert (
        await chats.update_one({"_id": 7, "next_ms": {"$lte": 10}}, {"$set": {"next_ms": 20}})
    ).matched_count == 0
    await chats.insert_one({"_id": 7, "next_ms": 20})
    assert (
        await chats.update_one({"_id": 7, "next_ms": {"$lte": 15}}, {"$set": {"next_ms": 30}})
    ).matched_count == 0
    with pytest.raises(DuplicateKeyError):
        await chats.insert_one({"_id": 7, "next_ms": 25})
    assert (
        await chats.update_one({"_id": 7, "next_ms": {"$lte": 21}}, {"$set": {"next_ms": 31}})
    ).matched_count == 1
    # a slot counter: an upsert copying the filter's equalities, $inc, the document after
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    counts = [
        (await db.counters.find_one_and_update(
            {"_id": "w1", "expires_at": expires}, {"$inc": {"attempts": 1}}, upsert=True,
            return_document=ReturnDocument.AFTER,
        ))["attempts"]
        for _ in range(3)
    ]  # fmt: skip
    assert counts == [1, 2, 3]
    assert (await db.counters.find_one({"_id": "w1"}))["expires_at"] == expires


# ------------------------------------------------------- quiet hours and the digest


def test_quiet_end_in_the_users_zone():
    def at(text: str) -> int:
        return to_ms(datetime.fromisoformat(text).replace(tzinfo=BERLIN))

    night = (22 * 60, 8 * 60)
    assert quiet_end_ms(*night, at("2026-03-28T23:30"), BERLIN) == at("2026-03-29T08:00")
    assert quiet_end_ms(*night, at("2026-03-29T07:59"), BERLIN) == at("2026-03-29T08:00")
    assert quiet_end_ms(*night, at("2026-03-29T08:00"), BERLIN) is None
    assert quiet_end_ms(*night, at("2026-03-28T21:59"), BERLIN) is None
    lunch = (12 * 60, 13 * 60)
    assert quiet_end_ms(*lunch, at("2026-03-28T12:30"), BERLIN) == at("2026-03-28T13:00")
    assert quiet_end_ms(*lunch, at("2026-03-28T13:30"), BERLIN) is None


async def test_quiet_hours_hold_a_reminder_until_they_end_not_late(bound):
    due = datetime(2026, 3, 28, 23, tzinfo=BERLIN)
    clock = SteppedClock(due)
    reminders, sender = service(clock, late_after=60), Recorder()
    user = await make_user(bound, 6)
    await reminders.prefs.set_quiet_hours(user, 22 * 60, 8 * 60)
    await reminders.planning.plan(ReminderPlan(ObjectId(), user, "bins", due, None, False))
    assert await reminders.delivery.deliver_one(sender)  # claimed, and held back
    assert sender.sent == []
    # 08:00 on Sunday's clock is 8 elapsed hours after 23:00 Saturday (Berlin springs forward)
    clock.advance(8 * 3600 - 1)
    assert not await reminders.delivery.deliver_one(sender)
    clock.advance(2)
    assert await reminders.delivery.deliver_one(sender)
    [sent] = sender.sent
    assert not sent.late
    await reminders.prefs.set_quiet_hours(user, None, None)
    assert (await reminders.prefs.prefs(user)).quiet_start == -1


async def test_the_digest_is_a_daily_reminder_on_the_users_clock(bound):
    start = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    clock = SteppedClock(start)
    reminders, sender = service(clock), Recorder()
    user = await make_user(bound, 7)
    first = await reminders.prefs.set_digest(user, 8 * 60 + 30, BERLIN)
    assert first is not None
    assert first.astimezone(BERLIN).isoformat() == "2026-03-29T08:30:00+02:00"
    clock.ms = to_ms(first)
    assert await reminders.delivery.deliver_one(sender)
    [digest] = sender.sent
    assert (digest.kind, digest.task_id) == ("digest", user)
    doc = await bound.reminders.find_one({"_id": user})
    assert datetime.fromtimestamp(doc["due_ms"] / 1000, BERLIN).isoformat() == (
        "2026-03-30T08:30:00+02:00"
    )
    assert await reminders.prefs.set_digest(user, None, BERLIN) is None
    assert await bound.reminders.count_documents({"_id": user}) == 0


async def test_a_deactivated_user_gets_nothing_until_reactivated_then_it_is_late(bound):
    start = datetime(2026, 3, 28, 9, tzinfo=UTC)
    clock = SteppedClock(start)
    reminders, sender = service(clock, late_after=60), Recorder()
    user = await make_user(bound, 7)
    await bound.users.update_one({"_id": user}, {"$set": {"active": False}})
    task = ObjectId()
    await reminders.planning.plan(ReminderPlan(task, user, "pay rent", start, None, False))
    assert await reminders.delivery.deliver_one(sender) is True  # claimed, looked at, held
    assert sender.sent == []
    doc = await bound.reminders.find_one({"_id": task})
    assert (doc["state"], doc["claim"]) == (0, None)  # still pending, not given up
    clock.advance(600)
    assert (
        await reminders.delivery.deliver_one(sender) is False
    )  # held for 10 minutes (a lease: then)
    await bound.users.update_one({"_id": user}, {"$set": {"active": True}})
    clock.advance(0.001)
    assert await reminders.delivery.deliver_one(sender) is True
    [sent] = sender.sent
    assert (sent.title, sent.late) == ("pay rent", True)
