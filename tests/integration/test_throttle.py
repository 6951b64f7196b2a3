"""Fixed-window counters in the database, with an injected clock: limits, windows, Retry-After,
forgiveness, hashed keys, and the retry when two first attempts race to create a counter."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from models import RateCounter
from server.services.common.errors import TooManyAttempts
from server.services.common.throttle import EXPIRY_GRACE, Limit, RateLimiter
from tests.clock import ManualClock

WINDOW = 900
# In the future (2096): counters expire by the real clock, and the database purges expired ones.
START = 4_000_000_100.0  # 500 s into a 900 s window
WINDOW_START = START // WINDOW * WINDOW
LOGIN = Limit("login-user", 3, WINDOW)
ADDRESS = Limit("login-addr", 5, WINDOW)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def limiter(models: Any, clock: ManualClock) -> RateLimiter:
    return RateLimiter(clock)


async def counters(db: Any) -> list[dict[str, Any]]:
    return await db["rate_counters"].find({}).to_list()


async def hits_until_refused(limiter: RateLimiter, *hits: tuple[Limit, str]) -> int:
    for allowed in range(100):
        try:
            await limiter.hit(*hits)
        except TooManyAttempts:
            return allowed
    raise AssertionError("never refused")


async def test_max_attempts_pass_and_the_next_is_refused_with_retry_after(
    limiter: RateLimiter, clock: ManualClock
) -> None:
    for _ in range(LOGIN.max):
        await limiter.hit((LOGIN, "alice"))

    with pytest.raises(TooManyAttempts) as caught:
        await limiter.hit((LOGIN, "alice"))

    assert caught.value.retry_after == WINDOW_START + WINDOW - START == 400
    clock.now = WINDOW_START + WINDOW - 0.5
    with pytest.raises(TooManyAttempts) as caught:
        await limiter.hit((LOGIN, "alice"))
    assert caught.value.retry_after == 1  # rounded up, never 0


async def test_retry_after_is_at_least_one_second(limiter: RateLimiter, clock: ManualClock) -> None:
    end = WINDOW_START + WINDOW
    clock.now = end - 0.001
    assert await hits_until_refused(limiter, (LOGIN, "alice")) == LOGIN.max
    # The window ends between counting the attempt and answering it.
    moments = iter([end - 0.001, end + 5])
    late = RateLimiter(lambda: next(moments))

    with pytest.raises(TooManyAttempts) as caught:
        await late.hit((LOGIN, "alice"))

    assert caught.value.retry_after == 1


async def test_a_new_window_starts_from_zero(limiter: RateLimiter, clock: ManualClock) -> None:
    assert await hits_until_refused(limiter, (LOGIN, "alice")) == LOGIN.max

    clock.now = WINDOW_START + WINDOW  # the first second of the next window

    assert await hits_until_refused(limiter, (LOGIN, "alice")) == LOGIN.max


async def test_the_last_second_of_a_window_is_still_that_window(
    limiter: RateLimiter, clock: ManualClock
) -> None:
    assert await hits_until_refused(limiter, (LOGIN, "alice")) == LOGIN.max
    clock.now = WINDOW_START + WINDOW - 0.001

    with pytest.raises(TooManyAttempts):
        await limiter.hit((LOGIN, "alice"))


async def test_subjects_and_limits_count_separately(limiter: RateLimiter) -> None:
    assert await hits_until_refused(limiter, (LOGIN, "alice")) == LOGIN.max

    await limiter.hit((LOGIN, "bob"))
    await limiter.hit((Limit("other", 3, WINDOW), "alice"))


async def test_several_limits_count_at_once_and_the_tightest_refuses(
    limiter: RateLimiter, models: Any
) -> None:
    hits = ((LOGIN, "alice"), (ADDRESS, "192.0.2.1"))

    assert await hits_until_refused(limiter, *hits) == LOGIN.max

    attempts = sorted(c["attempts"] for c in await counters(models))
    assert attempts == [LOGIN.max + 1, LOGIN.max + 1]  # the refused attempt is counted too


async def test_retry_after_is_the_latest_end_among_the_exceeded_limits(
    limiter: RateLimiter,
) -> None:
    short, long = Limit("short", 1, 60), Limit("long", 1, 3600)
    await limiter.hit((short, "a"), (long, "a"))

    with pytest.raises(TooManyAttempts) as caught:
        await limiter.hit((short, "a"), (long, "a"))

    assert caught.value.retry_after == (START // 3600 + 1) * 3600 - START


async def test_counters_hold_no_subject_and_expire_after_their_window(
    limiter: RateLimiter, models: Any
) -> None:
    await limiter.hit((LOGIN, "alice@example.com"))

    [counter] = await counters(models)
    digest = hashlib.sha256(b"alice@example.com").hexdigest()[:32]
    assert counter["_id"] == f"login-user:{digest}:{int(START // WINDOW)}"
    assert "alice" not in repr(counter)
    assert counter["attempts"] == 1
    expected = datetime.fromtimestamp(WINDOW_START + WINDOW, UTC) + EXPIRY_GRACE
    assert counter["expires_at"] == expected
    assert timedelta(seconds=60) == EXPIRY_GRACE


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is not UTC (a developer's laptop)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_counter_expiry_does_not_depend_on_the_local_time_zone(
    limiter: RateLimiter, models: Any, new_york: None
) -> None:
    await limiter.hit((LOGIN, "alice"))

    [counter] = await counters(models)
    assert (
        counter["expires_at"] == datetime.fromtimestamp(WINDOW_START + WINDOW, UTC) + EXPIRY_GRACE
    )


async def test_any_subject_text_is_counted(limiter: RateLimiter) -> None:
    for subject in ("", "ключ", "\udcff", "x" * 10_000):
        await limiter.hit((LOGIN, subject))


async def test_forgive_takes_one_attempt_back_from_each(limiter: RateLimiter, models: Any) -> None:
    hits = ((LOGIN, "alice"), (ADDRESS, "192.0.2.1"))
    await limiter.hit(*hits)
    await limiter.hit(*hits)

    await limiter.forgive(*hits)

    assert sorted(c["attempts"] for c in await counters(models)) == [1, 1]
    assert await hits_until_refused(limiter, (LOGIN, "alice")) == LOGIN.max - 1


async def test_forgive_touches_only_its_own_window(
    limiter: RateLimiter, clock: ManualClock, models: Any
) -> None:
    await limiter.hit((LOGIN, "alice"))
    clock.now += WINDOW

    await limiter.forgive((LOGIN, "alice"))

    assert [c["attempts"] for c in await counters(models)] == [1]


async def test_concurrent_first_attempts_are_all_counted(limiter: RateLimiter, models: Any) -> None:
    wide = Limit("wide", 1000, WINDOW)

    await asyncio.gather(*(limiter.hit((wide, "same")) for _ in range(20)))

    assert [c["attempts"] for c in await counters(models)] == [20]


class LosesTheRace:
    """The counters collection as a process sees it when another process's first attempt
    creates the counter between its own lookup and insert: the other insert really happens
    (in the database), and the server answers this upsert with a duplicate-key error, as
    MongoDB does. The embedded server serialises upserts, so the race is staged this way."""

    def __init__(self, collection: Any, times: int) -> None:
        self._collection = collection
        self._times = times
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    async def find_one_and_update(self, filter: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self._times:
            if self.calls == 1:  # the racing process's first attempt
                await self._collection.insert_one({**filter, "attempts": 1})
            raise DuplicateKeyError("E11000 duplicate key error collection: rate_counters")
        return await self._collection.find_one_and_update(filter, *args, **kwargs)


def racing(monkeypatch: pytest.MonkeyPatch, times: int) -> LosesTheRace:
    staged = LosesTheRace(RateCounter.get_pymongo_collection(), times)
    monkeypatch.setattr(RateCounter, "get_pymongo_collection", classmethod(lambda cls: staged))
    return staged


async def test_losing_the_race_to_create_a_counter_retries_and_counts(
    limiter: RateLimiter, models: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = racing(monkeypatch, times=1)

    await limiter.hit((LOGIN, "alice"))

    assert staged.calls == 2
    assert [c["attempts"] for c in await counters(models)] == [2]  # theirs and ours


async def test_the_retry_still_enforces_the_limit(
    limiter: RateLimiter, models: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    racing(monkeypatch, times=1)
    one = Limit("one", 1, WINDOW)

    with pytest.raises(TooManyAttempts):
        await limiter.hit((one, "alice"))  # the racer took the only attempt


async def test_a_second_duplicate_key_error_is_not_swallowed(
    limiter: RateLimiter, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = racing(monkeypatch, times=2)

    with pytest.raises(DuplicateKeyError):
        await limiter.hit((LOGIN, "alice"))
    assert staged.calls == 2


async def test_erase_deletes_the_current_and_the_previous_windows_counters(
    limiter: RateLimiter, clock: ManualClock, models: Any
) -> None:
    # An erased account's username: its counters go, this window's and the last one's (which
    # outlives its window by EXPIRY_GRACE); other subjects' and older windows' stay.
    for moment in (START - 2 * WINDOW, START - WINDOW, START):
        clock.now = moment
        await limiter.hit((LOGIN, "gone"), (LOGIN, "kept"), (ADDRESS, "gone"))
    assert len(await counters(models)) == 9

    await limiter.erase((LOGIN, "gone"), (ADDRESS, "gone"))

    windows = sorted(
        (doc["_id"].split(":")[0], int(doc["_id"].rsplit(":", 1)[1]))
        for doc in await counters(models)
    )
    current = int(WINDOW_START // WINDOW)
    assert windows == sorted(
        [("login-user", current - 2), ("login-addr", current - 2)]  # "gone": the oldest only
        + [("login-user", w) for w in (current - 2, current - 1, current)]  # "kept": all
    )
