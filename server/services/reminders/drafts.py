"""Reminder drafts: "remind me tomorrow at 9 to buy milk" understood, waiting for the user
to confirm it on a card (Save / Change time / Cancel). The rules of what a text means live
in `dates.parse`; this keeps what was understood between the card's button presses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId
from bson.errors import InvalidId

from models.reminder import ReminderDraft
from server.services.dates.parse import Parsed
from server.services.reminders.clock import from_ms, to_ms
from server.services.tasks.capture import Capture, capture

DRAFT_TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Draft:
    """A card's state; Save stores `tasks.capture.reading(remind_at, repeat)`."""

    id: PydanticObjectId
    title: str
    remind_at: datetime | None  # aware UTC
    repeat: str | None
    options: tuple[datetime, ...]  # when remind_at is None: the readings to choose from

    @classmethod
    def of(cls, doc: ReminderDraft) -> Draft:
        assert doc.id is not None
        return cls(
            doc.id, doc.title, from_ms(doc.remind_at_ms) if doc.remind_at_ms else None,
            doc.repeat, tuple(from_ms(ms) for ms in doc.options_ms),
        )  # fmt: skip


class ReminderDrafts:
    def __init__(self, clock: type[datetime] = datetime) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now(UTC)

    def capture(self, text: str, zone: ZoneInfo) -> Capture:
        """The text read once (tasks/capture.py, the one capture path)."""
        return capture(text, self.now(), zone)

    def read(self, text: str, zone: ZoneInfo) -> Parsed:
        return self.capture(text, zone).parsed

    async def create(self, user_id: PydanticObjectId, parsed: Parsed, fallback_title: str) -> Draft:
        now = self.now()
        doc = ReminderDraft(
            user_id=str(user_id),
            title=parsed.title or fallback_title,
            remind_at_ms=to_ms(parsed.when) if parsed.when else None,
            repeat=parsed.repeat,
            **_options(parsed),
            updated_ms=to_ms(now),
            expires_at=now + DRAFT_TTL,
        )
        await doc.insert()
        return Draft.of(doc)

    async def get(self, user_id: PydanticObjectId, draft_id: str) -> Draft | None:
        doc = await self._doc(user_id, draft_id)
        return Draft.of(doc) if doc else None

    async def choose(self, user_id: PydanticObjectId, draft_id: str, option: int) -> Draft | None:
        """The user picked one reading of an ambiguous time."""
        doc = await self._doc(user_id, draft_id)
        if doc is None or not 0 <= option < len(doc.options_ms):
            return None
        # A repeat's reading comes with its own rule (the rule carries the time of day).
        repeat = (doc.options_repeat[option] or None) if doc.options_repeat else doc.repeat
        await self._set(
            doc, remind_at_ms=doc.options_ms[option], repeat=repeat, options_ms=[],
            options_repeat=[],
        )  # fmt: skip
        return Draft.of(doc)

    async def retime(
        self, user_id: PydanticObjectId, draft_id: str, parsed: Parsed
    ) -> Draft | None:
        """A new time (and repeat) for the draft, from the user's answer to "Change time" (the
        bot keeps that question in `Questions`)."""
        doc = await self._doc(user_id, draft_id)
        if doc is None:
            return None
        await self._set(
            doc, remind_at_ms=to_ms(parsed.when) if parsed.when else None,
            repeat=parsed.repeat, **_options(parsed),
        )  # fmt: skip
        return Draft.of(doc)

    async def discard(self, user_id: PydanticObjectId, draft_id: str) -> bool:
        try:
            oid = PydanticObjectId(draft_id)
        except (InvalidId, TypeError):
            return False
        result = await ReminderDraft.get_pymongo_collection().delete_one(
            {"_id": oid, "user_id": str(user_id)}
        )
        return result.deleted_count == 1

    async def _doc(self, user_id: PydanticObjectId, draft_id: str) -> ReminderDraft | None:
        try:
            oid = PydanticObjectId(draft_id)
        except (InvalidId, TypeError):
            return None
        doc = await ReminderDraft.get(oid)
        return doc if doc is not None and doc.user_id == str(user_id) else None

    async def _set(self, doc: ReminderDraft, **values: object) -> None:
        # Integers, strings and lists only: safe under `$set` on the embedded server too.
        values["updated_ms"] = to_ms(self.now())
        await ReminderDraft.get_pymongo_collection().update_one({"_id": doc.id}, {"$set": values})
        for name, value in values.items():
            setattr(doc, name, value)


def _options(parsed: Parsed) -> dict[str, list[int] | list[str]]:
    """The readings to choose from, and with a repeat the rule each one stands for."""
    clarify = parsed.clarify
    if clarify is None:
        return {"options_ms": [], "options_repeat": []}
    return {
        "options_ms": [to_ms(o) for o in clarify.options],
        "options_repeat": [r or "" for r in clarify.repeats],
    }
