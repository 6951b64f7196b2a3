"""Every database call on the reminder collections (`reminders`, `reminder_chats`,
`reminder_prefs`; and a user's drafts when the account goes), in one place, with the
embedded server's workarounds written once:

- times and flags are integers (epoch ms, 0/1): the embedded server stores a `$set` datetime
  as a string and a `$set` boolean as 1 (models/reminder.py);
- `user_id` is a string: the embedded server matches no equality on an ObjectId outside `_id`;
- a reminder is created with an insert and, when that finds it exists, an update, never an
  upsert: the embedded server stores an upserted ObjectId `_id` as a string, and an upsert
  whose filter misses overwrites the existing document instead of failing on its `_id`;
- equality on a field other than `_id` is written `eq()` (server/services/common/mongo.py),
  so the embedded server uses an index.

Planning, preferences, reachability and delivery call these functions; none of them touches
a collection itself. The claims' own conditions (what is due, the claim, a chat's turn) are
the store's other file, claim_store.py, apart so that mutation testing covers them with
claims.py (docs/testing.md). Every shape is registered in
tests/integration/test_query_plans.py."""

from __future__ import annotations

from typing import Any

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from models.reminder import (
    CANCELLED,
    PENDING,
    Reminder,
    ReminderChat,
    ReminderDraft,
    ReminderPrefs,
)
from server.services.common.mongo import eq

Doc = dict[str, Any]
# A reminder's `_id`: the task's id, or the user's id for the digest.
ReminderId = PydanticObjectId


def _reminders() -> Any:
    return Reminder.get_pymongo_collection()


def _chats() -> Any:
    return ReminderChat.get_pymongo_collection()


def _prefs() -> Any:
    return ReminderPrefs.get_pymongo_collection()


# ---------------------------------------------------------------- a task's reminder (planning)


async def current(reminder_id: ReminderId) -> Doc | None:
    """What a plan compares against: the state and occurrence of the reminder, if any."""
    found: Doc | None = await _reminders().find_one(
        {"_id": reminder_id}, {"state": 1, "due_ms": 1, "repeat": 1, "sent_occurrence_ms": 1}
    )
    return found


async def set_title(reminder_id: ReminderId, title: str) -> None:
    """The title alone: any claim is kept (an in-flight send is not taken over)."""
    await _reminders().update_one({"_id": reminder_id}, {"$set": {"title": title}})


async def cancel_pending(reminder_id: ReminderId) -> None:
    await _reminders().update_one(
        {"_id": reminder_id, "state": PENDING},
        {"$set": {"state": CANCELLED, "claim": None, "lease_ms": 0}, "$inc": {"version": 1}},
    )


async def put(
    reminder_id: ReminderId, fields: Doc, *, exists: bool, count_version: bool = True
) -> None:
    """Create the reminder with `fields` or, when it exists (`exists`, or another process
    created it a moment ago), set them (`count_version`: and bump its version, as a plan
    does)."""
    if not exists:
        try:
            await _reminders().insert_one(
                {"_id": reminder_id, **fields, "sent_ms": 0, "sent_occurrence_ms": 0, "late": 0,
                 "version": 1}
            )  # fmt: skip
            return
        except DuplicateKeyError:  # planned at the same moment by another process
            pass
    update: Doc = {"$set": fields}
    if count_version:
        update["$inc"] = {"version": 1}
    await _reminders().update_one({"_id": reminder_id}, update)


async def delete(reminder_id: ReminderId) -> None:
    await _reminders().delete_one({"_id": reminder_id})


async def delete_digest(user_id: PydanticObjectId) -> None:
    await _reminders().delete_one({"_id": user_id, "kind": "digest"})


def of_user(user_id: str, batch: int) -> Any:
    """A cursor over the user's reminders as stored, less the claim (the data export)."""
    return _reminders().find(eq(user_id=user_id), {"claim": 0, "lease_ms": 0}).batch_size(batch)


async def forget_user(user_id: PydanticObjectId) -> None:
    """Everything reminders keep of the user: reminders, chat, drafts, preferences."""
    uid = str(user_id)
    await _reminders().delete_many(eq(user_id=uid))
    await _chats().delete_many(eq(user_id=uid))
    await ReminderDraft.get_pymongo_collection().delete_many(eq(user_id=uid))
    await _prefs().delete_one({"_id": uid})


# ---------------------------------------------------------------- preferences


async def prefs(user_id: PydanticObjectId) -> ReminderPrefs | None:
    return await ReminderPrefs.get(str(user_id))


async def set_prefs(user_id: PydanticObjectId, values: Doc) -> None:
    # An upsert by a string `_id`: safe on the embedded server (only an ObjectId `_id` is
    # turned into a string, and this one is one already).
    await _prefs().update_one({"_id": str(user_id)}, {"$set": values}, upsert=True)


async def quiet_window(user_id: str) -> tuple[int, int] | None:
    """The user's quiet hours (minutes of the day: start, end), or None when off."""
    found = await _prefs().find_one({"_id": user_id})
    if found is None or found.get("quiet_start", -1) < 0:
        return None
    return int(found["quiet_start"]), int(found["quiet_end"])


# ---------------------------------------------------------------- reachability


async def user_blocked(user_id: PydanticObjectId) -> bool:
    """Has the user's chat refused our messages? (asked by every plan of a reminder)"""
    found = await _chats().find_one(
        {**eq(user_id=str(user_id)), "blocked_ms": {"$gt": 0}}, {"_id": 1}
    )
    return found is not None


async def chat_blocked(chat_id: int) -> bool:
    """Is this chat blocked now? (the shared lists' change notices ask before sending)"""
    found = await _chats().find_one(eq(_id=chat_id), {"blocked_ms": 1})
    return found is not None and found.get("blocked_ms", 0) > 0


async def block(chat_id: int, user_id: PydanticObjectId, now: int) -> None:
    """The chat refused a message: remember it, and pause the user's reminders."""
    await _chats().update_one(
        {"_id": chat_id}, {"$set": {"user_id": str(user_id), "blocked_ms": now}}, upsert=True
    )
    await _reminders().update_many(eq(user_id=str(user_id)), {"$set": {"paused": 1}})


async def unblock(chat_id: int) -> bool:
    """The chat is reachable again: if it was blocked, lift that and resume its user's
    reminders (True); else change nothing (False)."""
    chat = await _chats().find_one_and_update(
        {"_id": chat_id, "blocked_ms": {"$gt": 0}}, {"$set": {"blocked_ms": 0}}
    )
    if chat is None:
        return False
    await _reminders().update_many(eq(user_id=chat["user_id"]), {"$set": {"paused": 0}})
    return True
