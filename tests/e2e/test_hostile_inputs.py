"""The rule behind issue 22: no request, update or background job holds the event loop for
more than 50 ms, whatever its input. Each hostile input of items 1, 2, 4 and 7 goes to the
real app (aiohttp, the reminder engine, the fake Bot API, the embedded MongoDB) while a
client probes GET /health every 10 ms; the test fails when the probes' p99 exceeds 100 ms.

The probes go one at a time, 10 ms apart; a single long freeze is one slow probe, which
the 99th percentile of hundreds would not show, so the slowest probe is bounded too
(500 ms: the machine is shared by other jobs, and issue 22's freezes lasted 1 s to an hour)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st

from server.keys import SERVICES
from server.services.common.errors import InvalidInput
from server.services.dates.occurrences import next_occurrence
from server.services.reminders.clock import to_ms
from server.services.tasks.service import clean_repeat
from tests.bot_helpers import bot_settings
from tests.e2e.test_reminders_delivery import sends, task_of
from tests.helpers import assert_problem

# Every test here measures time (/health's p99, a call's CPU): coverage tracing distorts
# that, so they run untraced with the timing tests (make test-timing).
pytestmark = pytest.mark.timing

TOKEN = "bot-service-token-0123456789abcdefghijklmn"
PROBE_EVERY = 0.010
# A p99 needs a sample: when the hostile work ends quickly (a fast machine), probing goes on
# after it until there are this many, so a fast run is judged, not refused.
MIN_PROBES = 20
P99_LIMIT = 0.100
# Hostile requests go one at a time, this far apart: the rule is about what one request
# does to the loop; volume is the rate quota's business (test_quotas.py).
PACE = 0.020
MAX_LIMIT = 0.500
ALL_MINUTES = ",".join(str(m) for m in range(60))
ALL_SECONDS = ",".join(str(s) for s in range(60))
# Issue 22's inputs, as reported.
FREEZE_RULE = f"FREQ=HOURLY;BYMINUTE={ALL_MINUTES};BYSECOND=0,1,2,3,4,5;BYSETPOS=-366"
EVERY_SECOND = f"FREQ=HOURLY;BYMINUTE={ALL_MINUTES};BYSECOND={ALL_SECONDS}"
REFUSED_REPEATS = [
    FREEZE_RULE,  # item 1: 55 s of CPU
    "FREQ=HOURLY;BYSETPOS=2",  # item 1: ~1 s
    "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",  # never occurs: walked to 9999
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    EVERY_SECOND,  # item 7: a reminder every second
    f"FREQ=HOURLY;BYMINUTE={ALL_MINUTES}",
    "FREQ=DAILY;BYHOUR=0,23;BYMINUTE=0,58",  # 2 minutes apart across midnight
]
PAST = "1900-01-01T00:00:00Z"


class HealthProbe:
    """GET /health every PROBE_EVERY seconds, one at a time, each latency recorded."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.latencies: list[float] = []
        self.failures: list[int] = []
        self.enough = asyncio.Event()  # set once MIN_PROBES latencies are in

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            resp = await self.client.get("/health")
            if resp.status != 200:
                self.failures.append(resp.status)
            await resp.release()
            self.latencies.append(time.perf_counter() - started)
            if len(self.latencies) >= MIN_PROBES:
                self.enough.set()
            await asyncio.sleep(PROBE_EVERY)

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    def check(self) -> None:
        assert len(self.latencies) >= MIN_PROBES, "too few probes to judge"
        assert not self.failures, self.failures
        worst = [round(w * 1000) for w in sorted(self.latencies)[-5:]]
        summary = f"over {len(self.latencies)} probes; worst {worst} ms"
        print(f"/health p99 {self.p99() * 1000:.1f} ms {summary}")  # shown with -s
        assert self.p99() <= P99_LIMIT, f"/health p99 {self.p99() * 1000:.0f} ms {summary}"
        # One long freeze is one slow probe, below the 99th percentile of hundreds: caught
        # here (the freezes of issue 22 lasted 1 s to an hour).
        assert max(self.latencies) <= MAX_LIMIT, f"/health max {summary}"


