"""A repeat rule (the RRULEs the parser makes) in words, in Russian or English: "каждый месяц в
первый понедельник в 09:00, 5 раз", "every 2 weeks on Mon, Fri at 19:00, until 20 Apr 2026".
A rule with parts this does not know (BYSETPOS, BYWEEKNO...) is returned as it is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

Lang = Literal["ru", "en"]

KNOWN = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYHOUR", "BYMINUTE", "COUNT",
         "UNTIL", "WKST"}  # fmt: skip
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
DAY_NAMES = {
    "ru": ["пн", "вт", "ср", "чт", "пт", "сб", "вс"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}
# "в первый понедельник": the accusative, by the day's gender.
DAY_ACCUSATIVE = ["понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье"]
DAY_FULL_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS_GENITIVE = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                   "сентября", "октября", "ноября", "декабря"]  # fmt: skip
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]  # fmt: skip
ORDINAL_RU = {1: "первый", 2: "второй", 3: "третий", 4: "четвёртый", 5: "пятый", -1: "последний"}
ORDINAL_RU_F = {1: "первую", 2: "вторую", 3: "третью", 4: "четвёртую", 5: "пятую", -1: "последнюю"}
ORDINAL_EN = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}
FEMININE = {2, 4, 5}  # среду, пятницу, субботу
UNITS = {
    "HOURLY": (("час", "часа", "часов"), "hour"),
    "DAILY": (("день", "дня", "дней"), "day"),
    "WEEKLY": (("неделю", "недели", "недель"), "week"),
    "MONTHLY": (("месяц", "месяца", "месяцев"), "month"),
    "YEARLY": (("год", "года", "лет"), "year"),
}


def _plural(n: int, forms: tuple[str, str, str]) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def _ordinal_en(n: int) -> str:
    if n == -1:
        return "last day"
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _split_day(token: str) -> tuple[int | None, int] | None:
    code = token[-2:]
    if code not in DAYS:
        return None
    number = token[:-2].lstrip("+")
    if number and not number.lstrip("-").isdigit():
        return None
    return (int(number) if number else None), DAYS.index(code)


def describe(rule: str, lang: Lang, zone: ZoneInfo | None = None) -> str:
    """The rule in words; the rule itself when it has parts this does not describe."""
    try:
        parts = dict(p.split("=", 1) for p in rule.split(";") if p)
    except ValueError:
        return rule
    freq = parts.get("FREQ", "")
    if set(parts) - KNOWN or freq not in UNITS:
        return rule
    try:
        return _describe(parts, freq, lang, zone or ZoneInfo("UTC"))
    except (ValueError, IndexError, KeyError):
        return rule


def _describe(parts: dict[str, str], freq: str, lang: Lang, zone: ZoneInfo) -> str:
    ru = lang == "ru"
    interval = int(parts.get("INTERVAL", "1"))
    forms, unit_en = UNITS[freq]
    split = [_split_day(t) for t in parts.get("BYDAY", "").split(",") if t]
    days = [d for d in split if d is not None]
    if len(days) != len(split):
        raise ValueError(parts["BYDAY"])  # a day this does not know: the rule as it is
    month_days = [int(d) for d in parts.get("BYMONTHDAY", "").split(",") if d]
    month = int(parts["BYMONTH"]) if "BYMONTH" in parts else None
    plain = sorted(d for n, d in days if n is None)
    nth = [(n, d) for n, d in days if n is not None]

    # How often.
    if freq == "WEEKLY" and plain == [0, 1, 2, 3, 4] and interval == 1:
        text, plain = ("по будням" if ru else "every weekday"), []
    elif freq == "WEEKLY" and plain == [5, 6] and interval == 1:
        text, plain = ("по выходным" if ru else "every weekend"), []
    elif interval == 1:
        every_ru = {"WEEKLY": "каждую", "MONTHLY": "каждый", "YEARLY": "каждый"}.get(freq, "каждый")
        text = f"{every_ru} {forms[0]}" if ru else f"every {unit_en}"
    else:
        every_ru = "каждый" if interval % 10 == 1 and interval % 100 != 11 else "каждые"
        text = (
            f"{every_ru} {interval} {_plural(interval, forms)}"
            if ru
            else f"every {interval} {unit_en}s"
        )
    # On which days.
    if plain:
        names = ", ".join(DAY_NAMES[lang][d] for d in plain)
        text += f": {names}" if ru else f" on {names}"
    if nth:
        if ru:
            said = [
                f"{'во' if n == 2 else 'в'} {(ORDINAL_RU_F if d in FEMININE else ORDINAL_RU)[n]} "
                f"{DAY_ACCUSATIVE[d]}"
                for n, d in nth
            ]
        else:
            said = [f"on the {ORDINAL_EN[n]} {DAY_FULL_EN[d]}" for n, d in nth]
        text += " " + (" и " if ru else " and ").join(said)
        if month is not None:
            text += f" {MONTHS_GENITIVE[month - 1]}" if ru else f" of {MONTHS_EN[month - 1]}"
    elif month_days:
        if month is not None:
            listed = (" и " if ru else " and ").join(str(d) for d in month_days)
            text += (
                f" {listed} {MONTHS_GENITIVE[month - 1]}"
                if ru
                else f" on {MONTHS_EN[month - 1]} {listed}"
            )
        elif month_days == [-1]:
            text += " в последний день" if ru else " on the last day"
        else:
            listed_ru = " и ".join(f"{d}-го" for d in month_days)
            listed_en = " and ".join(_ordinal_en(d) for d in month_days)
            text += f" {listed_ru} числа" if ru else f" on the {listed_en}"
    # At what time.
    if "BYHOUR" in parts:
        hm = f"{int(parts['BYHOUR']):02d}:{int(parts.get('BYMINUTE', '0')):02d}"
        text += f" в {hm}" if ru else f" at {hm}"
    elif freq == "HOURLY" and "BYMINUTE" in parts:
        text += f" в :{int(parts['BYMINUTE']):02d}" if ru else f" at :{int(parts['BYMINUTE']):02d}"
    # Until when.
    if "COUNT" in parts:
        count = int(parts["COUNT"])
        text += f", {count} {_plural(count, ('раз', 'раза', 'раз'))}" if ru else f", {count} times"
    if "UNTIL" in parts:
        until = datetime.strptime(parts["UNTIL"].rstrip("Z"), "%Y%m%dT%H%M%S")
        local = until.replace(tzinfo=UTC).astimezone(zone)
        if ru:
            text += f", до {local.day} {MONTHS_GENITIVE[local.month - 1]} {local.year}"
        else:
            text += f", until {local.day} {MONTHS_EN[local.month - 1][:3]} {local.year}"
    return text
