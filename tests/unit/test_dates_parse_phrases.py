# ruff: noqa: E501 - one phrase per line in the table
"""Issue 20's phrases at a fixed now (Wednesday 25 March 2026, 14:20, Moscow): what each is
read as, asked about, or left as text."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from server.services.dates.parse import parse

TZ = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 3, 25, 14, 20, tzinfo=TZ)
FMT = "%a %d.%m %H:%M"

# (text, reading: "Thu 26.03 09:00" or "?reason: option | option" or "" for no time, repeat, title)
TABLE: list[tuple[str, str, str | None, str]] = [
    ("this afternoon call Bob", "Wed 25.03 15:00", None, "call Bob"),  # under way: the next hour
    ("в 5 кабинет", "", None, "в 5 кабинет"),
    ("сходить в 21 школу", "", None, "сходить в 21 школу"),
    ("встреча завтра в 10 кабинет 5", "?ambiguous-time: Thu 26.03 09:00 | Thu 26.03 10:00", None, "встреча в 10 кабинет 5"),
    ("next friday", "?ambiguous-day: Fri 27.03 09:00 | Fri 03.04 09:00", None, ""),
    ("next monday", "Mon 30.03 09:00", None, ""),
    ("friday after next", "Fri 03.04 09:00", None, ""),
    ("this wednesday at 18", "Wed 25.03 18:00", None, ""),  # today is Wednesday
    ("wednesday at 18", "?ambiguous-day: Wed 25.03 18:00 | Wed 01.04 18:00", None, ""),
    ("next wednesday", "Wed 01.04 09:00", None, ""),
    ("this friday", "Fri 27.03 09:00", None, ""),
    ("пить таблетки каждый день 5 раз", "Thu 26.03 09:00", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;COUNT=5", "пить таблетки"),
    ("каждый понедельник в 10 for 2 weeks", "Mon 30.03 10:00", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0;UNTIL=20260408T205959Z", ""),
    ("капли в нос каждый день до 20 апреля", "Thu 26.03 09:00", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;UNTIL=20260420T205959Z", "капли в нос"),
    ("every monday at 9am until april 27", "Mon 30.03 09:00", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;UNTIL=20260427T205959Z", ""),
    ("every other monday at 9am", "Mon 06.04 09:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9;BYMINUTE=0", ""),
    ("ежегодно 1 сентября", "Tue 01.09 09:00", "FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0", ""),
    ("first monday of every month", "Mon 06.04 09:00", "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0", ""),
    ("last friday of every month", "Fri 27.03 09:00", "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=9;BYMINUTE=0", ""),
    ("каждый второй вторник месяца в 19", "Tue 14.04 19:00", "FREQ=MONTHLY;BYDAY=2TU;BYHOUR=19;BYMINUTE=0", ""),
    ("оплатить последнего числа каждого месяца", "Tue 31.03 09:00", "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=9;BYMINUTE=0", "оплатить"),
    ("по понедельникам и средам в 7 утра", "Mon 30.03 07:00", "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=7;BYMINUTE=0", ""),
    ("в пт в 19", "Fri 27.03 19:00", None, ""),
    ("в сб утром", "Sat 28.03 09:00", None, ""),
    ("в пятницк в 18", "Fri 27.03 18:00", None, ""),
    ("thrusday at 3pm", "Thu 26.03 15:00", None, ""),
    ("thurs", "Thu 26.03 09:00", None, ""),
    ("dentist tmrw 9am", "Thu 26.03 09:00", None, "dentist"),
    ("15 фев", "Mon 15.02 09:00", None, ""),
    ("первого апреля", "Wed 01.04 09:00", None, ""),
    ("двадцатого марта", "Sat 20.03 09:00", None, ""),  # passed this year: next year's
    ("april first", "Wed 01.04 09:00", None, ""),
    ("the 15th", "Wed 15.04 09:00", None, ""),
    ("20-го", "Mon 20.04 09:00", None, ""),
    ("в полночь поздравить Олю с днём рождения", "Thu 26.03 00:00", None, "поздравить Олю с днём рождения"),
    ("через пару часов", "Wed 25.03 16:20", None, ""),
    ("через минут 20", "Wed 25.03 14:40", None, ""),
    ("2 hours from now", "Wed 25.03 16:20", None, ""),
    ("a week from today", "Wed 01.04 09:00", None, ""),
    ("15h30", "Wed 25.03 15:30", None, ""),
    ("в 3 часа дня", "Wed 25.03 15:00", None, ""),
    ("полдевятого", "Thu 26.03 08:30", None, ""),  # 8 is read as morning, like "в 8"
    ("полшестого", "?ambiguous-time: Wed 25.03 17:30 | Thu 26.03 05:30", None, ""),
    ("без четверти 5", "?ambiguous-time: Wed 25.03 16:45 | Thu 26.03 04:45", None, ""),
    ("quarter to 7 pm", "Wed 25.03 18:45", None, ""),
    ("half past 8 pm call", "Wed 25.03 20:30", None, "call"),
    ("поздравить Олю с субботы", "Sat 28.03 09:00", None, "поздравить Олю"),
    ("meet from saturday", "Sat 28.03 09:00", None, "meet"),
    ("check in tomorrow", "Thu 26.03 09:00", None, "check in"),  # "in" is the title's
    ("оплатить квартиру 10 числа", "Fri 10.04 09:00", None, "оплатить квартиру"),
    ("gym mon wed fri at 7am", "?conflict: ", None, "gym"),  # three days: said again, not guessed
    ("lunch with Sam tomorrow at noon", "Thu 26.03 12:00", None, "lunch with Sam"),
    ("pick up kids at 3:15 today", "Wed 25.03 15:15", None, "pick up kids"),
    ("cancel subscription before April 1", "Wed 01.04 09:00", None, "cancel subscription"),
    ("к 25 числу сдать", "Sat 25.04 09:00", None, "сдать"),
    ("купить подарок к 8 марта", "Mon 08.03 09:00", None, "купить подарок"),  # a date, not 08:00
    ("в 8 марта", "Mon 08.03 09:00", None, ""),
    ("в четверг к 10 к врачу", "Thu 26.03 10:00", None, "к врачу"),
    ("meeting 10-11am tomorrow", "Thu 26.03 10:00", None, "meeting"),  # a span: its start
    ("3-4pm call", "Wed 25.03 15:00", None, "call"),
    ("пн 9:00 планёрка", "Mon 30.03 09:00", None, "планёрка"),
    ("sat 10am brunch", "Sat 28.03 10:00", None, "brunch"),
    ("the sun 5 times", "", None, "the sun 5 times"),
    ("log on at 9 pm", "Wed 25.03 21:00", None, "log on"),
    ("сдать отчёт к пятнице", "Fri 27.03 09:00", None, "сдать отчёт"),
    ("позвонить в это воскресенье", "Sun 29.03 09:00", None, "позвонить"),
    ("set a reminder for 4 p.m. today to head home", "Wed 25.03 16:00", None, "head home"),
    ("/reminder 17:30 buy milk", "Wed 25.03 17:30", None, "buy milk"),
    ("remind next Friday meeting", "?ambiguous-day: Fri 27.03 09:00 | Fri 03.04 09:00", None, "meeting"),
    ("напомни мне завтра встречу", "Thu 26.03 09:00", None, "встречу"),
    # edges: units, bounds and shapes that are not times
    ("every fortnight", "Thu 26.03 09:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=9;BYMINUTE=0", ""),
    ("every day for a fortnight", "Thu 26.03 09:00", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;UNTIL=20260408T205959Z", ""),
    ("каждый день for 2 hours", "Thu 26.03 09:00", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", "for 2 hours"),  # not an end
    ("every 500 days", "", None, "every 500 days"),
    ("every 5 minutes", "", None, "every 5 minutes"),  # refused: a flood, not a reminder
    ("каждые 2 минуты", "", None, "каждые 2 минуты"),
    ("каждое 32-е число месяца", "", None, "каждое 32-е число месяца"),
    ("every year on feb 30", "", None, "every year on feb 30"),
    ("каждый год 31 июня", "", None, "каждый год 31 июня"),
    ("in 2000 days", "", None, "in 2000 days"),
    ("31.02", "", None, "31.02"),
    ("13/13", "", None, "13/13"),
    ("70 minutes to 5", "", None, "70 minutes to 5"),
    ("half past 13 pm", "", None, "half past 13 pm"),
    ("at 25", "", None, "at 25"),
    ("at 2561", "", None, "at 2561"),
    ("half 13", "", None, "half 13"),
    ("в 12 утра", "Thu 26.03 00:00", None, ""),
    ("в 12 ночи", "Thu 26.03 00:00", None, ""),
    ("12am", "Thu 26.03 00:00", None, ""),
    ("в 0:30", "Thu 26.03 00:30", None, ""),
    ("half 12", "Thu 26.03 12:30", None, ""),
    ("quarter to midnight", "Wed 25.03 23:45", None, ""),
    ("полдвенадцатого ночи", "Wed 25.03 23:30", None, ""),
    ("в 11 ночью", "Wed 25.03 23:00", None, ""),
    ("ночью позвонить", "Wed 25.03 23:00", None, "позвонить"),
    ("tomorrow night", "Thu 26.03 23:00", None, ""),
    ("завтра в 10 утром", "Thu 26.03 10:00", None, ""),
    ("in 3/4 hour", "Wed 25.03 15:05", None, ""),
    ("next week on friday", "Fri 03.04 09:00", None, ""),
]  # fmt: skip


@pytest.mark.parametrize(("text", "reading", "repeat", "title"), TABLE)
def test_phrase(text: str, reading: str, repeat: str | None, title: str):
    result = parse(text, NOW, TZ)
    assert result.title == title
    assert result.repeat == repeat
    if not reading:
        assert (result.when, result.clarify, result.phrase) == (None, None, None)
    elif reading.startswith("?"):
        reason, options = reading[1:].split(": ")
        assert result.clarify is not None
        assert result.clarify.reason == reason
        assert [o.strftime(FMT) for o in result.clarify.options] == [
            o for o in options.split(" | ") if o
        ]
    else:
        assert result.clarify is None
        assert result.when is not None
        assert result.when.astimezone(TZ).strftime(FMT) == reading
