"""Times, repeats and time zones as people say them, in English and Russian: one formatter
for the bot, the REST API (`when_text`, `repeat_text` in the task JSON) and so the Mini App.

- a time: "today 10 AM" / "сегодня 10:00", "tomorrow 9 AM" / "завтра 09:00", "yesterday …",
  else the weekday and date: "Wed, Dec 9, 6:30 PM" / "ср, 9 дек., 18:30" (the year only when
  it is not this year). English reads a 12-hour clock, Russian a 24-hour one.
- a repeat (an RRULE as the tasks service stores it): "every 2 hours" / "каждые 2 часа",
  "every weekday at 8 AM" / "по будням в 08:00"; never the raw rule.
- a time zone: the city in the user's language with its offset, "Москва (UTC+3)"; a zone
  with no city reads as its offset alone ("UTC", "UTC+3").

Dates, month and weekday names and plural rules come from CLDR through Babel (installed with
the bot's translations tooling); the few phrases CLDR has no pattern for are tables below.
Pure functions, no I/O: a task costs ~20 us to describe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, get_timezone, get_timezone_location

Lang = Literal["en", "ru"]
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def lang_of(code: str | None) -> Lang:
    return "ru" if code and code.lower().startswith("ru") else "en"


@cache
def _locale(lang: Lang) -> Locale:
    return Locale.parse(lang)


# --- Clock and dates ---------------------------------------------------------------------


def clock_text(hour: int, minute: int, lang: Lang) -> str:
    """ "9 AM", "6:30 PM" in English; "09:00", "18:30" in Russian."""
    if lang == "ru":
        return f"{hour:02d}:{minute:02d}"
    suffix = "AM" if hour < 12 else "PM"
    h12 = hour % 12 or 12
    return f"{h12} {suffix}" if minute == 0 else f"{h12}:{minute:02d} {suffix}"


def date_text(day: date, today: date, lang: Lang) -> str:
    """ "Wed, Dec 9" / "ср, 9 дек."; with the year when it is not this year's."""
    if lang == "ru":
        pattern = "EEE, d MMM" if day.year == today.year else "EEE, d MMM y"
    else:
        pattern = "EEE, MMM d" if day.year == today.year else "EEE, MMM d, y"
    return format_date(day, pattern, locale=_locale(lang))


_RELATIVE = {
    "en": {0: "today", 1: "tomorrow", -1: "yesterday"},
    "ru": {0: "сегодня", 1: "завтра", -1: "вчера"},
}


def when_text(instant: datetime, now: datetime, zone: ZoneInfo, lang: Lang) -> str:
    """A moment on the user's clock, relative to `now`: "today 10 AM", "завтра 09:00",
    "Wed, Dec 9, 6:30 PM". Lower case (it sits inside sentences); see `capital`."""
    local = instant.astimezone(zone)
    today = now.astimezone(zone).date()
    clock = clock_text(local.hour, local.minute, lang)
    relative = _RELATIVE[lang].get((local.date() - today).days)
    if relative is not None:
        return f"{relative} {clock}"
    return f"{date_text(local.date(), today, lang)}, {clock}"


def day_text(day: date, today: date, lang: Lang) -> str:
    """A day without a time: "today", "завтра", "ср, 9 дек."."""
    return _RELATIVE[lang].get((day - today).days) or date_text(day, today, lang)


def capital(text: str) -> str:
    """The first letter up, for the start of a line: "Today 10 AM"."""
    return text[:1].upper() + text[1:]


# --- Repeats -------------------------------------------------------------------------------

