# ruff: noqa: E501 - one phrase per line in the table
"""The natural-language parser: exact results for Russian and English phrases at fixed
"now" values and zones, including the day before each DST change in Berlin and Moscow (no
DST), plus property tests of the rules that must hold for any now and zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from server.services.dates.occurrences import next_occurrence
from server.services.dates.parse import Clarify, parse

BERLIN, MOSCOW, NEW_YORK = "Europe/Berlin", "Europe/Moscow", "America/New_York"
# Saturday noon before Berlin springs forward (Sun 29 March 2026, 02:00 -> 03:00).
SPRING = "2026-03-28T12:00"
# Saturday evening before Berlin falls back (Sun 25 October 2026, 03:00 -> 02:00).
AUTUMN = "2026-10-24T22:30"
LATE = "2026-03-28T23:30"  # Saturday, late evening

# (zone, now (local wall time), text, title, when (local, RFC 3339) or clarify reason, repeat)
TABLE: list[tuple[str, str, str, str, str, str | None]] = [
    # the two examples of the issue
    (BERLIN, SPRING, "напомни завтра в 9 купить молоко", "купить молоко", "2026-03-29T09:00:00+02:00", None),
    (BERLIN, SPRING, "remind me in 2 hours to call mom", "call mom", "2026-03-28T14:00:00+01:00", None),
    (MOSCOW, SPRING, "напомни завтра в 9 купить молоко", "купить молоко", "2026-03-29T09:00:00+03:00", None),
    # a bare hour right after a day word, at the end (the bot's `/new buy milk tomorrow 9`)
    (BERLIN, SPRING, "buy milk tomorrow 9", "buy milk", "2026-03-29T09:00:00+02:00", None),
    (MOSCOW, SPRING, "купить молоко завтра 18", "купить молоко", "2026-03-29T18:00:00+03:00", None),
    (BERLIN, SPRING, "tomorrow 3 calls", "3 calls", "2026-03-29T09:00:00+02:00", None),
    # an hour with its marker and no "at" (raised IndexError: the rule has no minutes group)
    (BERLIN, SPRING, "buy milk 7pm", "buy milk", "2026-03-28T19:00:00+01:00", None),
    (MOSCOW, SPRING, "купить хлеб 8 вечера", "купить хлеб", "2026-03-28T20:00:00+03:00", None),
    (MOSCOW, SPRING, "remind me in 2 hours to call mom", "call mom", "2026-03-28T14:00:00+03:00", None),
    # a day without a time is 09:00; parts of the day
    (BERLIN, SPRING, "завтра позвонить врачу", "позвонить врачу", "2026-03-29T09:00:00+02:00", None),
    (BERLIN, SPRING, "call the dentist tomorrow", "call the dentist", "2026-03-29T09:00:00+02:00", None),
    (BERLIN, SPRING, "завтра вечером позвонить", "позвонить", "2026-03-29T20:00:00+02:00", None),
    (BERLIN, SPRING, "tonight take out the trash", "take out the trash", "2026-03-28T20:00:00+01:00", None),
    (BERLIN, SPRING, "сегодня вечером кино", "кино", "2026-03-28T20:00:00+01:00", None),
    (BERLIN, SPRING, "вечером полить цветы", "полить цветы", "2026-03-28T20:00:00+01:00", None),
    (BERLIN, SPRING, "tomorrow morning gym", "gym", "2026-03-29T09:00:00+02:00", None),
    (BERLIN, SPRING, "morning run", "morning run", "", None),  # no day: just words
    (BERLIN, SPRING, "послезавтра днём обед", "обед", "2026-03-30T13:00:00+02:00", None),
    # a time already past today is tomorrow; across the DST change the wall time holds
    (BERLIN, SPRING, "в 9 зарядка", "зарядка", "2026-03-29T09:00:00+02:00", None),
    (BERLIN, SPRING, "at 18:30 dinner", "dinner", "2026-03-28T18:30:00+01:00", None),
    (MOSCOW, LATE, "в 9", "", "2026-03-29T09:00:00+03:00", None),
    (BERLIN, SPRING, "at 5pm", "", "2026-03-28T17:00:00+01:00", None),
    (BERLIN, SPRING, "в 7 вечера", "", "2026-03-28T19:00:00+01:00", None),
    (BERLIN, SPRING, "в 11 ночи", "", "2026-03-28T23:00:00+01:00", None),
    (BERLIN, SPRING, "в 9.30", "", "2026-03-29T09:30:00+02:00", None),
    (BERLIN, SPRING, "в 07:00", "", "2026-03-29T07:00:00+02:00", None),
    (BERLIN, SPRING, "завтра в полдень", "", "2026-03-29T12:00:00+02:00", None),
    # a wall time inside the spring-forward gap is read after the gap (RFC 5545)
    (BERLIN, SPRING, "завтра в 2:30 ночи", "", "2026-03-29T03:30:00+02:00", None),
    # the repeated hour at fall-back: the first one
    (BERLIN, AUTUMN, "завтра в 2:30 ночи", "", "2026-10-25T02:30:00+02:00", None),
    (BERLIN, AUTUMN, "через 24 часа", "", "2026-10-25T21:30:00+01:00", None),  # elapsed time
    (BERLIN, AUTUMN, "через 1 день", "", "2026-10-25T09:00:00+01:00", None),  # a day: 09:00
    (BERLIN, SPRING, "через полчаса", "", "2026-03-28T12:30:00+01:00", None),
    (BERLIN, SPRING, "in 10 min", "", "2026-03-28T12:10:00+01:00", None),
    (MOSCOW, LATE, "через 2 часа 30 минут", "", "2026-03-29T02:00:00+03:00", None),
    (MOSCOW, SPRING, "через неделю", "", "2026-04-04T09:00:00+03:00", None),
    (MOSCOW, SPRING, "in 3 days", "", "2026-03-31T09:00:00+03:00", None),
    # days and dates
    (MOSCOW, SPRING, "в пятницу сдать отчёт", "сдать отчёт", "2026-04-03T09:00:00+03:00", None),
    (MOSCOW, SPRING, "до пятницы сдать отчёт", "сдать отчёт", "2026-04-03T09:00:00+03:00", None),
    (MOSCOW, SPRING, "во вторник в 12", "", "2026-03-31T12:00:00+03:00", None),
    (MOSCOW, SPRING, "next friday 18:00", "", "2026-04-03T18:00:00+03:00", None),
    (MOSCOW, SPRING, "в субботу", "", "2026-04-04T09:00:00+03:00", None),  # today's 09:00 passed
    (MOSCOW, SPRING, "встреча 5 апреля в 15:00", "встреча", "2026-04-05T15:00:00+03:00", None),
    (MOSCOW, SPRING, "April 5th at 3pm meeting", "meeting", "2026-04-05T15:00:00+03:00", None),
    (MOSCOW, SPRING, "25.12", "", "2026-12-25T09:00:00+03:00", None),
    (MOSCOW, SPRING, "2026-04-10", "", "2026-04-10T09:00:00+03:00", None),
    (MOSCOW, SPRING, "1 марта", "", "2027-03-01T09:00:00+03:00", None),  # passed: next year
    # repeats: RRULEs with their own wall time
    (BERLIN, SPRING, "каждый понедельник в 10", "", "2026-03-30T10:00:00+02:00", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0"),
    (BERLIN, SPRING, "every weekday at 8:30", "", "2026-03-30T08:30:00+02:00", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=30"),
    (BERLIN, SPRING, "каждый день", "", "2026-03-29T09:00:00+02:00", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"),
    (BERLIN, SPRING, "every 2 weeks", "", "2026-03-29T09:00:00+02:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=9;BYMINUTE=0"),
    (BERLIN, SPRING, "pay rent by the 1st of every month", "pay rent", "2026-04-01T09:00:00+02:00", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0"),
    (MOSCOW, SPRING, "каждый месяц 15-го оплатить интернет", "оплатить интернет", "2026-04-15T09:00:00+03:00", "FREQ=MONTHLY;BYMONTHDAY=15;BYHOUR=9;BYMINUTE=0"),
    (MOSCOW, SPRING, "по будням в 8:30 зарядка", "зарядка", "2026-03-30T08:30:00+03:00", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=30"),
    (MOSCOW, SPRING, "по понедельникам и средам в 7 утра", "", "2026-03-30T07:00:00+03:00", "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=7;BYMINUTE=0"),
    (MOSCOW, SPRING, "every monday and thursday at 19:00 gym", "gym", "2026-03-30T19:00:00+03:00", "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=19;BYMINUTE=0"),
    (MOSCOW, SPRING, "каждое утро витамины", "витамины", "2026-03-29T09:00:00+03:00", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"),
    (MOSCOW, SPRING, "каждые 2 часа пить воду", "пить воду", "2026-03-28T14:00:00+03:00", "FREQ=HOURLY;INTERVAL=2;BYMINUTE=0"),
    (MOSCOW, SPRING, "every year", "", "2026-03-29T09:00:00+03:00", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=29;BYHOUR=9;BYMINUTE=0"),
    (BERLIN, AUTUMN, "every day at 9", "", "2026-10-25T09:00:00+01:00", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"),
    # asked about, never guessed
    (BERLIN, SPRING, "в 7", "", "ambiguous-time", None),  # 07:00 or 19:00?
    (BERLIN, SPRING, "at 5 call mom", "call mom", "ambiguous-time", None),
    (BERLIN, SPRING, "завтра в 2:30 позвонить", "позвонить", "ambiguous-time", None),
    (BERLIN, SPRING, "сегодня в 9", "", "in-the-past", None),
    (MOSCOW, SPRING, "в субботу в 15", "", "ambiguous-day", None),  # today or in a week?
    (MOSCOW, SPRING, "1/2", "", "ambiguous-date", None),  # 1 Feb or 2 Jan?
    (MOSCOW, SPRING, "10.04.2025", "", "in-the-past", None),
    (MOSCOW, SPRING, "завтра в понедельник", "", "conflict", None),
    # no time at all: the text is the title
    (MOSCOW, SPRING, "купить 2 молока", "купить 2 молока", "", None),
    (MOSCOW, SPRING, "в 25 лучших фильмов", "в 25 лучших фильмов", "", None),
    (MOSCOW, SPRING, "напомни мне про встречу", "про встречу", "", None),
]  # fmt: skip


@pytest.mark.parametrize(("zone", "now", "text", "title", "expected", "repeat"), TABLE)
def test_parse_table(zone: str, now: str, text: str, title: str, expected: str, repeat: str | None):
    tz = ZoneInfo(zone)
    result = parse(text, datetime.fromisoformat(now).replace(tzinfo=tz), tz)
    assert result.title == title
    assert result.repeat == repeat
    if not expected:
        assert result.when is None
        assert result.clarify is None
        assert result.phrase is None
    elif expected[0].isdigit():
        assert result.clarify is None, result.clarify
        assert result.when is not None
        assert result.when.isoformat() == expected
        assert result.when.tzinfo == tz
    else:
        assert result.when is None
        assert result.clarify is not None
        assert result.clarify.reason == expected


def test_ambiguous_hour_offers_both_readings_in_order():
    tz = ZoneInfo(BERLIN)
    result = parse("в 7", datetime(2026, 3, 28, 12, tzinfo=tz), tz)
    assert result.clarify is not None
    assert [o.isoformat() for o in result.clarify.options] == [
        "2026-03-28T19:00:00+01:00",
        "2026-03-29T07:00:00+02:00",
    ]


@pytest.mark.parametrize("text", ["every day at 7 take pills", "каждый день в 7 пить таблетки"])
def test_an_ambiguous_repeat_offers_each_reading_with_its_own_rule(text: str):
    # The rule carries the time of day, so each reading has its own; choosing a reading must
    # not drop the repeat.
    tz = ZoneInfo(BERLIN)
    result = parse(text, datetime(2026, 3, 28, 12, tzinfo=tz), tz)
    assert result.clarify is not None
    assert result.clarify.reason == "ambiguous-time"
    assert [o.isoformat() for o in result.clarify.options] == [
        "2026-03-28T19:00:00+01:00",
        "2026-03-29T07:00:00+02:00",
    ]
    assert result.clarify.repeats == (
        "FREQ=DAILY;BYHOUR=19;BYMINUTE=0",
        "FREQ=DAILY;BYHOUR=7;BYMINUTE=0",
    )
    assert parse("at 7 call mom", datetime(2026, 3, 28, 12, tzinfo=tz), tz).clarify == Clarify(
        "ambiguous-time", result.clarify.options
    )  # a one-off: no rules


def test_a_weekday_with_a_weekly_repeat_is_the_repeat_s_day_not_a_start():
    # On a Saturday at noon, "every week on Saturday at 15:00" is every Saturday, today's
    # 15:00 included: the weekday completes the rule (BYDAY) instead of being asked about.
    tz = ZoneInfo(MOSCOW)
    result = parse("каждую неделю в субботу в 15:00", datetime(2026, 3, 28, 12, tzinfo=tz), tz)
    assert result.clarify is None
    assert result.repeat == "FREQ=WEEKLY;BYDAY=SA;BYHOUR=15;BYMINUTE=0"
    assert result.when == datetime(2026, 3, 28, 15, tzinfo=tz)


def test_a_repeat_whose_start_needs_asking_offers_no_one_off_readings():
    # "every day from Saturday" on a Saturday morning: from today or from next week? A
    # one-off option would lose the repeat, so the user is asked to say it again.
    tz = ZoneInfo(MOSCOW)
    result = parse("каждый день с субботы", datetime(2026, 3, 28, 8, tzinfo=tz), tz)
    assert result.clarify is not None
    assert (result.clarify.reason, result.clarify.options) == ("ambiguous-day", ())


def test_past_today_offers_tomorrow():
    tz = ZoneInfo(MOSCOW)
    result = parse("сегодня в 9", datetime(2026, 3, 28, 12, tzinfo=tz), tz)
    assert result.clarify is not None
    assert [o.isoformat() for o in result.clarify.options] == ["2026-03-29T09:00:00+03:00"]


ZONES = st.sampled_from([BERLIN, MOSCOW, NEW_YORK, "Australia/Lord_Howe", "Asia/Kolkata", "UTC"])
NOWS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31))


def _at(now: datetime, zone: str) -> tuple[datetime, ZoneInfo]:
    tz = ZoneInfo(zone)
    return now.replace(tzinfo=UTC).astimezone(tz), tz


@settings(max_examples=200, deadline=None)
@given(now=NOWS, zone=ZONES, minutes=st.integers(1, 600))
def test_relative_minutes_are_elapsed_time(now: datetime, zone: str, minutes: int):
    local, tz = _at(now, zone)
    result = parse(f"через {minutes} минут", local, tz)
    assert result.when is not None
    elapsed = local.astimezone(UTC) + timedelta(minutes=minutes)
    assert result.when == elapsed.replace(second=0, microsecond=0)


@settings(max_examples=300, deadline=None)
@given(now=NOWS, zone=ZONES, hour=st.integers(8, 23), minute=st.integers(0, 59))
def test_tomorrow_at_a_time_is_that_wall_time_tomorrow(now, zone, hour, minute):
    local, tz = _at(now, zone)
    result = parse(f"завтра в {hour}:{minute:02d}", local, tz)
    if local.hour < 4:
        # In the small hours "tomorrow" may mean the coming day: asked, tomorrow offered too.
        assert result.clarify is not None
        assert result.clarify.reason == "ambiguous-day"
        assert result.clarify.options[-1].astimezone(tz).date() == local.date() + timedelta(days=1)
        return
    assert result.when is not None
    wall = result.when.astimezone(tz)
    assert wall.date() == local.date() + timedelta(days=1)
    naive = datetime.combine(wall.date(), datetime.min.time()).replace(hour=hour, minute=minute)
    # the wall time itself, or (inside a spring-forward gap) that time moved past the gap
    gap = naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) - naive
    assert wall.replace(tzinfo=None) == naive + gap
    assert timedelta(0) <= gap <= timedelta(hours=1)


@settings(max_examples=300, deadline=None)
@given(now=NOWS, zone=ZONES, hour=st.integers(8, 23), minute=st.integers(0, 59))
def test_a_time_without_a_day_is_the_next_such_time(now, zone, hour, minute):
    local, tz = _at(now, zone)
    result = parse(f"at {hour}:{minute:02d}", local, tz)
    if result.clarify is not None:
        # 8-11 o'clock when the morning has passed and the evening is under an hour away
        # ("go to bed at 11:30" at 23:28): asked, the evening first.
        assert 8 <= hour <= 11
        evening = result.clarify.options[0]
        assert timedelta(0) < evening - local <= timedelta(hours=1, minutes=1)
        return
    assert result.when is not None
    assert result.when > local
    assert result.when - local <= timedelta(days=1, hours=1)
    assert result.when.astimezone(tz).minute == minute or result.clarify is not None


@settings(max_examples=200, deadline=None)
@given(
    now=NOWS,
    zone=ZONES,
    text=st.sampled_from(
        ["каждый понедельник в 10", "every weekday at 8:30", "каждый день", "every 2 weeks",
         "by the 1st of every month", "каждые 3 часа", "every year", "по выходным в 11"]
    ),
)  # fmt: skip
# The night Lord Howe's clocks go back half an hour: the next "every 3 hours" is 01:30, a
# wall time that happens twice.
@example(now=datetime(2024, 4, 6, 11, 30), zone="Australia/Lord_Howe", text="каждые 3 часа")
def test_a_repeat_starts_in_the_future_on_its_own_rule(now, zone, text):
    local, tz = _at(now, zone)
    result = parse(text, local, tz)
    assert result.when is not None
    assert result.repeat is not None
    assert result.when > local
    # `when` is an occurrence of the rule itself, and no occurrence lies between now and it
    just_before = result.when - timedelta(seconds=1)
    # Compared as UTC instants: Python never finds an ambiguous wall time (01:30 on the night
    # Lord Howe's clocks go back half an hour) equal to a datetime of another zone (PEP 495).
    found = next_occurrence(result.repeat, result.when, just_before, tz)
    assert found == result.when.astimezone(UTC)
    earlier = next_occurrence(result.repeat, local - timedelta(days=400), local, tz)
    assert earlier is None or earlier >= result.when or "INTERVAL" in result.repeat