@contextlib.asynccontextmanager
async def health_measured(client: TestClient) -> AsyncIterator[HealthProbe]:
    # The objects alive now (pytest, Hypothesis, two apps' start-up) are moved out of the
    # collector's reach: a full collection over them costs 300-400 ms here, a pause of the
    # test harness, not of the code under test (a server would gc.freeze() after start-up).
    gc.collect()
    gc.freeze()
    probe = HealthProbe(client)
    task = asyncio.create_task(probe.run())
    await asyncio.sleep(5 * PROBE_EVERY)  # a few probes before the first hostile input
    try:
        yield probe
    finally:
        await asyncio.sleep(5 * PROBE_EVERY)  # and after: a freeze may end the block
        with contextlib.suppress(TimeoutError):  # check() then says "too few probes"
            await asyncio.wait_for(probe.enough.wait(), 5.0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        gc.unfreeze()
    probe.check()


def as_user(telegram_id: int) -> dict[str, str]:
    return {"Authorization": f"Bot {TOKEN}", "X-Telegram-User-Id": str(telegram_id)}


async def app(make_client: Any, fake_api: Any, **overrides: Any) -> TestClient:
    # Two delivery workers polling every 0.2 s: enough to send at once, without a dozen idle
    # pollers per app adding their own noise to the measurement.
    return await make_client(**bot_settings(fake_api), bot_api_tokens=TOKEN, reminder_poll=0.2,
                             reminder_workers=2, reminder_late_after=5, **overrides)  # fmt: skip


async def test_hostile_repeat_rules_and_past_repeating_reminders_never_stall_health(
    make_client, fake_api, db
):
    client = await app(make_client, fake_api)
    # A second process on the same database, started before the measurement (starting an
    # app is not a request): it stands for the process after a restart or a crash.
    restarted = await app(make_client, fake_api)
    alice = as_user(7101)
    # Warm-up, not measured: the user's first sight (account, built-in lists) and each
    # route's first call (lazy imports, caches) are one-off costs, not hostile inputs.
    plain = await client.post("/api/tasks", json={"title": "plain"}, headers=alice)
    assert plain.status == 201
    plain_id = (await plain.json())["id"]
    warm = await client.patch(f"/api/tasks/{plain_id}", json={"repeat": "x"}, headers=alice)
    assert warm.status == 422
    async with health_measured(client):
        # Items 1 and 7: each refused with a 422 naming `repeat`, by POST and by PATCH, and
        # nothing is written.
        for rule in REFUSED_REPEATS:
            created = await client.post(
                "/api/tasks", json={"title": "x", "repeat": rule}, headers=alice
            )
            problem = await assert_problem(created, 422)
            assert [e["field"] for e in problem["errors"]] == ["repeat"], problem
            await asyncio.sleep(PACE)
            changed = await client.patch(
                f"/api/tasks/{plain_id}", json={"repeat": rule, "remind_at": PAST}, headers=alice
            )
            problem = await assert_problem(changed, 422)
            assert [e["field"] for e in problem["errors"]] == ["repeat"], problem
            await asyncio.sleep(PACE)
        assert await db.tasks.count_documents({}) == 1
        assert (await db.tasks.find_one({}))["repeat"] is None

        # Item 2: repeating reminders dated 1900 are sent once at once, then re-armed at
        # their next occurrence after now, found without walking 126 years.
        rules = {
            "FREQ=HOURLY;BYMINUTE=0,15,30,45": timedelta(minutes=15),
            "FREQ=HOURLY;BYMINUTE=0,5,10,15,20,25,30,35,40,45,50,55": timedelta(minutes=5),
            "FREQ=DAILY;BYHOUR=0,6,12,18;BYMINUTE=0,30": timedelta(hours=6),
        }
        ids = {}
        for rule in rules:
            resp = await client.post(
                "/api/tasks", json={"title": rule[:20], "remind_at": PAST, "repeat": rule},
                headers=alice,
            )  # fmt: skip
            assert resp.status == 201, await resp.text()
            ids[(await resp.json())["id"]] = rule
            await asyncio.sleep(PACE)
        await fake_api.until(lambda: len(sends(fake_api)) >= len(rules), "the 1900 reminders", 10)
        now = datetime.now(UTC)
        for task_id, rule in ids.items():
            doc = await db.reminders.find_one({"_id": ObjectId(task_id)})
            following = datetime.fromtimestamp(doc["due_ms"] / 1000, UTC)
            assert doc["state"] == 0, (rule, doc)  # pending again: the repeat goes on
            assert now - timedelta(seconds=5) < following <= now + rules[rule], (rule, following)

        # After a restart (or a crash mid-send) a process finds stored 1900 occurrences: one
        # with a rule stored before the checks (a reminder every second) is sent once and
        # then ends, instead of walking 73 minutes or flooding the chat.
        stored = {"FREQ=HOURLY;BYMINUTE=0,15,30,45": 0, EVERY_SECOND: 1}
        user = await db.users.find_one({"telegram_id": 7101})
        seeded = {}
        for rule, final_state in stored.items():
            _id = ObjectId()
            seeded[str(_id)] = final_state
            await db.reminders.insert_one(
                {"_id": _id, "user_id": str(user["_id"]), "title": "stored", "repeat": rule,
                 "due_ms": to_ms(datetime(1900, 1, 1, tzinfo=UTC)),
                 "occurrence_ms": to_ms(datetime(1900, 1, 1, tzinfo=UTC)), "state": 0,
                 "lease_ms": 0, "claim": None, "paused": 0, "attempts": 0, "sent_ms": 0,
                 "sent_occurrence_ms": 0, "late": 0, "version": 1}
            )  # fmt: skip
        await fake_api.until(
            lambda: {task_of(c) for c in sends(fake_api)} >= set(seeded), "the stored ones", 10
        )
        for _id, final_state in seeded.items():
            doc = await db.reminders.find_one({"_id": ObjectId(_id)})
            for _ in range(50):
                if doc["claim"] is None and doc["sent_ms"]:
                    break
                await asyncio.sleep(0.02)
                doc = await db.reminders.find_one({"_id": ObjectId(_id)})
            assert doc["state"] == final_state, doc
        assert restarted.server is not None
    every_second = [c for c in sends(fake_api) if task_of(c) in seeded and seeded[task_of(c)]]
    assert len(every_second) == 1  # sent once, never re-armed


def letters(count: int) -> list[str]:
    """`count` distinct one-letter words: Latin, Cyrillic, then CJK ideographs."""
    found = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    found += [chr(c) for c in range(ord("а"), ord("я") + 1)]
    code = 0x4E00
    while len(found) < count:
        found.append(chr(code))
        code += 1
    return found[:count]


async def test_search_over_notes_of_5000_one_letter_words_never_stalls_health(
    make_client, fake_api, db
):
    client = await app(make_client, fake_api)
    bob = as_user(7102)
    notes = " ".join(letters(5000))
    assert len(notes) <= 10_000
    resp = await client.post("/api/tasks", json={"title": "task 0", "notes": notes}, headers=bob)
    assert resp.status == 201, await resp.text()
    # The other 199 are copies of the document the API wrote (same terms), inserted in one
    # batch: 199 more POSTs of 10 KB notes cost over a minute on the embedded server, and the
    # search, not the creation, is the case here.
    first = await db.tasks.find_one({"_id": ObjectId((await resp.json())["id"])})
    copies = []
    for n in range(1, 200):
        copy = {**first, "_id": ObjectId(), "title": f"task {n}"}
        copy["order_key"] = f"{first['order_key'][:13]}{copy['_id']}"
        copies.append(copy)
    started = time.perf_counter()
    await db.tasks.insert_many(copies)
    print(f"199 copies inserted in {time.perf_counter() - started:.1f} s")
    assert await db.tasks.count_documents({"user_id": first["user_id"]}) == 200
    # Search reads its candidates from the user's postings: the copies get theirs as the
    # service writes them, so all 200 are candidates.
    await client.server.app[SERVICES].tasks.search_backend.reindex_user(first["user_id"])
    async with health_measured(client):
        resp = await client.get("/api/tasks", params={"q": "a ж з и й к л м"}, headers=bob)
        assert resp.status == 200
    assert len((await resp.json())["items"]) == 50  # the ranking ran over the candidates


# --- Fuzzing: any rule parts through the service's validation and the next occurrence ------

ONE_CALL = 0.050  # seconds of CPU: the event-loop rule
PART = st.one_of(
    st.tuples(st.sampled_from(["BYSECOND", "BYMINUTE", "BYHOUR", "BYMONTHDAY", "BYYEARDAY",
                               "BYWEEKNO", "BYMONTH", "BYSETPOS"]),
              st.lists(st.integers(-400, 400), min_size=1, max_size=70)
              .map(lambda v: ",".join(map(str, v)))),
    st.tuples(st.just("BYDAY"),
              st.lists(st.tuples(st.sampled_from(["", "1", "-1", "5", "+2", "53", "-60"]),
                                 st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"])),
                       min_size=1, max_size=20).map(lambda v: ",".join(a + b for a, b in v))),
    st.tuples(st.sampled_from(["COUNT", "INTERVAL"]), st.integers(0, 5000).map(str)),
    st.tuples(st.just("UNTIL"),
              st.sampled_from(["20300101", "20300101T000000Z", "19000101T000000", "2030"])),
    st.tuples(st.just("WKST"), st.sampled_from(["MO", "SU", "XX"])),
)  # fmt: skip
FUZZ_NOW = datetime(2026, 12, 7, 4, 40, tzinfo=UTC)


def cpu(call: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.thread_time()
    try:
        result = call(*args, **kwargs)
    except (InvalidInput, ValueError) as exc:
        result = exc
    return time.thread_time() - start, result


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(
    freq=st.sampled_from(["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
    parts=st.lists(PART, max_size=6),
    anchor=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9998, 1, 1)),
)
def test_fuzzed_repeat_rules_cost_one_call_budget_at_most(freq, parts, anchor):
    from zoneinfo import ZoneInfo

    rule = ";".join([f"FREQ={freq}", *(f"{name}={value}" for name, value in parts)])
    spent, cleaned = cpu(clean_repeat, rule)
    assert spent < ONE_CALL, f"validation took {spent * 1000:.1f} ms: {rule}"
    if isinstance(cleaned, Exception):
        assert isinstance(cleaned, InvalidInput)
        assert cleaned.field == "repeat"
        return
    zone = ZoneInfo("Europe/Berlin")
    spent, following = cpu(
        next_occurrence, cleaned, anchor.replace(tzinfo=UTC), FUZZ_NOW, zone, strict=True
    )
    assert spent < ONE_CALL, f"next occurrence took {spent * 1000:.1f} ms: {rule} from {anchor}"
    assert following is None or isinstance(following, ValueError) or following > FUZZ_NOW
