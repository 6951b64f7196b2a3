"""One capture path (issue 20 item 4): text → `Capture` (title, the readings, the repeat) →
the chosen `Reading` → the `TaskDraft` saving stores. The bot's confirmation card and `/new`,
`POST /api/tasks/parse` and the Mini App (through that endpoint) all read text here, once
per message, and save what this gives. docs/capture.md has the decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from server.services.dates.parse import Parsed, parse
from server.services.tasks.service import TaskDraft


@dataclass(frozen=True, slots=True)
class Reading:
    """What saving a task at this time stores."""

    remind_at: datetime
    due: datetime | None
    repeat: str | None


def reading(when: datetime, repeat: str | None) -> Reading:
    """The one rule for the fields of a time: a one-off gets a reminder and a due time at that
    moment; a repeating one a reminder only. Its reminder moves on at every occurrence (the
    reminder engine), a due time would stay at the first and read as overdue ever after."""
    return Reading(remind_at=when, due=None if repeat else when, repeat=repeat)


@dataclass(frozen=True, slots=True)
class Capture:
    text: str
    parsed: Parsed
    title: str  # the text without the time phrase and the lead-in; the text when none is left
    reading: Reading | None  # the reading, when the text is clear
    options: tuple[Reading, ...]  # else every plausible one, for the person to choose
    reason: str | None  # why it asks (the parser's clarify reason)

    @property
    def has_time(self) -> bool:
        return self.parsed.has_time

    def choose(self, index: int) -> Reading | None:
        return self.options[index] if 0 <= index < len(self.options) else None

    def draft(self, chosen: Reading | None = None) -> TaskDraft:
        """The task saving stores: with `chosen` (one of `options`), else the clear reading."""
        at = chosen or self.reading
        if at is None:
            return TaskDraft(title=self.title)
        return TaskDraft(title=self.title, remind_at=at.remind_at, due=at.due, repeat=at.repeat)


def of(text: str, parsed: Parsed) -> Capture:
    clarify = parsed.clarify
    options: tuple[Reading, ...] = ()
    if clarify is not None:
        # A repeat's reading comes with its own rule (the rule carries the time of day);
        # without per-reading rules, the text's rule (if any) goes with every reading.
        repeats = list(clarify.repeats)
        options = tuple(
            reading(option, (repeats[i] or None) if i < len(repeats) else parsed.repeat)
            for i, option in enumerate(clarify.options)
        )
    return Capture(
        text=text,
        parsed=parsed,
        title=parsed.title or text.strip(),
        reading=reading(parsed.when, parsed.repeat) if parsed.when is not None else None,
        options=options,
        reason=clarify.reason if clarify is not None else None,
    )


def capture(text: str, now: datetime, zone: ZoneInfo) -> Capture:
    """Read the text (the parser's one run for it)."""
    return of(text, parse(text, now, zone))
