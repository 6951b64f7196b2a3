"""Once-only reminder sending across processes on one MongoDB, the part of reminder delivery
that decides who may send what and when (server/services/reminders/delivery.py decides what
to send; the reminder and chat writes are the reminder store's: store.py, claim_store.py):

- the claim: a due reminder is taken atomically (`find_one_and_update` on pending + due +
  lease lapsed), with a random claim token and a lease; of two processes one wins;
- writes as the claim holder: every later update of the reminder matches the claim token, so
  a process whose lease lapsed (and whose reminder another process took over) changes
  nothing; the record of a send is retried until the lease lapses, because keeping the
  claim is what stops another process from sending it again;
- Telegram's limits, shared: a global budget of `send_rate` messages per second as
  one-message time slots reserved with `$inc` counters (the rate-counter collection), one
  message per `chat_interval` per chat (an atomic turn), and the 429 gate that a
  `retry_after` closes for every process.
"""

from __future__ import annotations

import logging
import math
import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from models.rate_counter import RateCounter
from models.reminder import PENDING, SendGate
from server.services.reminders import claim_store
from server.services.reminders.clock import Clock

log = logging.getLogger(__name__)

GATE_ID = "telegram"
GATE_CACHE_MS = 200
SLOT_SHARE = 0.95  # of the send budget that slots hand out
COUNTER_GRACE = timedelta(seconds=120)  # slot counters outlive their slot by this much
# Due reminders looked up at a time (their ids), and for how long such a batch is used.
CLAIM_BATCH = 100
CLAIM_BATCH_FOR_MS = 2000
BUDGET = "rem-all"  # the counter prefix of the global send budget


@dataclass(frozen=True, slots=True)
class Claim:
    """A reminder this process holds: its document as claimed, the claim token that every
    write as the holder matches, and when the lease lapses."""

    doc: dict[str, Any]
    token: str
    lease_end: int


