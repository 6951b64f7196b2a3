"""Fixed-window attempt counters in MongoDB, so every web process sees the same counts."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.rate_counter import RateCounter
from server.services.errors import TooManyAttempts


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    max: int
    window: int  # seconds


class RateLimiter:
    async def hit(self, limit: Limit, subject: str) -> None:
        """Count one attempt; raise TooManyAttempts once the window holds more than `max`."""
        count, window_end = await self._add(limit, subject, 1)
        if count > limit.max:
            raise TooManyAttempts(retry_after=max(1, math.ceil(window_end - time.time())))

    async def forgive(self, limit: Limit, subject: str) -> None:
        """Take back one attempt (a login that succeeded was not a failure)."""
        await self._add(limit, subject, -1)

    async def _add(self, limit: Limit, subject: str, amount: int) -> tuple[int, float]:
        window = int(time.time() // limit.window)
        window_end = (window + 1) * limit.window
        # Subjects are hashed: the collection holds no usernames or addresses.
        digest = hashlib.sha256(subject.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        key = f"{limit.name}:{digest}:{window}"
        collection = RateCounter.get_pymongo_collection()
        if amount > 0:
            try:
                # Insert first: the expiry is written with the document, never by an update.
                expires = datetime.fromtimestamp(window_end, UTC) + timedelta(seconds=60)
                await collection.insert_one({"_id": key, "attempts": amount, "expires_at": expires})
                return amount, window_end
            except DuplicateKeyError:
                pass
        doc = await collection.find_one_and_update(
            {"_id": key}, {"$inc": {"attempts": amount}}, return_document=ReturnDocument.AFTER
        )
        return (doc["attempts"] if doc else 0), window_end
