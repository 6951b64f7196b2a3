"""Reminder claims on the real database with a controlled clock: the leased atomic claim (of
two processes one wins; never before its time; a lapsed lease taken over), writes only as
the claim holder, the send record tried until the lease lapses, the shared 429 gate, chat
turns and the global slot budget. (Through the whole delivery: test_reminders_service.py,
and through the app: tests/e2e/test_reminders_delivery.py.)"""

from __future__ import annotations

import logging
import os
import re
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from bson import ObjectId
from pymongo.errors import AutoReconnect, DuplicateKeyError

from models import RateCounter
from models.reminder import CANCELLED, PENDING, SENT
from server.services.reminders import claims as reminder_claims
from server.services.reminders.claims import (
    CLAIM_BATCH,
    CLAIM_BATCH_FOR_MS,
    COUNTER_GRACE,
    GATE_CACHE_MS,
    Claim,
    ReminderClaims,
)
from tests.clock import SteppedClock as Clock

T0 = 1_900_000_000_000  # epoch ms (2030)
LEASE = 30.0


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


def claims_at(clock: Clock, send_rate: int = 1000, chat_interval: float = 1.0) -> ReminderClaims:
    return ReminderClaims(clock, LEASE, send_rate, chat_interval)


@pytest.fixture
def claims(models: Any, clock: Clock) -> ReminderClaims:
    return claims_at(clock)


async def add(db: Any, due_ms: int, **fields: Any) -> ObjectId:
    doc = {"_id": ObjectId(), "user_id": "u", "title": "t", "due_ms": due_ms,
           "occurrence_ms": due_ms, "state": PENDING, "paused": 0, "lease_ms": 0,
           "claim": None, "attempts": 0, **fields}  # fmt: skip
    await db.reminders.insert_one(doc)
    return doc["_id"]


async def reminder(db: Any, reminder_id: ObjectId) -> dict[str, Any]:
    found: dict[str, Any] = await db.reminders.find_one({"_id": reminder_id})
    return found


# --- the claim ------------------------------------------------------------------------------


async def test_a_due_reminder_is_claimed_with_a_token_and_a_lease(
    claims: ReminderClaims, models: Any
) -> None:
    rid = await add(models, T0, attempts=2)

    claim = await claims.claim_due(T0)

    assert claim is not None
    assert re.fullmatch(r"[0-9a-f]{16}", claim.token)
    assert claim.lease_end == T0 + 30_000
    assert (claim.doc["_id"], claim.doc["claim"], claim.doc["lease_ms"]) == (
        rid, claim.token, T0 + 30_000
    )  # fmt: skip
    assert claim.doc["attempts"] == 3  # the document after the claim
    stored = await reminder(models, rid)
    assert (stored["claim"], stored["lease_ms"], stored["attempts"]) == (
        claim.token,
        T0 + 30_000,
        3,
    )
    assert await claims.claim_due(T0) is None  # held


async def test_every_claim_has_its_own_token(claims: ReminderClaims, models: Any) -> None:
    for _ in range(2):
        await add(models, T0)

    first, second = await claims.claim_due(T0), await claims.claim_due(T0)

    assert first is not None
    assert second is not None
    assert first.doc["_id"] != second.doc["_id"]
    assert first.token != second.token


async def test_nothing_due_is_none(claims: ReminderClaims, models: Any) -> None:
    assert await claims.claim_due(T0) is None


@pytest.mark.parametrize(
    ("fields", "claimable"),
    [
        ({"due_ms": T0}, True),  # due now
        ({"due_ms": T0 + 1}, False),  # never before its time
        ({"lease_ms": T0 - 1}, True),  # a lease that has lapsed
        ({"lease_ms": T0}, False),  # a lease still running at this instant
        ({"state": SENT}, False),
        ({"state": CANCELLED}, False),
        ({"paused": 1}, False),  # the chat blocked the bot
    ],
    ids=["due", "early", "lapsed", "leased", "sent", "cancelled", "paused"],
)
async def test_only_a_pending_due_unpaused_unleased_reminder_is_claimed(
    claims: ReminderClaims, models: Any, fields: dict[str, Any], claimable: bool
) -> None:
    rid = await add(models, **{"due_ms": T0 - 1, **fields})

    claim = await claims.claim_due(T0)

    assert (claim is not None) is claimable
    assert (await reminder(models, rid))["claim"] == (claim.token if claim else None)