# Russian: every one, then CLDR's plural forms one (21), few (2), many (5) of "every N <unit>";
# English: (one, other).
_UNITS_RU = {
    "HOURLY": ("каждый час", "каждый {n} час", "каждые {n} часа", "каждые {n} часов"),
    "DAILY": ("каждый день", "каждый {n} день", "каждые {n} дня", "каждые {n} дней"),
    "WEEKLY": ("каждую неделю", "каждую {n} неделю", "каждые {n} недели", "каждые {n} недель"),
    "MONTHLY": ("каждый месяц", "каждый {n} месяц", "каждые {n} месяца", "каждые {n} месяцев"),
    "YEARLY": ("каждый год", "каждый {n} год", "каждые {n} года", "каждые {n} лет"),
}
_UNITS_EN = {
    "HOURLY": ("every hour", "every {n} hours"),
    "DAILY": ("every day", "every {n} days"),
    "WEEKLY": ("every week", "every {n} weeks"),
    "MONTHLY": ("every month", "every {n} months"),
    "YEARLY": ("every year", "every {n} years"),
}
_WORDS: dict[str, dict[str, Any]] = {
    "en": {"weekdays": "every weekday", "weekend": "every weekend", "days": "every {days}",
           "on_days": "on {days}", "and": " and ", "at": "at {time}", "on_day": "on the {day}",
           "last_day": "last day", "on_date": "on {date}", "times": ("{n} time", "{n} times"),
           "until": "until {date}"},
    "ru": {"weekdays": "по будням", "weekend": "по выходным", "days": "по {days}",
           "on_days": "по {days}", "and": " и ", "at": "в {time}", "on_day": "{day} числа",
           "last_day": "последнего", "on_date": "{date}", "times": ("{n} раз", "{n} раза"),
           "until": "до {date}"},
}  # fmt: skip
# "on the first Monday" / "в первый понедельник": Russian says the ordinal and the day in the
# accusative, whose form follows the day's gender (среду, пятницу, субботу are feminine).
_NTH_EN = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}
_NTH_RU = {1: "первый", 2: "второй", 3: "третий", 4: "четвёртый", 5: "пятый", -1: "последний"}
_NTH_RU_F = {1: "первую", 2: "вторую", 3: "третью", 4: "четвёртую", 5: "пятую", -1: "последнюю"}
_DAY_ACCUSATIVE_RU = ("понедельник", "вторник", "среду", "четверг", "пятницу", "субботу",
                      "воскресенье")  # fmt: skip
_FEMININE = {2, 4, 5}
_BYDAY = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")


def _every(freq: str, n: int, lang: Lang) -> str:
    if lang == "ru":
        every, one, few, many = _UNITS_RU[freq]
        if n == 1:
            return every
        form = _locale("ru").plural_form(n)
        return {"one": one, "few": few}.get(form, many).format(n=n)
    one, other = _UNITS_EN[freq]
    return one if n == 1 else other.format(n=n)