class ReminderClaims:
    """Claims, writes as the claim holder, and the shared send limits. One per process (it
    keeps the batch of due ids, the slot hints and the cached 429 gate)."""

    def __init__(self, clock: Clock, lease: float, send_rate: int, chat_interval: float) -> None:
        self.clock = clock
        self.lease_ms = int(lease * 1000)
        self.send_rate = send_rate
        self.chat_interval_ms = int(chat_interval * 1000)
        self._due_ids: list[Any] = []  # due reminders to try to claim (see claim_due)
        self._due_read_ms = 0
        self._slot_hint: dict[str, int] = {}  # per counter prefix: first window worth trying
        # The shared 429 gate, read at most every GATE_CACHE_MS per process (a 429 this
        # process receives closes it here at once).
        self._gate = (0, -GATE_CACHE_MS)  # (paused until, read at)
        # The earliest lease this process put on a due reminder it let go (quiet hours, a
        # busy chat, a retry): due, so no "next due" look-up finds it; the idle loop wakes
        # for it (see ReminderDelivery._idle_until_due).
        self.released_until: int | None = None

    # ------------------------------------------------------------------ the claim

    async def claim_due(self, now: int) -> Claim | None:
        """Claim one due reminder, earliest first; None when none is due. The due ones are
        looked up CLAIM_BATCH at a time (ids only) and claimed one by one by id with the same
        conditions, so the claim stays atomic (of two processes one wins; the other moves on
        to its next id), while the search for due reminders, a sorted scan of the collection
        on the embedded server, is made once per batch instead of once per message. Each
        process takes its batch in a shuffled order, so two processes seldom race for the
        same id."""
        token = secrets.token_hex(8)
        claim = {
            "$set": {"lease_ms": now + self.lease_ms, "claim": token},
            "$inc": {"attempts": 1},
        }
        while True:
            if not self._due_ids or self._due_read_ms + CLAIM_BATCH_FOR_MS < now:
                ids = await claim_store.due_ids(now, CLAIM_BATCH)
                random.shuffle(ids)
                self._due_ids, self._due_read_ms = ids, now
                if not ids:
                    return None
            doc = await claim_store.claim(self._due_ids.pop(), now, claim)
            if doc is not None:
                return Claim(doc, token, now + self.lease_ms)

    async def next_due_ms(self, now: int) -> int | None:
        """When the earliest pending reminder due after `now` is due (None: none is). One
        look-up at the start of the `due` index, whatever the number of reminders: what the
        idle delivery loop sleeps until."""
        return await claim_store.next_due_ms(now)

    async def update(self, claim: Claim, update: dict[str, Any]) -> None:
        """Change the claimed reminder, if the claim is still ours."""
        await claim_store.update_claimed(claim.doc["_id"], claim.token, update)
        fields = update.get("$set", {})
        lease = fields.get("lease_ms")
        if fields.get("state", PENDING) == PENDING and isinstance(lease, int) and lease > 0:
            self.released_until = min(lease, self.released_until or lease)

    async def record(self, claim: Claim, fields: dict[str, Any]) -> bool:
        """Record a send (`$set` of `fields`) as the claim holder. Tried until the lease
        lapses: while the database is away, keeping the claim is what stops another process
        from sending it again. False when it could not be recorded."""
        delay = 0.1
        while True:
            try:
                await self.update(claim, {"$set": fields})
                return True
            except PyMongoError:
                if self.clock.now_ms() + delay * 1000 >= claim.lease_end:
                    log.error(
                        "reminder %s sent but not recorded: may be sent again", claim.doc["_id"]
                    )
                    return False
                await self.clock.sleep(delay)
                delay = min(2.0, delay * 2)

    # ------------------------------------------------------------------ the 429 gate

    async def gate_ms(self) -> int:
        """Until when nobody may send (epoch ms; in the past when sending is open)."""
        until, read_at = self._gate
        now = self.clock.now_ms()
        if now - read_at >= GATE_CACHE_MS:
            gate = await SendGate.get_pymongo_collection().find_one({"_id": GATE_ID})
            until = max(until, int(gate["paused_until_ms"]) if gate else 0)
            self._gate = (until, now)
        return until

    async def close_gate(self, seconds: float) -> None:
        """Telegram said 429, retry after `seconds`: nobody sends until then, this process at
        once, the others when they next read the gate."""
        until = self.clock.now_ms() + int(seconds * 1000)
        self._gate = (max(until, self._gate[0]), self._gate[1])
        await SendGate.get_pymongo_collection().update_one(
            {"_id": GATE_ID}, {"$max": {"paused_until_ms": until}}, upsert=True
        )

    # ------------------------------------------------------------------ per chat

    async def take_chat(self, chat_id: int, now: int) -> bool:
        """The chat's turn: True (and the chat busy for `chat_interval`) when its last message
        is at least that long ago. Atomic, so two processes cannot both take a turn. Not an
        upsert: on the embedded server an upsert whose filter misses overwrites the existing
        document instead of failing on its `_id`."""
        return await claim_store.take_chat_turn(chat_id, now, now + self.chat_interval_ms)

    # ------------------------------------------------------------------ the global budget

    async def wait_for_slot(self) -> None:
        """Wait for this send's slot in the global budget. Slots are 1000/rate ms apart, less
        5 %: a send can leave a little late (a busy event loop, the network), and the ones
        after it must still fit the budget in every second. Handed out `batch` per counter
        document, so a reservation is about one write."""
        interval = math.ceil(1000 / (self.send_rate * SLOT_SHARE))
        batch = max(1, math.ceil(self.send_rate / 10))
        for _ in range(3):
            slot = await self.reserve(BUDGET, self.clock.now_ms(), interval, batch)
            if (wait := slot - self.clock.now_ms()) > 0:
                await self.clock.sleep(wait / 1000)
            # Woken late (a busy event loop): sending now would crowd the next slots, which
            # other senders are about to use. Take a fresh slot instead.
            if self.clock.now_ms() - slot <= interval // 2:
                break

    async def reserve(self, prefix: str, start_ms: int, interval_ms: int, batch: int) -> int:
        """A one-message slot at or after `start_ms`, slots `interval_ms` apart: the shared
        counter of each window of `batch` slots hands out its slots in turn; a full window
        sends the caller to the next."""
        window_ms = interval_ms * batch
        window = max(start_ms // window_ms, self._slot_hint.get(prefix, 0))
        collection = RateCounter.get_pymongo_collection()
        for _ in range(10_000):
            key = f"{prefix}:{window_ms}:{window}"
            expires = datetime.fromtimestamp((window + 1) * window_ms / 1000, UTC) + COUNTER_GRACE
            try:
                counter = await collection.find_one_and_update(
                    {"_id": key, "expires_at": expires},
                    {"$inc": {"attempts": 1}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:  # two first reservations raced to create it
                continue
            taken = int(counter["attempts"]) if counter is not None else batch + 1
            slot = window * window_ms + (taken - 1) * interval_ms
            if taken <= batch and slot >= start_ms - interval_ms:
                if taken == batch and batch > 1:
                    self._slot_hint[prefix] = window + 1
                return max(start_ms, slot)
            if taken < batch:
                continue  # that slot has passed unused: sending now would bunch up; the next
            if batch > 1:
                self._slot_hint[prefix] = window + 1
            window += 1
        raise RuntimeError("no send slot found")