async def test_a_lapsed_claim_is_taken_over_and_the_old_holder_changes_nothing(
    models: Any, clock: Clock
) -> None:
    dead, alive = claims_at(clock), claims_at(clock)
    rid = await add(models, T0)
    old = await dead.claim_due(T0)
    assert old is not None

    assert await alive.claim_due(T0 + 30_000) is None  # the lease holds to its last instant
    new = await alive.claim_due(T0 + 30_001)
    assert new is not None
    assert new.doc["attempts"] == 2

    await dead.update(old, {"$set": {"state": CANCELLED, "claim": None}})
    assert await dead.record(old, {"state": SENT, "claim": None})  # matched nothing: no error
    stored = await reminder(models, rid)
    assert (stored["state"], stored["claim"]) == (PENDING, new.token)

    await alive.update(new, {"$set": {"title": "mine"}})
    assert (await reminder(models, rid))["title"] == "mine"


async def test_of_two_processes_with_the_same_batch_one_claims_each_reminder(
    models: Any, clock: Clock
) -> None:
    first, second = claims_at(clock), claims_at(clock)
    ids = {await add(models, T0), await add(models, T0)}

    a = await first.claim_due(T0)  # reads both ids, claims one, keeps the other
    b = await second.claim_due(T0)  # reads the one left, claims it
    again = await first.claim_due(T0)  # its batch still names the one `second` holds

    assert a is not None
    assert b is not None
    assert {a.doc["_id"], b.doc["_id"]} == ids
    assert again is None
    assert (await reminder(models, b.doc["_id"]))["claim"] == b.token


async def test_the_earliest_due_are_claimed_first_a_batch_at_a_time(
    claims: ReminderClaims, models: Any
) -> None:
    ids = [await add(models, T0 - 10_000 + i) for i in range(CLAIM_BATCH + 1)]
    assert CLAIM_BATCH == 100

    claimed = []
    for _ in range(CLAIM_BATCH):
        claim = await claims.claim_due(T0)
        assert claim is not None
        claimed.append(claim.doc["_id"])

    assert sorted(claimed) == sorted(ids[:-1])  # the 100 earliest, the latest left
    # In a shuffled order (two processes seldom race for one id), not latest first.
    assert claimed != ids[-2::-1]
    last = await claims.claim_due(T0)
    assert last is not None
    assert last.doc["_id"] == ids[-1]
    assert await claims.claim_due(T0) is None