def _ordinal_en(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _ints(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        return [int(v) for v in value.split(",")]
    except ValueError:
        return None


def _days(value: str) -> tuple[list[int], list[tuple[int, int]]]:
    """BYDAY as plain weekdays (0 = Monday) and (nth, weekday) pairs; unknown tokens dropped."""
    plain: list[int] = []
    nth: list[tuple[int, int]] = []
    for token in value.split(","):
        if (m := _BYDAY.fullmatch(token)) is None:
            continue
        day = _WEEKDAYS.index(m.group(2))
        if m.group(1) is None:
            plain.append(day)
        elif int(m.group(1)) in _NTH_EN:
            nth.append((int(m.group(1)), day))
    return sorted(set(plain)), nth


def _nth_text(nth: list[tuple[int, int]], lang: Lang) -> str:
    if lang == "ru":
        said = [
            f"{'во' if n == 2 else 'в'} {(_NTH_RU_F if d in _FEMININE else _NTH_RU)[n]} "
            f"{_DAY_ACCUSATIVE_RU[d]}"
            for n, d in nth
        ]
        return " и ".join(said)
    names = _locale("en").days["format"]["wide"]
    return " and ".join(f"on the {_NTH_EN[n]} {names[d]}" for n, d in nth)


def _month_days_text(month_days: list[int], lang: Lang) -> str:
    """ "on the 4th and 10th", "4-го и 10-го числа"; the last day (-1) said as such."""
    words = _WORDS[lang]
    if month_days == [-1]:
        return "в последний день" if lang == "ru" else "on the last day"
    said = [
        words["last_day"] if d == -1 else (_ordinal_en(d) if lang == "en" else f"{d}-го")
        for d in month_days
    ]
    return str(words["on_day"].format(day=words["and"].join(said)))


def _until_text(value: str, zone: ZoneInfo, lang: Lang) -> str | None:
    """UNTIL is a UTC instant (the parser writes the end of the user's last day): read back as
    that day on the user's calendar."""
    try:
        if "T" in value:
            until = datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            day = until.astimezone(zone).date()
        else:
            day = datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None
    pattern = "d MMMM y" if lang == "ru" else "MMM d, y"
    return str(_WORDS[lang]["until"].format(date=format_date(day, pattern, locale=_locale(lang))))


def repeat_text(
    rule: str | None, lang: Lang, today: date | None = None, zone: ZoneInfo | None = None
) -> str | None:
    """An RRULE in words, every form the parser makes: "every 2 hours", "каждые 2 часа",
    "every weekday at 8 AM", "по пн, ср в 09:00", "every month on the first Monday",
    "каждый месяц в последний день", "every year on September 1, 5 times",
    "каждый день в 09:00, до 20 апреля 2026" (UNTIL read on `zone`'s calendar, UTC without
    one). None for no rule. Parts it cannot put in words are left out: the rule itself is
    never shown to a person. An HOURLY rule's BYMINUTE is the minute it started on, not
    something the user said, so it is not read out."""
    if not rule:
        return None
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    freq = parts.get("FREQ", "")
    if freq not in _UNITS_EN:
        return _every("DAILY", 1, lang) if freq else None
    words = _WORDS[lang]
    try:
        interval = max(1, int(parts.get("INTERVAL", "1")))
    except ValueError:
        interval = 1
    plain, nth = _days(parts.get("BYDAY", ""))
    months = [m for m in _ints(parts.get("BYMONTH")) or [] if 1 <= m <= 12]
    month_days = [d for d in _ints(parts.get("BYMONTHDAY")) or [] if d == -1 or 1 <= d <= 31]
    month_names = _locale(lang).months["format"]["wide"]
    phrase = _every(freq, interval, lang)
    if freq in ("WEEKLY", "DAILY") and plain:
        names = _locale(lang).days["format"]["abbreviated"]
        listed = ", ".join(names[d] for d in plain)
        if interval > 1:
            phrase += " " + words["on_days"].format(days=listed)
        elif plain == [0, 1, 2, 3, 4]:
            phrase = words["weekdays"]
        elif plain == [5, 6]:
            phrase = words["weekend"]
        elif len(plain) == 7:
            phrase = _every("DAILY", 1, lang)
        else:
            phrase = words["days"].format(days=listed)
    elif freq in ("MONTHLY", "YEARLY") and nth:
        phrase += " " + _nth_text(nth, lang)
        if freq == "YEARLY" and months:
            month = month_names[months[0]]
            phrase += f" {month}" if lang == "ru" else f" of {month}"
    elif freq == "MONTHLY" and month_days:
        phrase += " " + _month_days_text(month_days, lang)
    elif freq == "YEARLY" and months and month_days:
        listed = words["and"].join(str(d) for d in month_days if d > 0)
        month = month_names[months[0]]
        on = f"{listed} {month}" if lang == "ru" else f"{month} {listed}"
        phrase += " " + words["on_date"].format(date=on)
    hours, minutes = _ints(parts.get("BYHOUR")), _ints(parts.get("BYMINUTE"))
    if freq != "HOURLY" and hours and len(hours) == 1 and 0 <= hours[0] <= 23:
        minute = minutes[0] if minutes and 0 <= minutes[0] <= 59 else 0
        phrase += " " + words["at"].format(time=clock_text(hours[0], minute, lang))
    if (count := _ints(parts.get("COUNT"))) and count[0] > 0:
        n = count[0]
        one, other = words["times"]
        plural = _locale(lang).plural_form(n) == ("few" if lang == "ru" else "other")
        phrase += ", " + (other if plural else one).format(n=n)
    if "UNTIL" in parts and (until := _until_text(parts["UNTIL"], zone or ZoneInfo("UTC"), lang)):
        phrase += ", " + until
    return phrase


# --- Time zones ----------------------------------------------------------------------------


def offset_text(zone: ZoneInfo, now: datetime) -> str:
    """ "UTC+3", "UTC-3:30", "UTC" for the zone's offset at `now`."""
    offset = now.astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")


@cache
def city_name(zone: str, lang: Lang) -> str | None:
    """The zone's city in the language (CLDR): "Москва", "São Paulo"; None for zones that
    are only an offset (UTC, Etc/GMT-3)."""
    if zone == "UTC" or zone.startswith("Etc/"):
        return None
    try:
        name = get_timezone_location(get_timezone(zone), locale=lang, return_city=True)
    except (LookupError, ValueError):
        return None
    return str(name) if name else None


def zone_text(zone: str, lang: Lang, now: datetime | None = None) -> str:
    """ "Москва (UTC+3)", "Tokyo (UTC+9)"; a zone without a city: its offset alone."""
    offset = offset_text(ZoneInfo(zone), now or datetime.now(UTC))
    name = city_name(zone, lang)
    return f"{name} ({offset})" if name else offset


# --- A task --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Humanizer:
    """The texts of tasks for one reader: their language, time zone and `now`."""

    lang: Lang
    zone: ZoneInfo
    now: datetime

    @classmethod
    def for_user(cls, language: str | None, timezone: str | None, now: datetime) -> Humanizer:
        try:
            zone = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
        except (ValueError, KeyError):
            zone = ZoneInfo("UTC")
        return cls(lang_of(language), zone, now)

    def when(self, instant: datetime | None) -> str | None:
        return None if instant is None else when_text(instant, self.now, self.zone, self.lang)

    def repeat(self, rule: str | None) -> str | None:
        return repeat_text(rule, self.lang, zone=self.zone)

    def task_when(self, remind_at: datetime | None, due: datetime | None) -> str | None:
        """The one time a task is shown with: its reminder, else its due time."""
        return self.when(remind_at if remind_at is not None else due)

    def due_apart(self, remind_at: datetime | None, due: datetime | None) -> str | None:
        """The due time in words when it is not the time `task_when` shows (a reminder set
        before the deadline: "remind today 10 AM, due Fri 5 PM"); None when it is the same
        instant or there is no reminder, so a row never says one time twice."""
        if remind_at is None or due is None or remind_at == due:
            return None
        return self.when(due)

    def overdue(self, remind_at: datetime | None, due: datetime | None, done: bool) -> bool:
        """An open task whose time (the one `task_when` shows) has passed: shown in red."""
        at = remind_at if remind_at is not None else due
        return not done and at is not None and at < self.now


def warm() -> None:
    """Load what the first formatting would (CLDR data of both languages: ~70 ms; the zone
    names people type): blocking, so the app runs it in a thread at start, and no update or
    request pays it on the event loop."""
    from server.services.dates.zones import COMMON_ZONES, resolve

    now = datetime.now(UTC)
    for lang in ("en", "ru"):
        when_text(now, now, ZoneInfo("UTC"), lang)
        date_text(now.date(), date(2000, 1, 1), lang)
        repeat_text("FREQ=WEEKLY;BYDAY=MO", lang)
        for zone in COMMON_ZONES[lang]:
            zone_text(zone, lang, now)
        resolve("-", now, lang)
