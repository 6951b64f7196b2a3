""" "Download my data": everything the service holds about a user, as one JSON document in
the schema of docs/export.schema.json, produced as a stream of chunks (tasks and reminders
read BATCH at a time), so a large account is never held in memory whole."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from beanie import PydanticObjectId

from models import Task, User
from models.clock import from_ms, utcnow
from server.services.accounts.sessions import Sessions
from server.services.accounts.users import Users
from server.services.common.mongo import eq
from server.services.portability.feed import CalendarFeeds
from server.services.reminders import store as reminder_store
from server.services.reminders.preferences import ReminderPreferences
from server.services.sharing.service import Sharing
from server.services.tasks.lists import Lists

SCHEMA_VERSION = 1
BATCH = 500
TASK_FIELDS = {"title": 1, "notes": 1, "list_id": 1, "done": 1, "done_at": 1, "due": 1,
               "remind_at": 1, "repeat": 1, "created_at": 1, "updated_at": 1}  # fmt: skip
STATES = {0: "pending", 1: "sent", 2: "cancelled"}


def _time(value: Any) -> str | None:
    """RFC 3339 in UTC, or None (a datetime, or what `$set` left as a string)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def _ms(value: Any) -> str | None:
    return _time(from_ms(int(value))) if value else None


def _minute(value: int) -> str | None:
    return None if value < 0 else f"{value // 60:02d}:{value % 60:02d}"


def task_row(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(doc["_id"]),
        "list_id": str(doc.get("list_id")),
        "title": doc.get("title", ""),
        "notes": doc.get("notes") or "",
        "done": bool(doc.get("done")),
        "done_at": _time(doc.get("done_at")),
        "due": _time(doc.get("due")),
        "remind_at": _time(doc.get("remind_at")),
        "repeat": doc.get("repeat"),
        "created_at": _time(doc.get("created_at")),
        "updated_at": _time(doc.get("updated_at")),
    }


def reminder_row(doc: dict[str, Any]) -> dict[str, Any]:
    kind = doc.get("kind", "task")
    return {
        "task_id": str(doc["_id"]) if kind == "task" else None,
        "kind": kind,
        "state": STATES.get(int(doc.get("state", 0)), "pending"),
        "due_at": _ms(doc.get("due_ms")),
        "occurrence_at": _ms(doc.get("occurrence_ms")),
        "repeat": doc.get("repeat"),
        "last_sent_at": _ms(doc.get("sent_ms")),
    }


def account_row(user: User) -> dict[str, Any]:
    """The account's fields, never a secret: no password hash, no token, only whether a
    password is set."""
    return {
        "id": str(user.id),
        "username": user.username,
        "has_password": user.has_password,
        "telegram_id": user.telegram_id,
        "telegram_username": user.telegram_username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language_code": user.language_code,
        "role": user.role,
        "active": user.active,
        "created_at": _time(user.created_at),
        "updated_at": _time(user.updated_at),
    }


def _dump(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


class Exporter:
    def __init__(
        self,
        users: Users,
        lists: Lists,
        reminders: ReminderPreferences,
        sessions: Sessions,
        feeds: CalendarFeeds,
        clock: Callable[[], datetime] = utcnow,
        sharing: Sharing | None = None,
    ) -> None:
        self._users = users
        self._lists = lists
        self._reminders = reminders
        self._sessions = sessions
        self._feeds = feeds
        self._clock = clock
        self._sharing = sharing

    async def head(self, user_id: PydanticObjectId) -> dict[str, Any]:
        """Everything but the tasks and reminders (small, bounded by the lists' and sessions'
        own limits). Read first, so an unknown user fails before a byte is sent."""
        user = await self._users.get(user_id)
        uid = await self._lists.ensure_builtins(user_id)
        prefs = await self._reminders.prefs(user_id)
        # The user's own lists: those shared with them hold their owners' tasks, not theirs
        # (they are named in `joined_lists`, below).
        lists = [t for t in await self._lists.all(uid) if t.user_id == uid]
        sessions = await self._sessions.list(user_id, None)
        feed_ms = await self._feeds.status(user_id)
        head: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "exported_at": _time(self._clock()),
            "account": account_row(user),
            "preferences": {
                "timezone": user.timezone,
                "language": user.language,
                "quiet_hours": (
                    None
                    if prefs.quiet_start < 0
                    else {"start": _minute(prefs.quiet_start), "end": _minute(prefs.quiet_end)}
                ),
                "digest_at": _minute(prefs.digest_at),
            },
            "calendar_feed": {"enabled": feed_ms is not None, "created_at": _ms(feed_ms)},
            "sessions": [
                {
                    "id": s.id,
                    "created_at": _time(s.created_at),
                    "last_used_at": _time(s.last_used_at),
                    "user_agent": s.user_agent,
                }
                for s in sessions
            ],
            "lists": [
                {"id": str(t.id), "key": t.key, "name": t.name, "created_at": _time(t.created_at)}
                for t in lists
            ],
        }
        if self._sharing is not None:
            # Optional top-level members (schema_version stays 1: docs/data.md, "Export").
            own = {str(t.id) for t in lists}
            head["list_members"] = [
                {
                    "list_id": m.list_id,
                    "user_id": m.user_id,
                    "name": m.name,
                    "role": m.role,
                    "joined_at": _time(m.joined_at),
                }
                for m in await self._sharing.owned_members(uid)
                if m.list_id in own
            ]
            head["joined_lists"] = [
                {
                    "list_id": m.list_id,
                    "name": m.name,
                    "role": m.role,
                    "joined_at": _time(m.joined_at),
                }
                for m in await self._sharing.joined(uid)
            ]
        return head

    async def chunks(self, user_id: PydanticObjectId) -> AsyncIterator[bytes]:
        """The document, a piece at a time: the head, then tasks and reminders BATCH rows
        per chunk. Memory stays at one batch whatever the account's size."""
        head = await self.head(user_id)
        uid = str(user_id)
        yield _dump(head)[:-1]  # the head object, still open: the arrays follow
        yield b',"tasks":['
        cursor = (
            Task.get_pymongo_collection()
            .find(eq(user_id=uid), TASK_FIELDS)
            .sort("order_key", 1)  # oldest first: an import recreates them in that order
            .batch_size(BATCH)
        )
        async for piece in _arrays(cursor, task_row):
            yield piece
        yield b'],"reminders":['
        async for piece in _arrays(reminder_store.of_user(uid, BATCH), reminder_row):
            yield piece
        yield b"]}"


async def _arrays(
    cursor: Any, row: Callable[[dict[str, Any]], dict[str, Any]]
) -> AsyncIterator[bytes]:
    batch: list[dict[str, Any]] = []
    first = True
    async for doc in cursor:
        batch.append(row(doc))
        if len(batch) == BATCH:
            yield (b"" if first else b",") + _dump(batch)[1:-1]
            first, batch = False, []
    if batch:
        yield (b"" if first else b",") + _dump(batch)[1:-1]
