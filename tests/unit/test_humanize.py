# ruff: noqa: E501 - one rule per line in the tables
"""The shared formatter: times, repeats and zones as people say them, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.services.dates.humanize import (
    Humanizer,
    capital,
    clock_text,
    repeat_text,
    when_text,
    zone_text,
)

MOSCOW = ZoneInfo("Europe/Moscow")
# Monday, 7 December 2026, 08:00 in Moscow
NOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


def at(days: int, hour: int, minute: int = 0) -> datetime:
    local = NOW.astimezone(MOSCOW).replace(hour=hour, minute=minute) + timedelta(days=days)
    return local.astimezone(UTC)


@pytest.mark.parametrize(
    ("instant", "lang", "expected"),
    [
        (at(0, 10), "ru", "сегодня 10:00"),
        (at(0, 10), "en", "today 10 AM"),
        (at(1, 9), "ru", "завтра 09:00"),
        (at(1, 9), "en", "tomorrow 9 AM"),
        (at(2, 18, 30), "ru", "ср, 9 дек., 18:30"),
        (at(2, 18, 30), "en", "Wed, Dec 9, 6:30 PM"),
        (at(-1, 0, 5), "en", "yesterday 12:05 AM"),
        (at(-1, 12), "ru", "вчера 12:00"),
        (at(40, 12), "en", "Sat, Jan 16, 2027, 12 PM"),
        (at(40, 12), "ru", "сб, 16 янв. 2027, 12:00"),
    ],
)
def test_times_relative_to_now_on_the_users_clock(instant, lang, expected):
    assert when_text(instant, NOW, MOSCOW, lang) == expected


def test_the_day_is_the_users_not_utcs():
    # 23:30 UTC on the 7th is already the 8th in Moscow: "tomorrow" there
    late = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    assert when_text(late, NOW, MOSCOW, "en") == "tomorrow 2:30 AM"
    assert when_text(late, NOW, ZoneInfo("UTC"), "en") == "today 11:30 PM"


def test_clock_and_capital():
    assert [clock_text(h, m, "en") for h, m in ((0, 0), (9, 5), (12, 0), (23, 59))] == [
        "12 AM", "9:05 AM", "12 PM", "11:59 PM"]  # fmt: skip
    assert clock_text(9, 5, "ru") == "09:05"
    assert capital("today 10 AM") == "Today 10 AM"
    assert capital("") == ""


@pytest.mark.parametrize(
    ("rule", "en", "ru"),
    [
        ("FREQ=HOURLY;INTERVAL=2;BYMINUTE=27", "every 2 hours", "каждые 2 часа"),
        ("FREQ=HOURLY", "every hour", "каждый час"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=0", "every weekday at 8 AM",
         "по будням в 08:00"),
        ("FREQ=DAILY;BYHOUR=21;BYMINUTE=30", "every day at 9:30 PM", "каждый день в 21:30"),
        ("FREQ=WEEKLY;BYDAY=SA,SU", "every weekend", "по выходным"),
        ("FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9", "every Mon, Wed at 9 AM", "по пн, ср в 09:00"),
        ("FREQ=DAILY;INTERVAL=5", "every 5 days", "каждые 5 дней"),
        ("FREQ=DAILY;INTERVAL=21", "every 21 days", "каждый 21 день"),
        ("FREQ=WEEKLY;INTERVAL=2", "every 2 weeks", "каждые 2 недели"),
        ("FREQ=MONTHLY;BYMONTHDAY=3", "every month on the 3rd", "каждый месяц 3-го числа"),
        ("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=9", "every year on December 9", "каждый год 9 декабря"),
        ("FREQ=DAILY;COUNT=3", "every day, 3 times", "каждый день, 3 раза"),
    ],
)  # fmt: skip
def test_repeats_in_words(rule, en, ru):
    assert repeat_text(rule, "en") == en
    assert repeat_text(rule, "ru") == ru


def test_a_rule_is_never_shown_raw():
    assert repeat_text(None, "en") is None
    for rule in ("FREQ=MINUTELY", "FREQ=DAILY;BYSETPOS=-1;BYDAY=XX", "FREQ=WEEKLY;INTERVAL=x"):
        text = repeat_text(rule, "en")
        assert text is not None
        assert "FREQ" not in text
        assert "=" not in text


@pytest.mark.parametrize(
    ("zone", "en", "ru"),
    [
        ("Europe/Moscow", "Moscow (UTC+3)", "Москва (UTC+3)"),
        ("Asia/Novosibirsk", "Novosibirsk (UTC+7)", "Новосибирск (UTC+7)"),
        ("Asia/Tokyo", "Tokyo (UTC+9)", "Токио (UTC+9)"),
        ("UTC", "UTC", "UTC"),
        ("Etc/GMT-3", "UTC+3", "UTC+3"),
        ("Asia/Kolkata", "Kolkata (UTC+5:30)", "Калькутта (UTC+5:30)"),
    ],
)
def test_zone_names_in_the_users_language_without_oddities(zone, en, ru):
    assert zone_text(zone, "en", NOW) == en
    assert zone_text(zone, "ru", NOW) == ru


def test_a_task_shows_its_reminder_else_its_due_time():
    texts = Humanizer.for_user("ru-RU", "Europe/Moscow", NOW)
    assert texts.task_when(at(0, 10), at(1, 9)) == "сегодня 10:00"
    assert texts.task_when(None, at(1, 9)) == "завтра 09:00"
    assert texts.task_when(None, None) is None
    # an unknown zone reads as UTC rather than failing
    assert Humanizer.for_user(None, "Mars/Olympus", NOW).zone == ZoneInfo("UTC")


def test_a_due_time_apart_from_the_reminder_is_said_once_and_only_then():
    texts = Humanizer.for_user("en", "Europe/London", NOW)
    assert texts.due_apart(at(0, 10), at(1, 9)) == texts.when(at(1, 9))
    assert texts.due_apart(at(0, 10), at(0, 10)) is None  # the same instant: said once
    assert texts.due_apart(None, at(1, 9)) is None  # when_text already says the due time
    assert texts.due_apart(at(0, 10), None) is None


def test_overdue_is_an_open_task_whose_shown_time_has_passed():
    texts = Humanizer.for_user("en", "Europe/London", NOW)
    past, future = NOW - timedelta(minutes=1), NOW + timedelta(minutes=1)
    assert texts.overdue(past, None, done=False)
    assert texts.overdue(None, past, done=False)
    assert not texts.overdue(past, None, done=True)  # done is never late
    assert not texts.overdue(future, past, done=False)  # the reminder is the time shown
    assert not texts.overdue(None, None, done=False)


# Every form the parser writes (this table came from the former `dates.describe`, folded in
# here: one repeat formatter for the bot, REST and the parse endpoint).
PARSER_RULES = [
    ("FREQ=DAILY;INTERVAL=21;BYHOUR=9;BYMINUTE=0", "каждый 21 день в 09:00", "every 21 days at 9 AM"),
    ("FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=10;BYMINUTE=0", "по выходным в 10:00", "every weekend at 10 AM"),
    ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=0", "каждые 3 недели по пн, пт в 09:00", "every 3 weeks on Mon, Fri at 9 AM"),
    ("FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0", "каждый месяц в первый понедельник в 09:00", "every month on the first Monday at 9 AM"),
    ("FREQ=MONTHLY;BYDAY=2TU;BYHOUR=19;BYMINUTE=0", "каждый месяц во второй вторник в 19:00", "every month on the second Tuesday at 7 PM"),
    ("FREQ=MONTHLY;BYDAY=-1FR", "каждый месяц в последнюю пятницу", "every month on the last Friday"),
    ("FREQ=MONTHLY;BYDAY=2FR,-1FR", "каждый месяц во вторую пятницу и в последнюю пятницу", "every month on the second Friday and on the last Friday"),
    ("FREQ=MONTHLY;BYMONTHDAY=4,10;BYHOUR=9;BYMINUTE=0", "каждый месяц 4-го и 10-го числа в 09:00", "every month on the 4th and 10th at 9 AM"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", "каждый месяц в последний день", "every month on the last day"),
    ("FREQ=MONTHLY;BYMONTHDAY=4,-1", "каждый месяц 4-го и последнего числа", "every month on the 4th and last day"),
    ("FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1", "каждые 2 месяца 1-го числа", "every 2 months on the 1st"),
    ("FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0", "каждый год 1 сентября в 09:00", "every year on September 1 at 9 AM"),
    ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "каждый год в четвёртый четверг ноября", "every year on the fourth Thursday of November"),
    ("FREQ=YEARLY;INTERVAL=5;BYMONTH=12;BYMONTHDAY=21,31", "каждые 5 лет 21 и 31 декабря", "every 5 years on December 21 and 31"),
    ("FREQ=DAILY;BYHOUR=9;BYMINUTE=0;COUNT=5", "каждый день в 09:00, 5 раз", "every day at 9 AM, 5 times"),
    ("FREQ=WEEKLY;BYDAY=FR;COUNT=2", "по пт, 2 раза", "every Fri, 2 times"),
    ("FREQ=DAILY;COUNT=21", "каждый день, 21 раз", "every day, 21 times"),
    # The end of 20 April in Moscow is 20:59:59 UTC the same day.
    ("FREQ=DAILY;BYHOUR=9;BYMINUTE=0;UNTIL=20260420T205959Z", "каждый день в 09:00, до 20 апреля 2026", "every day at 9 AM, until Apr 20, 2026"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "ru", "en"), PARSER_RULES)
def test_the_parsers_rules_in_words(rule: str, ru: str, en: str):
    moscow = ZoneInfo("Europe/Moscow")
    assert repeat_text(rule, "ru", zone=moscow) == ru
    assert repeat_text(rule, "en", zone=moscow) == en


def test_until_is_the_users_day():
    # 03:59:59 UTC on 21 April is still 20 April in New York.
    rule = "FREQ=DAILY;UNTIL=20260421T035959Z"
    assert (
        repeat_text(rule, "en", zone=ZoneInfo("America/New_York"))
        == "every day, until Apr 20, 2026"
    )
    assert repeat_text(rule, "en") == "every day, until Apr 21, 2026"
    # The Humanizer reads it in the reader's zone.
    reader = Humanizer.for_user("en", "America/New_York", datetime(2026, 1, 1, tzinfo=UTC))
    assert reader.repeat(rule) == "every day, until Apr 20, 2026"


@pytest.mark.parametrize(
    "rule",
    ["FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1", "FREQ=SECONDLY", "FREQ=DAILY;INTERVAL=x",
     "FREQ=WEEKLY;BYDAY=XX", "FREQ=DAILY;UNTIL=2026", "FREQ=MONTHLY;BYDAY=9MO;COUNT=x"],
)  # fmt: skip
def test_parts_it_cannot_say_are_left_out(rule: str):
    for lang in ("ru", "en"):
        text = repeat_text(rule, lang)
        assert text
        assert "=" not in text
        assert "FREQ" not in text
        assert "x" not in text.split()
