"""Recording Telegram updates: durable before the webhook answers, once per update_id, and
handled even when the process that acknowledged one dies before handling it."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import TelegramUpdate
from models.clock import utcnow
from server.services.common.mongo import eq

# Telegram stops redelivering an update within a day; a week leaves a wide margin.
KEEP_FOR = timedelta(days=7)
MAX_CLAIMS_PER_SWEEP = 500
# Where an update names its sender (the update kinds the bot receives or may receive).
SENDER_PATHS = tuple(
    f"payload.{kind}.from.id"
    for kind in ("message", "edited_message", "callback_query", "my_chat_member", "inline_query")
)


class UpdateJournal:
    """The durable record of received Telegram updates (collection `telegram_updates`)."""

    async def record(self, update_id: int, payload: dict[str, Any]) -> bool:
        """Store the update; return False when it was already recorded (a redelivery)."""
        now = utcnow()
        # The document is written directly, not through a beanie model: this is the webhook's
        # critical path, and the payload is already validated JSON.
        record = {
            "_id": update_id,
            "update_id": update_id,
            "payload": payload,
            "received_at": now,
            "expires_at": now + KEEP_FOR,
            "handled": False,
            "claimed_at": time.time(),  # claimed by the process that received it
        }
        try:
            await TelegramUpdate.get_pymongo_collection().insert_one(record)
        except DuplicateKeyError:
            return False
        return True

    async def mark_handled(self, update_id: int) -> None:
        await TelegramUpdate.get_pymongo_collection().update_one(
            {"_id": update_id}, {"$set": {"handled": True}}
        )

    async def renew_claims(self, update_ids: list[int]) -> None:
        """Keep this process's claims on the updates it is still handling from lapsing."""
        if update_ids:
            await TelegramUpdate.get_pymongo_collection().update_many(
                {"_id": {"$in": update_ids}}, {"$set": {"claimed_at": time.time()}}
            )

    async def claim_stale(self, older_than: float) -> list[dict[str, Any]]:
        """Claim unhandled updates whose claim was not renewed for `older_than` seconds (their
        process died), one at a time and atomically, so two processes never both take one."""
        collection = TelegramUpdate.get_pymongo_collection()
        claimed = []
        for _ in range(MAX_CLAIMS_PER_SWEEP):
            now = time.time()
            doc = await collection.find_one_and_update(
                {**eq(handled=False), "claimed_at": {"$lt": now - older_than}},
                {"$set": {"claimed_at": now}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                break
            claimed.append(doc["payload"])
        return claimed

    async def forget_sender(self, telegram_id: int) -> None:
        """Delete the recorded updates a Telegram user sent (their account is being erased;
        the records hold their messages). One query per path: no `$or` (see DESIGN.md)."""
        collection = TelegramUpdate.get_pymongo_collection()
        for path in SENDER_PATHS:
            await collection.delete_many({path: telegram_id})