class Shuffles:
    """random for reminder_claims: records each batch read, leaves its order (earliest due
    first, so `pop` takes the latest)."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []

    def shuffle(self, ids: list[Any]) -> None:
        self.batches.append(list(ids))


async def test_a_batch_of_due_ids_is_used_for_two_seconds(
    claims: ReminderClaims, models: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = Shuffles()
    monkeypatch.setattr(reminder_claims, "random", reads)
    a, b, c = [await add(models, T0 - 3 + i) for i in range(3)]  # a earliest
    assert CLAIM_BATCH_FOR_MS == 2000

    first = await claims.claim_due(T0)
    later = await add(models, T0 - 10)  # due, and earlier than all: not in the batch
    second = await claims.claim_due(T0 + 2000)  # the batch is still used
    third = await claims.claim_due(T0 + 2001)  # older than two seconds: read again

    assert [x.doc["_id"] for x in (first, second, third) if x] == [c, b, a]
    assert reads.batches == [[a, b, c], [later, a]]


async def test_a_claim_lost_to_another_process_moves_on_to_the_next_id(
    claims: ReminderClaims, models: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reminder_claims, "random", Shuffles())
    a, b = await add(models, T0 - 2), await add(models, T0 - 1)
    assert await claims.claim_due(T0) is not None  # b; `a` left in the batch
    await models.reminders.update_one({"_id": a}, {"$set": {"lease_ms": T0 + 5}})  # taken

    assert await claims.claim_due(T0) is None  # a lost, the batch re-read: nothing due
    later = await add(models, T0 - 1)
    claim = await claims.claim_due(T0 + 1)
    assert claim is not None
    assert claim.doc["_id"] == later
    assert (await reminder(models, b))["lease_ms"] == T0 + 30_000


# --- the send record --------------------------------------------------------------------------


async def claimed(claims: ReminderClaims, models: Any) -> Claim:
    await add(models, T0)
    claim = await claims.claim_due(T0)
    assert claim is not None
    return claim


async def test_the_record_is_written_as_the_claim_holder(
    claims: ReminderClaims, models: Any
) -> None:
    claim = await claimed(claims, models)

    assert await claims.record(claim, {"state": SENT, "claim": None, "sent_ms": T0 + 5})

    stored = await reminder(models, claim.doc["_id"])
    assert (stored["state"], stored["claim"], stored["sent_ms"]) == (SENT, None, T0 + 5)


async def test_a_reminder_let_go_with_a_later_lease_is_remembered_for_the_idle_loop(
    claims: ReminderClaims, models: Any
) -> None:
    """Released (still pending, leased until later: quiet hours, a busy chat, a retry), it is
    due, so no "next due" look-up finds it: the idle loop wakes at the earliest such lease."""
    first, second = await claimed(claims, models), await claimed(claims, models)
    assert claims.released_until is None

    await claims.update(first, {"$set": {"state": PENDING, "lease_ms": T0 + 90_000}})
    assert claims.released_until == T0 + 90_000
    await claims.update(second, {"$set": {"lease_ms": T0 + 60_000}})  # state unchanged: pending
    assert claims.released_until == T0 + 60_000  # the earlier of the two
    await claims.update(first, {"$set": {"state": PENDING, "lease_ms": T0 + 120_000}})
    assert claims.released_until == T0 + 60_000  # a later one never delays the wake-up
    stored = await reminder(models, first.doc["_id"])
    assert (stored["state"], stored["lease_ms"]) == (PENDING, T0 + 120_000)


@pytest.mark.parametrize(
    "update",
    [
        {"$set": {"state": SENT, "lease_ms": T0 + 60_000}},  # sent: nothing to wake for
        {"$set": {"state": PENDING, "lease_ms": 0}},  # lease dropped: the claim query sees it
        {"$set": {"state": PENDING}},  # no lease set
        {"$set": {"lease_ms": None}},
        {"$inc": {"attempts": 1}},  # no $set at all
    ],
)
async def test_an_update_that_releases_nothing_later_leaves_the_wake_up_alone(
    claims: ReminderClaims, models: Any, update: dict[str, Any]
) -> None:
    claim = await claimed(claims, models)
    await claims.update(claim, update)
    assert claims.released_until is None


class Outage:
    """`update` of these claims fails `times` times (the database away), then works."""

    def __init__(self, claims: ReminderClaims, times: int) -> None:
        self.real, self.times, self.calls = claims.update, times, 0

    async def __call__(self, claim: Claim, update: dict[str, Any]) -> None:
        self.calls += 1
        if self.calls <= self.times:
            raise AutoReconnect("the database is away")
        await self.real(claim, update)


async def test_the_record_is_retried_with_growing_pauses_while_the_lease_runs(
    claims: ReminderClaims, models: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim = await claimed(claims, models)
    outage = Outage(claims, times=7)
    monkeypatch.setattr(claims, "update", outage)

    assert await claims.record(claim, {"state": SENT, "claim": None})

    assert outage.calls == 8
    assert clock.sleeps == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert (await reminder(models, claim.doc["_id"]))["state"] == SENT


# Pauses of 0.1, 0.2, 0.4, 0.8, 1.6 then 2 s: with 5101 ms left, 2001 ms remain before the
# first 2 s pause, which still fits.
@pytest.mark.parametrize(("left_ms", "tries"), [(100, 1), (101, 2), (301, 3), (5101, 7)])
async def test_the_record_is_given_up_when_the_lease_would_lapse_and_said_so(
    claims: ReminderClaims,
    models: Any,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    left_ms: int,
    tries: int,
) -> None:
    claim = await claimed(claims, models)
    outage = Outage(claims, times=100)
    monkeypatch.setattr(claims, "update", outage)
    clock.ms = claim.lease_end - left_ms  # the next pause of 0.1 s would reach the lease end

    with caplog.at_level(logging.ERROR, "server.services.reminders.claims"):
        assert await claims.record(claim, {"state": SENT}) is False

    assert outage.calls == tries
    assert [r.getMessage() for r in caplog.records] == [
        f"reminder {claim.doc['_id']} sent but not recorded: may be sent again"
    ]
    assert (await reminder(models, claim.doc["_id"]))["state"] == PENDING


# --- the 429 gate -----------------------------------------------------------------------------


async def test_the_gate_is_open_without_a_429(claims: ReminderClaims, models: Any) -> None:
    assert await claims.gate_ms() == 0


async def test_the_gate_is_read_from_the_database_at_most_every_200_ms(
    claims: ReminderClaims, models: Any, clock: Clock
) -> None:
    assert GATE_CACHE_MS == 200
    await models.send_gate.insert_one({"_id": "telegram", "paused_until_ms": T0 + 5000})
    assert await claims.gate_ms() == T0 + 5000

    await models.send_gate.update_one({}, {"$set": {"paused_until_ms": T0 + 9000}})
    clock.ms += 199
    assert await claims.gate_ms() == T0 + 5000  # remembered
    clock.ms += 1
    assert await claims.gate_ms() == T0 + 9000  # read again


async def test_the_first_look_reads_the_gate_even_at_the_clocks_start(models: Any) -> None:
    await models.send_gate.insert_one({"_id": "telegram", "paused_until_ms": 7000})

    assert await claims_at(Clock(0)).gate_ms() == 7000


async def test_a_429_closes_the_gate_here_at_once_and_for_every_process(
    claims: ReminderClaims, models: Any, clock: Clock
) -> None:
    other = claims_at(clock)
    assert await claims.gate_ms() == 0  # read now: the cache holds for 200 ms
    assert await other.gate_ms() == 0

    await claims.close_gate(2.5)

    assert await claims.gate_ms() == T0 + 2500  # here at once, not read
    assert await other.gate_ms() == 0  # the others when they next read
    clock.ms += 200
    assert await other.gate_ms() == T0 + 2500
    assert (await models.send_gate.find_one({"_id": "telegram"}))["paused_until_ms"] == T0 + 2500


async def test_a_shorter_429_never_reopens_the_gate_early(
    claims: ReminderClaims, models: Any, clock: Clock
) -> None:
    assert await claims.gate_ms() == 0  # read now: the next 200 ms answer from memory
    await claims.close_gate(10)
    await claims.close_gate(1)

    assert await claims.gate_ms() == T0 + 10_000
    assert (await models.send_gate.find_one({"_id": "telegram"}))["paused_until_ms"] == T0 + 10_000
    # Another process's longer pause, read later, wins over this one's shorter memory.
    await models.send_gate.update_one({}, {"$set": {"paused_until_ms": T0 + 20_000}})
    clock.ms += 200
    assert await claims.gate_ms() == T0 + 20_000


async def test_a_local_close_outlasts_an_older_database_value(
    claims: ReminderClaims, models: Any, clock: Clock
) -> None:
    await claims.close_gate(10)
    await models.send_gate.update_one({}, {"$set": {"paused_until_ms": T0 + 1}})  # not $max
    clock.ms += 200

    assert await claims.gate_ms() == T0 + 10_000


# --- a chat's turn ----------------------------------------------------------------------------


async def test_a_chat_gets_one_turn_per_interval(models: Any, clock: Clock) -> None:
    claims = claims_at(clock, chat_interval=1.5)

    assert await claims.take_chat(42, T0)  # never written to
    assert await models.reminder_chats.find_one({"_id": 42}) == {
        "_id": 42, "next_ms": T0 + 1500, "blocked_ms": 0
    }  # fmt: skip
    assert not await claims.take_chat(42, T0 + 1499)  # busy
    assert (await models.reminder_chats.find_one({"_id": 42}))["next_ms"] == T0 + 1500
    assert await claims.take_chat(42, T0 + 1500)
    assert (await models.reminder_chats.find_one({"_id": 42}))["next_ms"] == T0 + 3000
    assert await claims.take_chat(43, T0 + 1500)  # another chat, its own turns


async def test_a_known_chat_keeps_its_other_fields(models: Any, clock: Clock) -> None:
    await models.reminder_chats.insert_one(
        {"_id": 42, "user_id": "u", "blocked_ms": 0, "next_ms": T0}
    )
    claims = claims_at(clock, chat_interval=0.25)

    assert await claims.take_chat(42, T0)

    assert await models.reminder_chats.find_one({"_id": 42}) == {
        "_id": 42, "user_id": "u", "blocked_ms": 0, "next_ms": T0 + 250
    }  # fmt: skip


# --- the global budget ------------------------------------------------------------------------


# Counters expire by the real clock (the database purges expired ones): slots in the future.
# S starts window W of 300 ms (3 slots 100 ms apart per counter document).
W = 10**10
S = 300 * W


async def counters(db: Any, start: int = S) -> dict[str, int]:
    """Attempts per counter, named by prefix, window length and window counted from the one
    `start` falls in."""
    found = {}
    async for doc in db.rate_counters.find():
        prefix, length, window = doc["_id"].split(":")
        found[f"{prefix}:{length}:{int(window) - start // int(length)}"] = doc["attempts"]
    return found


async def test_slots_are_handed_out_in_turn_a_window_per_counter(
    claims: ReminderClaims, models: Any
) -> None:
    slots = [await claims.reserve("p", S, 100, 3) for _ in range(7)]

    assert [slot - S for slot in slots] == [0, 100, 200, 300, 400, 500, 600]
    assert await counters(models) == {"p:300:0": 3, "p:300:1": 3, "p:300:2": 1}
    window = await models.rate_counters.find_one({"_id": f"p:300:{W}"})
    ends = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=S + 300)
    assert window["expires_at"].replace(tzinfo=UTC) == ends + COUNTER_GRACE
    assert timedelta(seconds=120) == COUNTER_GRACE


@pytest.fixture
def local_zone_far_from_utc() -> Any:
    """The process's local time zone is UTC+5:45 for the test (a server not set to UTC)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kathmandu"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.usefixtures("local_zone_far_from_utc")
