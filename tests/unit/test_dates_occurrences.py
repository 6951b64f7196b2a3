# ruff: noqa: E501 - one phrase per line in the table
"""Next occurrences of RRULEs in a user's zone: always after `now`, on the same wall-clock
time across DST changes, none skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.services.dates.occurrences import RuleError, check_rule, next_occurrence

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = st.sampled_from(
    ["Europe/Berlin", "Europe/Moscow", "America/New_York", "Australia/Lord_Howe",
     "America/Santiago", "Asia/Kolkata", "Pacific/Chatham", "UTC"]
).map(ZoneInfo)  # fmt: skip
INSTANTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2031, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)


def test_daily_at_nine_keeps_nine_across_both_berlin_changes():
    anchor = datetime(2026, 3, 27, 9, tzinfo=BERLIN)
    seen, after = [], anchor
    for _ in range(3):
        after = next_occurrence("FREQ=DAILY;BYHOUR=9;BYMINUTE=0", anchor, after, BERLIN)
        assert after is not None
        seen.append(after)
    assert [s.astimezone(BERLIN).isoformat() for s in seen] == [
        "2026-03-28T09:00:00+01:00", "2026-03-29T09:00:00+02:00", "2026-03-30T09:00:00+02:00",
    ]  # fmt: skip
    assert seen[1] - seen[0] == timedelta(hours=23)  # the short day
    autumn = next_occurrence(
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", anchor, datetime(2026, 10, 24, 12, tzinfo=BERLIN), BERLIN
    )
    assert autumn is not None
    assert autumn.astimezone(BERLIN).isoformat() == "2026-10-25T09:00:00+01:00"


def test_a_time_in_the_gap_moves_past_it_and_the_repeated_hour_is_taken_once():
    rule = "FREQ=DAILY;BYHOUR=2;BYMINUTE=30"
    anchor = datetime(2026, 3, 1, tzinfo=BERLIN)
    spring = next_occurrence(rule, anchor, datetime(2026, 3, 28, 12, tzinfo=BERLIN), BERLIN)
    assert spring is not None
    assert spring.astimezone(BERLIN).isoformat() == "2026-03-29T03:30:00+02:00"
    autumn = next_occurrence(rule, anchor, datetime(2026, 10, 24, 12, tzinfo=BERLIN), BERLIN)
    assert autumn is not None
    assert autumn.isoformat() == "2026-10-25T00:30:00+00:00"  # 02:30 CEST, the first one
    following = next_occurrence(rule, anchor, autumn, BERLIN)
    assert following is not None
    assert following.astimezone(BERLIN).isoformat() == "2026-10-26T02:30:00+01:00"


def test_weekly_and_monthly_rules():
    anchor = datetime(2026, 1, 1, tzinfo=BERLIN)
    after = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    monday = next_occurrence("FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0", anchor, after, BERLIN)
    first = next_occurrence("FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0", anchor, after, BERLIN)
    assert monday is not None
    assert first is not None
    assert monday.astimezone(BERLIN).isoformat() == "2026-03-30T10:00:00+02:00"
    assert first.astimezone(BERLIN).isoformat() == "2026-04-01T09:00:00+02:00"


def test_an_ended_rule_has_no_next_occurrence():
    anchor = datetime(2026, 1, 1, 9, tzinfo=BERLIN)
    assert next_occurrence("FREQ=DAILY;COUNT=3", anchor, anchor + timedelta(days=5), BERLIN) is None
    until = "FREQ=DAILY;UNTIL=20260103T000000Z"
    assert next_occurrence(until, anchor, anchor + timedelta(days=5), BERLIN) is None
    assert next_occurrence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", anchor, anchor, BERLIN) is None


@pytest.mark.parametrize(
    "rule", ["", "FREQ=MINUTELY", "FREQ=SECONDLY", "FREQ=DAILY;BYHOUR=25", "DTSTART:2020",
             "FREQ=DAILY\nRRULE:FREQ=DAILY", "BYDAY=MO", "FREQ=WEEKLY;BYDAY=XX"]
)  # fmt: skip
def test_rules_we_refuse(rule: str):
    with pytest.raises(RuleError):
        check_rule(rule)


def test_check_rule_canonicalises():
    assert check_rule("rrule:freq=weekly;byday=mo") == "FREQ=WEEKLY;BYDAY=MO"


@settings(max_examples=400, deadline=None)
@given(
    zone=ZONES, anchor=INSTANTS, after=INSTANTS, hour=st.integers(0, 23), minute=st.integers(0, 59)
)
def test_daily_next_is_after_now_at_the_wall_time_and_skips_no_day(
    zone, anchor, after, hour, minute
):
    rule = f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute}"
    result = next_occurrence(rule, anchor, after, zone)
    assert result is not None
    assert result > after
    assert result >= anchor.replace(second=0, microsecond=0) - timedelta(days=1)
    wall = result.astimezone(zone)
    wanted = wall.replace(hour=hour, minute=minute, tzinfo=None)
    # the wall time itself, or inside a spring-forward gap that time moved past the gap
    shifted = wanted.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    assert wall.replace(tzinfo=None) in (wanted, shifted)
    # no day skipped: the day before held no occurrence after `after` (unless before anchor)
    start = max(after, anchor)
    assert result - start <= timedelta(days=1, hours=1)


@settings(max_examples=200, deadline=None)
@given(zone=ZONES, anchor=INSTANTS, days=st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True),
       hour=st.integers(0, 23), steps=st.integers(1, 20))  # fmt: skip
def test_weekly_occurrences_march_forward_on_their_days_and_time(zone, anchor, days, hour, steps):
    names = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
    rule = f"FREQ=WEEKLY;BYDAY={','.join(names[d] for d in days)};BYHOUR={hour};BYMINUTE=0"
    current = anchor
    for _ in range(steps):
        following = next_occurrence(rule, anchor, current, zone)
        assert following is not None
        assert following > current
        assert following - current <= timedelta(days=7, hours=1)
        wall = following.astimezone(zone)
        assert wall.weekday() in days
        assert wall.hour in (hour, (hour + 1) % 24)
        assert wall.minute in (0, 30)
        current = following
