"""The reminder store's queries that make a send happen once (claims.py decides with them):
what is due, the atomic claim, writes as the claim holder, the earliest due, a chat's turn.
Part of the reminder store (store.py, whose notes on the embedded server hold here too), in
a file of its own so that `make mutate` covers these conditions with claims.py."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.reminder import PENDING, Reminder, ReminderChat
from server.services.common.mongo import eq

Doc = dict[str, Any]


def due_query(now: int) -> Doc:
    """Pending, not paused, due and not leased: what may be claimed now. Served by the
    `due` index (state, paused, due_ms) on MongoDB and on the embedded server alike."""
    return {**eq(state=PENDING, paused=0), "due_ms": {"$lte": now}, "lease_ms": {"$lt": now}}


def _reminders() -> Any:
    return Reminder.get_pymongo_collection()


def _chats() -> Any:
    return ReminderChat.get_pymongo_collection()


async def due_ids(now: int, limit: int) -> list[Any]:
    """The ids of up to `limit` due reminders, earliest first."""
    cursor = _reminders().find(due_query(now), {"_id": 1}).sort("due_ms", 1).limit(limit)
    return [doc["_id"] async for doc in cursor]


async def claim(reminder_id: Any, now: int, update: Doc) -> Doc | None:
    """Apply `update` to the reminder if it is still due and unleased (atomic: of two
    processes one gets the document, as it is after the update)."""
    found: Doc | None = await _reminders().find_one_and_update(
        {"_id": reminder_id, **due_query(now)}, update, return_document=ReturnDocument.AFTER
    )
    return found


async def next_due_ms(now: int) -> int | None:
    """When the earliest pending reminder due after `now` is due (one look-up at the start
    of the `due` index)."""
    cursor = (
        _reminders()
        .find({**eq(state=PENDING, paused=0), "due_ms": {"$gt": now}}, {"due_ms": 1})
        .sort("due_ms", 1)
        .limit(1)
    )
    found = [doc async for doc in cursor]
    return int(found[0]["due_ms"]) if found else None


async def update_claimed(reminder_id: Any, token: str, update: Doc) -> None:
    """Change the reminder if the claim `token` still holds it."""
    await _reminders().update_one({"_id": reminder_id, "claim": token}, update)


async def take_chat_turn(chat_id: int, now: int, following: int) -> bool:
    """The chat's turn: True (and the chat busy until `following`) when its turn has come.
    Atomic, so two processes cannot both take it. Not an upsert (see the module's note):
    a chat we never wrote to is inserted, and a busy one refuses the insert on its `_id`."""
    taken = await _chats().update_one(
        {"_id": chat_id, "next_ms": {"$lte": now}}, {"$set": {"next_ms": following}}
    )
    if taken.matched_count:
        return True
    try:
        await _chats().insert_one({"_id": chat_id, "next_ms": following, "blocked_ms": 0})
    except DuplicateKeyError:
        return False
    return True
