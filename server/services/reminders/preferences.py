"""A user's reminder preferences, both optional and off by default (`reminder_prefs`):

- quiet hours: a reminder (or a shared list's change notice) due inside them waits until
  they end, and is not marked late for it (`quiet_until`, asked by delivery and notices);
- the morning digest: every day at the chosen minute on the user's clock, the open tasks of
  Today. It is a reminder document like the others (`_id` = the user's id, `kind: "digest"`,
  a daily RRULE), so it is claimed, budgeted and re-armed by delivery the same way; what it
  says is `digest_lines` (Today as /today shows it); the bot adds the translated heading.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId

from models import User
from models.reminder import PENDING, ReminderPrefs
from server.services.dates.humanize import Humanizer, Lang
from server.services.dates.occurrences import next_occurrence
from server.services.reminders import store
from server.services.reminders.clock import Clock, SystemClock, from_ms, to_ms


class TodayTask(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def list_id(self) -> str: ...
    @property
    def remind_at(self) -> datetime | None: ...
    @property
    def due(self) -> datetime | None: ...


class Today(Protocol):
    """The tasks service's Today (its rule: server/services/tasks/service.py)."""

    clock: Callable[[], datetime]

    async def today(self, user_id: PydanticObjectId) -> Sequence[TodayTask]: ...


class SharedNames(Protocol):
    async def shared_names(self, user_id: PydanticObjectId) -> dict[str, str]: ...


class UserById(Protocol):
    async def get(self, user_id: PydanticObjectId) -> User: ...


class ReminderPreferences:
    def __init__(
        self,
        clock: Clock | None = None,
        *,
        today: Today | None = None,
        shared: SharedNames | None = None,
        users: UserById | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        # What the digest lists (None: an empty digest, which is not sent).
        self._today, self._shared, self._users = today, shared, users

    async def prefs(self, user_id: PydanticObjectId) -> ReminderPrefs:
        found = await store.prefs(user_id)
        return found if found is not None else ReminderPrefs(id=str(user_id))

    # ------------------------------------------------------------------ quiet hours

    async def set_quiet_hours(
        self, user_id: PydanticObjectId, start: int | None, end: int | None
    ) -> None:
        """Quiet from `start` to `end` (minutes of the day on the user's clock; may wrap past
        midnight), or off with None."""
        if start is not None and end is not None and not (0 <= start < 1440 and 0 <= end < 1440):
            raise ValueError("minutes of the day expected")
        off = start is None or end is None or start == end
        await store.set_prefs(
            user_id, {"quiet_start": -1 if off else start, "quiet_end": -1 if off else end}
        )

    async def quiet_until(self, user_id: str, now_ms: int, zone: ZoneInfo) -> int | None:
        """When the user's quiet hours end, if `now_ms` falls inside them."""
        window = await store.quiet_window(user_id)
        if window is None:
            return None
        return quiet_end_ms(*window, now_ms, zone)

    # ------------------------------------------------------------------ the digest

    async def set_digest(
        self, user_id: PydanticObjectId, minute: int | None, zone: ZoneInfo
    ) -> datetime | None:
        """A daily digest of Today at `minute` on the user's clock (None: off). Returns the
        first one. It is a reminder like the others (claimed, budgeted, re-armed daily), with
        the user's id as its `_id`."""
        await store.set_prefs(user_id, {"digest_at": -1 if minute is None else minute})
        if minute is None:
            await store.delete_digest(user_id)
            return None
        rule = f"FREQ=DAILY;BYHOUR={minute // 60};BYMINUTE={minute % 60}"
        now = from_ms(self.clock.now_ms())
        first = next_occurrence(rule, now, now, zone)
        assert first is not None
        fields = {"user_id": str(user_id), "title": "", "repeat": rule, "kind": "digest",
                  "due_ms": to_ms(first), "occurrence_ms": to_ms(first), "state": PENDING,
                  "claim": None, "lease_ms": 0, "attempts": 0, "paused": 0}  # fmt: skip
        await store.put(user_id, fields, exists=False, count_version=False)
        return first

    async def digest_lines(self, user_id: PydanticObjectId, lang: Lang) -> list[str]:
        """Today as /today shows it: "call the bank — 10 AM", timed tasks first; a shared
        list's task with the list's name: "milk — 6 PM · 👥 Groceries"."""
        if self._today is None or self._users is None:
            return []
        user = await self._users.get(user_id)
        texts = Humanizer.for_user(lang, user.timezone, self._today.clock())
        tasks = await self._today.today(user_id)
        shared = await self._shared.shared_names(user_id) if tasks and self._shared else {}
        lines = []
        for task in tasks:
            when = texts.task_when(task.remind_at, task.due)
            where = "👥 " + shared[task.list_id] if task.list_id in shared else None
            about = " · ".join(part for part in (when, where) if part)
            lines.append(task.title + (f" — {about}" if about else ""))
        return lines


def quiet_end_ms(start: int, end: int, now_ms: int, zone: ZoneInfo) -> int | None:
    """If `now_ms` is inside the daily quiet window [start, end) (minutes of the day on the
    zone's clock; a window may wrap past midnight), when it ends; else None."""
    local = from_ms(now_ms).astimezone(zone)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    ends = datetime(day.year, day.month, day.day, end // 60, end % 60, tzinfo=zone)
    return to_ms(ends.astimezone(UTC))