async def test_a_counter_expires_by_utc_whatever_the_local_zone(
    claims: ReminderClaims, models: Any
) -> None:
    await claims.reserve("p", S, 100, 3)

    window = await models.rate_counters.find_one({"_id": f"p:300:{W}"})
    ends = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=S + 300)
    assert window["expires_at"].replace(tzinfo=UTC) == ends + COUNTER_GRACE


async def test_a_slot_is_never_before_the_start(claims: ReminderClaims, models: Any) -> None:
    # The first slot of window 1 (300) is within an interval before 390: it is used, now.
    assert await claims.reserve("p", S + 390, 100, 3) == S + 390
    assert await claims.reserve("p", S + 390, 100, 3) == S + 400


async def test_passed_slots_are_skipped_not_bunched(claims: ReminderClaims, models: Any) -> None:
    # At 250 the slots at 0 and 100 passed unused (more than an interval ago): skipped; 200
    # is within one interval: taken, sent now.
    assert await claims.reserve("p", S + 250, 100, 3) == S + 250
    assert await counters(models) == {"p:300:0": 3}
    # The window is used up: the next reservation goes straight to the next window.
    assert await claims.reserve("p", S, 100, 3) == S + 300
    assert await counters(models) == {"p:300:0": 3, "p:300:1": 1}


