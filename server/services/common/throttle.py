"""Fixed-window attempt counters in MongoDB, so every web process sees the same counts."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.rate_counter import RateCounter
from server.services.common.errors import TooManyAttempts

# A counter outlives its window a little, so a slow clock on one process still finds it.
EXPIRY_GRACE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    max: int
    window: int  # seconds


Hit = tuple[Limit, str]  # a limit and the subject it counts (a username, an address)


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock  # injectable, so tests can pick the moment in a window

    async def hit(self, *hits: Hit) -> None:
        """Count one attempt against each limit (concurrently: one round trip each); raise
        TooManyAttempts when any window now holds more than its `max`."""
        if len(hits) == 1:  # no gather (a task per awaitable) for a single count
            counts = [await self._count(*hits[0])]
        else:
            counts = await asyncio.gather(*(self._count(limit, subject) for limit, subject in hits))
        over = [
            end for (count, end), (limit, _) in zip(counts, hits, strict=True) if count > limit.max
        ]
        if over:
            raise TooManyAttempts(retry_after=max(1, math.ceil(max(over) - self._clock())))

    async def forgive(self, *hits: Hit) -> None:
        """Take one attempt back from each (a login that succeeded was not a failure)."""
        keys = [_key(limit, subject, self._clock())[0] for limit, subject in hits]
        await RateCounter.get_pymongo_collection().update_many(
            {"_id": {"$in": keys}}, {"$inc": {"attempts": -1}}
        )

    async def erase(self, *hits: Hit) -> None:
        """Delete the counters of these subjects (an erased account's username): the current
        window's and the previous one's, which may outlive its window by EXPIRY_GRACE."""
        keys = []
        for limit, subject in hits:
            key, window_end = _key(limit, subject, self._clock())
            previous, _ = _key(limit, subject, window_end - 2 * limit.window)
            keys += [key, previous]
        await RateCounter.get_pymongo_collection().delete_many({"_id": {"$in": keys}})

    async def _count(self, limit: Limit, subject: str) -> tuple[int, float]:
        key, window_end = _key(limit, subject, self._clock())
        expires = datetime.fromtimestamp(window_end, UTC) + EXPIRY_GRACE
        collection = RateCounter.get_pymongo_collection()
        for attempt in range(2):
            try:
                # One round trip: an upsert copies the filter's equalities (the expiry
                # included) into a new counter; `$setOnInsert` is not needed.
                doc = await collection.find_one_and_update(
                    {"_id": key, "expires_at": expires},
                    {"$inc": {"attempts": 1}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                assert doc is not None  # an upsert always returns the document
                return doc["attempts"], window_end
            except DuplicateKeyError:  # two first attempts raced to create it
                if attempt:
                    raise
        raise AssertionError("unreachable")


def _key(limit: Limit, subject: str, now: float) -> tuple[str, float]:
    window = int(now // limit.window)
    # Subjects are hashed: the collection holds no usernames or addresses.
    digest = hashlib.sha256(subject.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return f"{limit.name}:{digest}:{window}", float((window + 1) * limit.window)
