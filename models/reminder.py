"""Reminders waiting to be sent to Telegram, and the send gate every process shares.

Every time in here is an integer of epoch milliseconds, not a datetime: these fields are
compared after `$set` updates, and the embedded server stores a `$set` datetime as a string
(DESIGN.md, "The embedded database is not MongoDB"). Flags are integers for the same reason
(`$set` of a boolean is stored as 1 there)."""

from __future__ import annotations

from datetime import datetime

from beanie import Document, PydanticObjectId
from pymongo import ASCENDING, IndexModel

PENDING, SENT, CANCELLED = 0, 1, 2


class Reminder(Document):
    """The one pending (or last sent) reminder of a task; `_id` is the task's id, so a plan
    is one write by `_id` and a task can never have two reminders."""

    id: PydanticObjectId  # the task's id
    # A string: the embedded server matches no equality on an ObjectId outside `_id`.
    user_id: str
    title: str
    repeat: str | None = None  # RRULE on the user's wall clock
    due_ms: int  # send at (the occurrence, or where a snooze moved it)
    occurrence_ms: int  # the occurrence this send belongs to (== due_ms unless snoozed)
    state: int = PENDING
    # A claim: the process holding it sends until `lease_ms`; then anyone may take it over.
    lease_ms: int = 0
    claim: str | None = None
    paused: int = 0  # 1 while the user's chat is unreachable (blocked the bot)
    attempts: int = 0
    sent_ms: int = 0  # when the last occurrence was sent
    sent_occurrence_ms: int = 0  # which occurrence that was (a re-plan of it must not resend)
    late: int = 0  # 1 when the last one was sent late (after an outage)
    kind: str = "task"  # or "digest": the user's morning digest (`_id` is then the user's id)
    version: int = 0  # bumped by every plan

    class Settings:
        name = "reminders"
        indexes = [
            # The claim query: pending, not paused, due, sorted by due.
            IndexModel(
                [("state", ASCENDING), ("paused", ASCENDING), ("due_ms", ASCENDING)], name="due"
            ),
            IndexModel([("user_id", ASCENDING)], name="user"),
        ]


class ReminderChat(Document):
    """A Telegram chat we send reminders to: when it may get the next one, and whether it
    refused our messages (403, or a `my_chat_member` "kicked"), which pauses its reminders
    until the user writes again."""

    id: int  # type: ignore[assignment]  # the chat (= Telegram user) id
    user_id: str | None = None
    blocked_ms: int = 0  # 0: reachable
    next_ms: int = 0  # the next message may go out then (about 1 per second per chat)

    class Settings:
        name = "reminder_chats"
        indexes = [
            # Is this user's chat blocked? (asked by every plan of a reminder)
            IndexModel([("user_id", ASCENDING), ("blocked_ms", ASCENDING)], name="user"),
        ]


class SendGate(Document):
    """Shared by every process: when Telegram said "429, retry after N s", nobody sends
    before `paused_until_ms`."""

    id: str  # type: ignore[assignment]  # "telegram"
    paused_until_ms: int = 0

    class Settings:
        name = "send_gate"


class ReminderDraft(Document):
    """What the bot understood from "remind me …", shown on a confirmation card until the
    user saves, changes or cancels it (or it expires). Kept in MongoDB, not in a process's
    memory: the card's buttons may reach any process."""

    user_id: str  # a string, like Reminder.user_id
    title: str
    remind_at_ms: int | None = None
    repeat: str | None = None
    options_ms: list[int] = []  # readings to choose from when the time was ambiguous
    options_repeat: list[str] = []  # with a repeat: each reading's RRULE, in that order
    updated_ms: int = 0
    expires_at: datetime  # written at insert only (TTL)

    class Settings:
        name = "reminder_drafts"
        indexes = [
            IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]


class ReminderPrefs(Document):
    """A user's optional reminder settings, both off by default: quiet hours (reminders due
    then wait until they end) and a morning digest of Today. Minutes of the day on the user's
    wall clock; -1 is off."""

    id: str  # type: ignore[assignment]  # the user's id as a string
    quiet_start: int = -1
    quiet_end: int = -1
    digest_at: int = -1

    class Settings:
        name = "reminder_prefs"