async def test_a_full_window_sends_later_callers_straight_to_the_next(
    claims: ReminderClaims, models: Any
) -> None:
    for _ in range(3):
        await claims.reserve("p", S, 100, 3)
    other = claims_at(Clock(T0))  # another process: no hint, it finds the window full

    assert await claims.reserve("p", S, 100, 3) == S + 300
    assert await other.reserve("p", S, 100, 3) == S + 400
    assert await counters(models) == {"p:300:0": 4, "p:300:1": 2}
    assert await other.reserve("p", S, 100, 3) == S + 500  # remembered: window 0 not asked
    assert await counters(models) == {"p:300:0": 4, "p:300:1": 3}


async def test_a_slot_exactly_one_interval_before_the_start_is_used(
    claims: ReminderClaims, models: Any
) -> None:
    assert await claims.reserve("p", S + 400, 100, 3) == S + 400  # the slot at 300: sent now
    assert await counters(models) == {"p:300:1": 1}


async def test_a_window_found_full_is_skipped_from_then_on(
    claims: ReminderClaims, models: Any
) -> None:
    # Windows of 2 slots. Another process filled window 0; this one finds it full, takes the
    # first slot of window 1, and from then on asks window 1 first.
    for _ in range(2):
        await claims_at(Clock(T0)).reserve("p", S, 100, 2)

    assert await claims.reserve("p", S, 100, 2) == S + 200
    assert await counters(models, S) == {"p:200:0": 3, "p:200:1": 1}
    assert await claims.reserve("p", S, 100, 2) == S + 300
    assert await counters(models, S) == {"p:200:0": 3, "p:200:1": 2}


