"""Done on a repeating task (issue 20 item 5): completing it completes this occurrence and
moves the task on to the next one; it stays open. docs/capture.md has the decisions.

- The occurrence completed is the one the user saw: the reminder message's (the bot's Done
  button carries it) or else the task's current time (`remind_at`, else `due`).
- The next time is the rule's first occurrence after both that occurrence and now: occurrences
  missed while nobody looked are not replayed (the reminder engine's rule too). Done on a
  reminder message whose repeat the engine already re-armed (the task shows the next
  occurrence) therefore changes no time: that next occurrence stays.
- `remind_at` and `due` move by the same step, so a reminder an hour before its due time stays
  an hour before. A repeating task with neither time gets a `due` (no reminder it never had).
- When the rule has ended (COUNT, UNTIL) or is not usable, Done completes the task for real.

Pure: the tasks service reads the user's zone and applies the result in its guarded write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from models import Task
from server.services.dates.occurrences import RuleError, next_occurrence


@dataclass(frozen=True, slots=True)
class NextOccurrence:
    remind_at: datetime | None
    due: datetime | None


def after_done(
    task: Task, zone: ZoneInfo, now: datetime, occurrence: datetime | None = None
) -> NextOccurrence | None:
    """Where a repeating task moves when this occurrence is done; None when it does not
    repeat (any more): then Done is done."""
    if not task.repeat:
        return None
    current = task.remind_at if task.remind_at is not None else task.due
    anchor = current or now
    seen = occurrence or anchor
    try:
        # next_occurrence scans at most MAX_SCAN candidates: bounded work per call.
        following = next_occurrence(task.repeat, anchor, max(seen, now), zone)
    except (RuleError, ValueError):
        return None
    if following is None:
        return None
    if current is None:
        return NextOccurrence(remind_at=None, due=following)
    step = following - current
    return NextOccurrence(
        remind_at=task.remind_at + step if task.remind_at is not None else None,
        due=task.due + step if task.due is not None else None,
    )
