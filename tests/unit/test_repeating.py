"""Done on a repeating task, the pure rule (tasks/repeating.py): the next occurrence, and the
anchor moved near now without changing which occurrences the rule has."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.services.dates.occurrences import next_occurrence
from server.services.tasks.repeating import after_done

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2030, 3, 31, 0, 30, tzinfo=UTC)  # the night Berlin springs forward


@dataclass
class Timed:
    remind_at: datetime | None
    due: datetime | None
    repeat: str | None


RULES = ["FREQ=HOURLY", "FREQ=HOURLY;INTERVAL=7", "FREQ=DAILY;INTERVAL=3",
         "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "FREQ=WEEKLY;INTERVAL=2",
         "FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=0", "FREQ=MONTHLY",
         "FREQ=MONTHLY;INTERVAL=5;BYDAY=-1FR", "FREQ=YEARLY;INTERVAL=3",
         "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"]  # fmt: skip
ANCHORS = [datetime(2022, 1, 31, 5, 17, tzinfo=UTC), datetime(2024, 2, 29, 23, 0, tzinfo=UTC),
           datetime(2029, 10, 27, 1, 30, tzinfo=UTC)]  # fmt: skip


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("anchor", ANCHORS)
def test_the_next_occurrence_is_the_rules_own(rule: str, anchor: datetime):
    """Moving the anchor near now (so the walk is short) gives what walking from it gives."""
    moved = after_done(Timed(anchor, None, rule), BERLIN, NOW)
    walked = next_occurrence(rule, anchor, NOW, BERLIN)
    assert moved is not None
    assert walked is not None
    assert moved.remind_at == walked


def test_an_anchor_a_century_back_is_read_fast():
    # Walking every hour since 1900 took ~10 s on the event loop.
    started = time.perf_counter()
    moved = after_done(Timed(datetime(1900, 1, 1, tzinfo=UTC), None, "FREQ=HOURLY"), BERLIN, NOW)
    assert time.perf_counter() - started < 0.05
    assert moved is not None
    assert NOW < moved.remind_at <= NOW + timedelta(hours=1)  # type: ignore[operator]


def test_due_and_reminder_move_together_and_an_ended_rule_is_done():
    remind, due = datetime(2030, 3, 25, 8, tzinfo=UTC), datetime(2030, 3, 25, 9, tzinfo=UTC)
    weekly = "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0"
    moved = after_done(Timed(remind, due, weekly), BERLIN, NOW)
    assert moved is not None
    assert (moved.remind_at, moved.due) == (datetime(2030, 4, 1, 8, tzinfo=UTC),
                                            datetime(2030, 4, 1, 9, tzinfo=UTC))  # fmt: skip
    ended = weekly + ";UNTIL=20300330T000000Z"
    assert after_done(Timed(remind, due, ended), BERLIN, NOW) is None
    assert after_done(Timed(remind, due, None), BERLIN, NOW) is None