async def test_the_first_window_is_the_one_the_start_falls_in(
    claims: ReminderClaims, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Even at the clock's very start (the counters staged: no database, whose expiry would
    # purge counters of 1970).
    asked: list[str] = []

    async def counter(filter: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, int]:
        asked.append(filter["_id"])
        return {"attempts": asked.count(filter["_id"])}

    staged = SimpleNamespace(find_one_and_update=counter)
    monkeypatch.setattr(RateCounter, "get_pymongo_collection", classmethod(lambda cls: staged))

    assert await claims.reserve("p", 0, 100, 3) == 0
    assert await claims.reserve("p", 0, 100, 3) == 100
    assert asked == ["p:300:0", "p:300:0"]


async def test_a_window_of_one_slot_keeps_no_hint(claims: ReminderClaims, models: Any) -> None:
    assert [await claims.reserve("p", S, 100, 1) for _ in range(2)] == [S, S + 100]
    assert await counters(models) == {"p:100:0": 2, "p:100:1": 1}
    # Each window is asked in turn (one slot per window: no hint to skip with).
    assert await claims.reserve("p", S, 100, 1) == S + 200
    assert await counters(models) == {"p:100:0": 3, "p:100:1": 2, "p:100:2": 1}


async def test_hints_are_per_counter_prefix(claims: ReminderClaims, models: Any) -> None:
    for _ in range(3):
        await claims.reserve("p", S, 100, 3)

    assert await claims.reserve("q", S, 100, 3) == S


class CreatedMeanwhile:
    """The counters collection when another process's first reservation creates the counter
    between this upsert's lookup and insert: the other insert really happens, and the
    server answers with a duplicate-key error, as MongoDB does (staged: the embedded server
    serialises upserts)."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    async def find_one_and_update(self, filter: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            await self._collection.insert_one({**filter, "attempts": 1})
            raise DuplicateKeyError("E11000 duplicate key error collection: rate_counters")
        return await self._collection.find_one_and_update(filter, *args, **kwargs)


async def test_losing_the_race_to_create_a_counter_takes_the_next_slot(
    claims: ReminderClaims, models: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = CreatedMeanwhile(RateCounter.get_pymongo_collection())
    monkeypatch.setattr(RateCounter, "get_pymongo_collection", classmethod(lambda cls: staged))

    assert await claims.reserve("p", S, 100, 3) == S + 100

    assert staged.calls == 2
    assert await counters(models) == {"p:300:0": 2}


async def test_no_slot_in_ten_thousand_full_windows_is_an_error(
    claims: ReminderClaims, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    async def full(filter: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, int]:
        asked.append(filter["_id"])
        return {"attempts": 2}  # every window used up

    staged = SimpleNamespace(find_one_and_update=full)
    monkeypatch.setattr(RateCounter, "get_pymongo_collection", classmethod(lambda cls: staged))

    with pytest.raises(RuntimeError, match=r"^no send slot found$"):
        await claims.reserve("p", 0, 100, 1)
    assert len(asked) == 10_000
    assert (asked[0], asked[-1]) == ("p:100:0", "p:100:9999")


async def test_the_budget_slots_follow_the_send_rate(models: Any, clock: Clock) -> None:
    # 20 a second: slots ceil(1000 / (20 * 0.95)) = 53 ms apart, 2 per counter document.
    claims = claims_at(clock, send_rate=20)
    clock.ms = start = 106 * 2 * 10**10  # the start of a window of 106 ms (in 2037)

    for _ in range(5):
        await claims.wait_for_slot()

    assert clock.sleeps == [0.053, 0.053, 0.053, 0.053]
    assert clock.ms == start + 4 * 53
    assert await counters(models, start) == {
        "rem-all:106:0": 2, "rem-all:106:1": 2, "rem-all:106:2": 1
    }  # fmt: skip


async def test_the_budget_of_a_slow_rate_is_one_slot_per_counter(models: Any, clock: Clock) -> None:
    # 9 a second: slots ceil(1000 / 8.55) = 117 ms apart, 1 per counter document.
    claims = claims_at(clock, send_rate=9)
    clock.ms = start = 117 * 2 * 10**10

    await claims.wait_for_slot()
    await claims.wait_for_slot()

    assert clock.sleeps == [0.117]
    assert await counters(models, start) == {"rem-all:117:0": 2, "rem-all:117:1": 1}


@pytest.mark.parametrize(
    ("send_rate", "window_ms"),
    [(9, 117), (11, 96 * 2), (20, 53 * 2), (25, 43 * 3), (1000, 2 * 100)],
)
async def test_slot_intervals_and_windows_follow_the_send_rate(
    models: Any, clock: Clock, send_rate: int, window_ms: int
) -> None:
    # Slots ceil(1000 / (rate * 0.95)) ms apart, ceil(rate / 10) of them per counter.
    clock.ms = 2 * 10**12

    await claims_at(clock, send_rate=send_rate).wait_for_slot()

    [key] = (await counters(models)).keys()
    assert key.split(":")[:2] == ["rem-all", str(window_ms)]


async def test_a_slot_one_millisecond_away_is_waited_for(models: Any, clock: Clock) -> None:
    claims = claims_at(clock, send_rate=20)  # slots 53 ms apart, 2 per window
    clock.ms = 106 * 2 * 10**10 + 52  # the window's first slot was 52 ms ago, its second is next

    await claims.wait_for_slot()  # the first slot: within an interval, sent now
    await claims.wait_for_slot()

    assert clock.sleeps == [0.001]


@pytest.mark.parametrize(("late_ms", "reservations"), [(26, 1), (27, 3)])
async def test_a_sender_woken_late_takes_a_fresh_slot_at_most_twice(
    models: Any, clock: Clock, late_ms: int, reservations: int
) -> None:
    # Slots 53 ms apart: woken up to 26 ms (half a slot) late, it sends; later, it takes a
    # fresh slot, twice at most, then sends anyway.
    claims = claims_at(clock, send_rate=20)
    clock.ms = 106 * 2 * 10**10
    await claims.wait_for_slot()  # the window's first slot: no wait
    clock.oversleep_ms = late_ms

    await claims.wait_for_slot()

    assert len(clock.sleeps) == reservations
    assert sum((await counters(models)).values()) == 1 + reservations
