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
from typing import Protocol
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from server.services.dates.occurrences import RuleError, next_occurrence


@dataclass(frozen=True, slots=True)
class NextOccurrence:
    remind_at: datetime | None
    due: datetime | None


class _Timed(Protocol):
    remind_at: datetime | None
    due: datetime | None
    repeat: str | None


def after_done(
    task: _Timed, zone: ZoneInfo, now: datetime, occurrence: datetime | None = None
) -> NextOccurrence | None:
    """Where a repeating task moves when this occurrence is done; None when it does not
    repeat (any more): then Done is done."""
    if not task.repeat:
        return None
    current = task.remind_at if task.remind_at is not None else task.due
    anchor = current or now
    seen = occurrence or anchor
    after = max(seen, now)
    try:
        following = next_occurrence(task.repeat, _near(task.repeat, anchor, after, zone), after,
                                    zone)  # fmt: skip
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


def _near(rule: str, anchor: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The anchor moved forward by whole periods of the rule to just before `after`, on the
    wall clock, so the occurrences' phase (time of day, weekday, interval) is kept. dateutil
    walks every occurrence from the anchor on: an hourly rule anchored years back took ~10 s
    (measured: 1900 to 2030), on the event loop. Months move by whole years and years by
    four, so a day-of-month or 29 February anchor is not clamped; the walk left is at most
    a few periods of the rule."""
    parts = dict(p.partition("=")[::2] for p in rule.upper().split(";"))
    try:
        n = max(1, int(parts.get("INTERVAL", "1")))
    except ValueError:
        return anchor
    start = anchor.astimezone(zone)
    end = after.astimezone(zone)
    if end <= start:
        return anchor
    freq = parts.get("FREQ")
    wall = end.replace(tzinfo=None) - start.replace(tzinfo=None)
    months = (end.year - start.year) * 12 + end.month - start.month
    step: relativedelta
    if freq == "HOURLY":
        k, step = int(wall.total_seconds() // 3600) // n - 1, relativedelta(hours=n)
    elif freq == "DAILY":
        k, step = wall.days // n - 1, relativedelta(days=n)
    elif freq == "WEEKLY":
        k, step = wall.days // (7 * n) - 1, relativedelta(weeks=n)
    elif freq == "MONTHLY":
        k, step = months // (12 * n) - 1, relativedelta(months=12 * n)
    elif freq == "YEARLY":
        k, step = months // (48 * n) - 1, relativedelta(years=4 * n)
    else:
        return anchor
    if k <= 0:
        return anchor
    moved: datetime = start + step * k
    return moved
