"""The parser never fails: no input raises or runs long (issue 20 item 3), and the phrases
of issue 22 item 6 that used to raise are read (or refused) instead."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.services.dates.occurrences import next_occurrence
from server.services.dates.parse import MAX_SCANNED, Parsed, _occurs_soon, parse
from server.services.dates.rrule import normalize_rrule

ZONES = ["UTC", "Europe/Moscow", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati",
         "Pacific/Pago_Pago", "Australia/Lord_Howe", "Europe/Berlin"]  # fmt: skip
NOWS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31))

# Pieces of the grammar, in both languages, to be combined at random.
PIECES = [
    "напомни", "remind me to", "завтра", "tomorrow", "tmrw", "послезавтра", "сегодня", "tonight",
    "в 9", "at 5", "9pm", "9 pm", "10 a.m.", "в 3 часа дня", "15h30", "17:45", "half past 3",
    "quarter to 7", "без четверти 5", "полдевятого", "в полночь", "noon", "в пт", "в пятницк",
    "thrusday", "next friday", "this monday", "friday after next", "в следующий вторник",
    "15 фев", "первого апреля", "двадцатого марта", "april first", "the 15th", "20-го",
    "31.12", "2/3", "2030-02-29", "0000-01-01", "9999-12-31", "0001-01-01", "99 марта",
    "через пару часов", "через минут 20", "in 2 hours", "2 hours from now", "a week from today",
    "через полчаса", "in 1/2 hour", "каждый день", "every weekday", "по понедельникам и средам",
    "every other week", "каждые 3 дня", "first monday of every month", "last friday of the month",
    "каждый второй вторник месяца", "ежегодно 1 сентября", "every 4th and 10th of the month",
    "last day of each month", "5 раз", "twice", "for 2 weeks", "до 20 марта", "until april 27",
    "starting tomorrow", "начиная с 3 марта", "утром", "вечером", "this afternoon",
    "in the morning",
    "купить молоко", "call mom", "в 21 школу", "в 5 кабинет", "с днём рождения", "and", "и",
    ",", ".", "кроме", "except", "every 5 minutes", "каждый час", "every other hour",
]  # fmt: skip


def _check(result: Parsed, local: datetime, tz: ZoneInfo) -> None:
    """What any reading must satisfy: aware, in the user's zone, in the future, and a repeat
    that the task service accepts and that occurs at that first instant."""
    assert isinstance(result.title, str)
    if result.when is not None:
        assert result.clarify is None
        assert result.when.tzinfo is not None
        assert result.when > local.replace(second=0, microsecond=0) - timedelta(seconds=1)
    if result.repeat is not None:
        assert result.when is not None
        assert normalize_rrule(result.repeat)
        first = next_occurrence(result.repeat, result.when, result.when - timedelta(seconds=1), tz)
        assert first == result.when.astimezone(UTC)
    if result.clarify is not None:
        assert result.when is None
        for option in result.clarify.options:
            assert option > local.replace(second=0, microsecond=0) - timedelta(seconds=1)
        for rule in result.clarify.repeats:
            assert rule is None or normalize_rrule(rule)


def _at(now: datetime, zone: str) -> tuple[datetime, ZoneInfo]:
    tz = ZoneInfo(zone)
    return now.replace(tzinfo=UTC).astimezone(tz), tz


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300), now=NOWS, zone=st.sampled_from(ZONES))
def test_arbitrary_text_never_raises(text: str, now: datetime, zone: str):
    local, tz = _at(now, zone)
    _check(parse(text, local, tz), local, tz)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=6),
    now=NOWS,
    zone=st.sampled_from(ZONES),
)
def test_random_combinations_of_grammar_pieces_never_raise(pieces, now, zone):
    local, tz = _at(now, zone)
    _check(parse(" ".join(pieces), local, tz), local, tz)


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(
    "text",
    ["0000-01-01", "0001-01-01", "9999-12-31", "9999-12-31 at 23:00", "31.12.9999 в 23:59",
     "1 января 0001 года", "Dec 31, 9999 11pm", "0001-01-01 at 00:00"],
)  # fmt: skip
def test_out_of_range_dates_are_not_understood(text: str, zone: str):
    tz = ZoneInfo(zone)
    for now in (datetime(2026, 3, 28, 12, tzinfo=tz), datetime(9998, 12, 31, 12, tzinfo=tz)):
        result = parse(text, now, tz)
        assert (result.when, result.clarify, result.phrase) == (None, None, None), text
        assert result.title == text


# Issue 22 item 6: each of these raised and answered 500 from POST /api/tasks/parse.
NOW = datetime(2026, 3, 28, 12, tzinfo=ZoneInfo("Europe/Moscow"))  # a Saturday, noon


@pytest.mark.parametrize(
    ("text", "zone", "title", "local"),
    [
        ("call mom 9 pm", "Europe/Moscow", "call mom", "2026-03-28T21:00"),
        ("встреча 7 вечера", "Europe/Moscow", "встреча", "2026-03-28T19:00"),
        ("dentist 10 a.m. tomorrow", "Europe/Moscow", "dentist", "2026-03-29T10:00"),
        ("dentist tmrw 9am", "Europe/Moscow", "dentist", "2026-03-29T09:00"),
        ("3pm tomorrow", "Europe/Moscow", "", "2026-03-29T15:00"),
        ("0000-01-01", "Europe/Moscow", "0000-01-01", None),
        ("9999-12-31 at 23:00", "America/New_York", "9999-12-31 at 23:00", None),
        ("0001-01-01", "Asia/Tokyo", "0001-01-01", None),
    ],
)
def test_the_phrases_of_issue_22_that_raised(text: str, zone: str, title: str, local: str | None):
    tz = ZoneInfo(zone)
    result = parse(text, NOW.astimezone(tz), tz)
    assert result.title == title
    if local is None:
        assert (result.when, result.clarify) == (None, None)
    else:
        assert result.when is not None
        assert result.when.astimezone(tz).strftime("%Y-%m-%dT%H:%M") == local


HOSTILE_4KB = [
    "в 1 " * 1024,
    "every 1st and 2nd and 3rd " * 160,
    "1" * 4096,
    "через " * 700,
    "каждый " * 600,
    ("завтра в 9 " * 400)[:4096],
    "a" * 4096,
    "ё" * 4096,
    ("31.12." * 700)[:4096],
    ("monday tuesday " * 300)[:4096],
    ("пятницк четвергг " * 260)[:4096],
    "-" * 4096,
]


@pytest.mark.timing  # a duration: coverage tracing would distort it (make test-timing)
def test_worst_case_time_on_4kb_inputs_is_bounded():
    tz = ZoneInfo("Europe/Moscow")
    parse("прогрев", NOW, tz)  # compiled patterns and imports are not the input's cost
    worst = 0.0
    for text in HOSTILE_4KB:
        assert len(text) >= 4000
        started = time.perf_counter()
        result = parse(text, NOW, tz)
        worst = max(worst, time.perf_counter() - started)
        assert result.title.endswith(text[MAX_SCANNED:].strip()[-20:])  # the rest is kept
    # 50 ms is the event-loop budget; the measured worst case is a few ms (docs/parser.md).
    assert worst < 0.05, worst


def test_a_second_tuesday_and_mondays_are_not_one_repeat():
    # "every 2nd Tuesday of the month" + "on Mondays" would be BYDAY=MO,2TU, which dateutil
    # reads as both at once: it never occurs, and looking for it took 7 s of CPU.
    tz = ZoneInfo("UTC")
    result = parse("каждый второй вторник месяца без четверти 5 по понедельникам", NOW, tz)
    assert (result.when, result.clarify, result.repeat) == (None, None, None)


@pytest.mark.timing  # a duration: coverage tracing would distort it (make test-timing)
def test_a_rule_that_never_occurs_is_refused_quickly():
    # dateutil would look for these until year 9999 (an UNTIL does not stop it); the guard
    # answers from date arithmetic over at most 120 months.
    anchor = datetime(2026, 3, 28, tzinfo=UTC)
    started = time.perf_counter()
    assert not _occurs_soon("FREQ=MONTHLY;BYDAY=MO,2TU;BYHOUR=4;BYMINUTE=45", anchor)
    assert not _occurs_soon("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", anchor)
    assert not _occurs_soon(
        "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", anchor
    )  # 2026, 2030...
    assert time.perf_counter() - started < 0.05


def test_the_guard_finds_rules_that_do_occur():
    anchor = datetime(2026, 3, 28, tzinfo=UTC)
    for rule in (
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=9;BYMINUTE=0",  # 2028
        "FREQ=YEARLY;INTERVAL=2;BYMONTH=2;BYMONTHDAY=29",  # 2026, 2028
        "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
        "FREQ=MONTHLY;BYDAY=5FR",  # not every month has one
        "FREQ=MONTHLY;BYDAY=-1FR,2TU",
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=DAILY;UNTIL=20260401T000000Z",
        "FREQ=WEEKLY;BYDAY=SA,SU",
    ):
        assert _occurs_soon(rule, anchor), rule
