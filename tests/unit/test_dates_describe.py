# ruff: noqa: E501 - one rule per line in the table
"""Repeat rules in words (`dates.describe`), in both languages, for every form the parser makes;
anything else is returned as it is."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from server.services.dates.describe import describe

TABLE = [
    ("FREQ=DAILY;BYHOUR=9;BYMINUTE=0", "каждый день в 09:00", "every day at 09:00"),
    ("FREQ=HOURLY;INTERVAL=2;BYMINUTE=20", "каждые 2 часа в :20", "every 2 hours at :20"),
    ("FREQ=DAILY;INTERVAL=21;BYHOUR=9;BYMINUTE=0", "каждый 21 день в 09:00", "every 21 days at 09:00"),
    ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=30", "по будням в 08:30", "every weekday at 08:30"),
    ("FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=10;BYMINUTE=0", "по выходным в 10:00", "every weekend at 10:00"),
    ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=0", "каждые 3 недели: пн, пт в 09:00", "every 3 weeks on Mon, Fri at 09:00"),
    ("FREQ=WEEKLY;INTERVAL=5;BYDAY=SA;BYHOUR=9;BYMINUTE=0", "каждые 5 недель: сб в 09:00", "every 5 weeks on Sat at 09:00"),
    ("FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0", "каждый месяц в первый понедельник в 09:00", "every month on the first Monday at 09:00"),
    ("FREQ=MONTHLY;BYDAY=2TU;BYHOUR=19;BYMINUTE=0", "каждый месяц во второй вторник в 19:00", "every month on the second Tuesday at 19:00"),
    ("FREQ=MONTHLY;BYDAY=-1FR", "каждый месяц в последнюю пятницу", "every month on the last Friday"),
    ("FREQ=MONTHLY;BYDAY=2FR,-1FR", "каждый месяц во вторую пятницу и в последнюю пятницу", "every month on the second Friday and on the last Friday"),
    ("FREQ=MONTHLY;BYMONTHDAY=4,10;BYHOUR=9;BYMINUTE=0", "каждый месяц 4-го и 10-го числа в 09:00", "every month on the 4th and 10th at 09:00"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", "каждый месяц в последний день", "every month on the last day"),
    ("FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1", "каждые 2 месяца 1-го числа", "every 2 months on the 1st"),
    ("FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0", "каждый год 1 сентября в 09:00", "every year on September 1 at 09:00"),
    ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "каждый год в четвёртый четверг ноября", "every year on the fourth Thursday of November"),
    ("FREQ=YEARLY;INTERVAL=5;BYMONTH=12;BYMONTHDAY=21,31", "каждые 5 лет 21 и 31 декабря", "every 5 years on December 21 and 31"),
    ("FREQ=DAILY;BYHOUR=9;BYMINUTE=0;COUNT=5", "каждый день в 09:00, 5 раз", "every day at 09:00, 5 times"),
    ("FREQ=WEEKLY;BYDAY=FR;COUNT=2", "каждую неделю: пт, 2 раза", "every week on Fri, 2 times"),
    # The end of 20 April in Moscow is 20:59:59 UTC the same day.
    ("FREQ=DAILY;BYHOUR=9;BYMINUTE=0;UNTIL=20260420T205959Z", "каждый день в 09:00, до 20 апреля 2026", "every day at 09:00, until 20 Apr 2026"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "ru", "en"), TABLE)
def test_describe(rule: str, ru: str, en: str):
    moscow = ZoneInfo("Europe/Moscow")
    assert describe(rule, "ru", moscow) == ru
    assert describe(rule, "en", moscow) == en


def test_until_is_the_users_day():
    # 04:59:59 UTC on 21 April is still 20 April in New York.
    rule = "FREQ=DAILY;UNTIL=20260421T035959Z"
    assert describe(rule, "en", ZoneInfo("America/New_York")).endswith("until 20 Apr 2026")
    assert describe(rule, "en", ZoneInfo("UTC")).endswith("until 21 Apr 2026")


@pytest.mark.parametrize(
    "rule",
    ["FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1", "FREQ=SECONDLY", "nonsense", "FREQ=DAILY;INTERVAL=x",
     "FREQ=WEEKLY;BYDAY=XX", "FREQ=DAILY;UNTIL=2026", ""],
)  # fmt: skip
def test_what_it_does_not_know_is_returned_as_it_is(rule: str):
    assert describe(rule, "ru") == rule
    assert describe(rule, "en") == rule
