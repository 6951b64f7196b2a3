"""Natural-language times and repeats in Russian and English: "напомни завтра в 9 купить
молоко", "remind me in 2 hours to call mom", "каждый понедельник в 10", "every weekday at
8:30", "by the 1st of every month".

A small grammar of our own, not dateparser: measured, dateparser read "tomorrow at 9" as
12:00 (the hour dropped), gave "в понедельник" 00:00, a pytz offset from the wrong side of a
DST change, nothing for "завтра вечером", and guesses silently where a phrase is ambiguous;
it also costs ~25 MB of RSS. Our rules, which users of reminder bots expect:

- a day without a time is 09:00; "утром"/"morning" 09:00, "днём"/"afternoon" 13:00,
  "вечером"/"tonight"/"evening" 20:00;
- a time without a day that has already passed today is tomorrow;
- hours are read on a 24-hour clock, except a bare 1-7 ("в 7", "at 5") without a zero,
  am/pm, утра/вечера or a part of the day: that is asked about (07:00 or 19:00?), as are a
  weekday that is today ("в пятницу" on a Friday morning), d/m vs m/d dates, a day named
  twice, and an explicit day already past ("сегодня в 9" at 10:00). Nothing is guessed.
- a repeat becomes an RFC 5545 RRULE that carries its own wall time (BYHOUR/BYMINUTE) and
  day (BYDAY/BYMONTHDAY...), so a snooze or the order of events never shifts it.

The title is the text without the time phrase, the "напомни"/"remind me" lead-in and a
leading connective ("to", "that", "что", "чтобы").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from server.services.dates.occurrences import next_occurrence

DEFAULT_HOUR = 9
PART_OF_DAY_HOUR = {"morning": 9, "afternoon": 13, "evening": 20}
AMBIGUOUS_HOURS = range(1, 8)  # a bare "в 7" may be 07:00 or 19:00

Reason = Literal["ambiguous-time", "ambiguous-day", "ambiguous-date", "in-the-past", "conflict"]


@dataclass(frozen=True, slots=True)
class Clarify:
    """The phrase needs the user's decision: `options` are the readings (may be empty)."""

    reason: Reason
    options: tuple[datetime, ...] = ()
    # With a repeat ("every day at 7"): the RRULE each option stands for, in the same order
    # (the rule carries its wall time, so it differs per reading). Empty without a repeat.
    repeats: tuple[str | None, ...] = ()


@dataclass(frozen=True, slots=True)
class Parsed:
    title: str
    when: datetime | None = None  # aware, in the user's zone; the first occurrence of a repeat
    repeat: str | None = None  # RRULE, on the user's wall clock
    phrase: str | None = None  # the words understood as the time, as typed
    clarify: Clarify | None = None  # set instead of `when` when we must ask

    @property
    def has_time(self) -> bool:
        return self.phrase is not None


# ------------------------------------------------------------------------------ vocabulary

NUMBER_WORDS: dict[str, int] = {
    "один": 1, "одну": 1, "одна": 1, "одного": 1, "два": 2, "две": 2, "двух": 2, "три": 3,
    "трех": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9,
    "десять": 10, "пятнадцать": 15, "двадцать": 20, "тридцать": 30, "сорок": 40,
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty": 40,
}  # fmt: skip
NUM = r"(?:\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"

UNIT_PATTERNS: list[tuple[str, str]] = [
    ("minutes", r"минут[уы]?|мин\.?|minutes?|mins?"),
    ("hours", r"час(?:а|ов)?|hours?|hrs?"),
    ("days", r"дн(?:я|ей)|день|сутки|суток|days?"),
    ("weeks", r"недел[юиь]|нед\.?|weeks?"),
    ("months", r"месяц(?:а|ев)?|мес\.?|months?"),
    ("years", r"год(?:а)?|лет|years?"),
]
UNIT = "(?:" + "|".join(p for _, p in UNIT_PATTERNS) + ")"

MONTHS: dict[str, int] = {}
for _month_no, _names in enumerate(
    [
        "января january jan", "февраля february feb", "марта march mar",
        "апреля april apr", "мая may", "июня june jun", "июля july jul",
        "августа august aug", "сентября september sept sep", "октября october oct",
        "ноября november nov", "декабря december dec",
    ],
    start=1,
):  # fmt: skip
    for _name in _names.split():
        MONTHS[_name] = _month_no
MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"

# Weekday forms: (number, regex of the forms that name one day, regex of plural forms).
WEEKDAYS: list[tuple[int, str, str]] = [
    (0, r"понедельник|monday|mon", r"понедельникам|mondays"),
    (1, r"вторник|tuesday|tues?", r"вторникам|tuesdays"),
    (2, r"сред[ауы]|wednesday|wed", r"средам|wednesdays"),
    (3, r"четверг|thursday|thu(?:rs?)?", r"четвергам|thursdays"),
    (4, r"пятниц[ауы]|friday|fri", r"пятницам|fridays"),
    (5, r"суббот[ауы]|saturday|sat", r"субботам|saturdays"),
    (6, r"воскресень[ея]|sunday|sun", r"воскресеньям|sundays"),
]
WEEKDAY = "(?:" + "|".join(one for _, one, _ in WEEKDAYS) + ")"
WEEKDAYS_PLURAL = "(?:" + "|".join(many for _, _, many in WEEKDAYS) + ")"
WEEKDAY_FULL = (  # abbreviations are only safe after "every"/"on"/"next"
    r"(?:понедельник|вторник|сред[ауы]|четверг|пятниц[ауы]|суббот[ауы]|воскресень[ея]|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
)
RRULE_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
ORDINAL = r"(?:-?(?:го|е|ое|ого|st|nd|rd|th))?"


def _number(text: str | None, default: int = 1) -> int:
    if text is None:
        return default
    return int(text) if text.isdigit() else NUMBER_WORDS[text]


def _unit(text: str) -> str:
    for name, pattern in UNIT_PATTERNS:
        if re.fullmatch(pattern, text):
            return name
    raise ValueError(text)


def _weekdays(text: str) -> list[int]:
    found = []
    for word in re.findall(r"[^\W\d_]+", text):
        for number, one, many in WEEKDAYS:
            if re.fullmatch(one, word) or re.fullmatch(many, word):
                found.append(number)
    return sorted(set(found))


# --------------------------------------------------------------------------------- matchers

Data = dict[str, Any]


def _rx(pattern: str) -> re.Pattern[str]:
    # (?<![\w]) and (?![\w]) instead of \b: they also work next to punctuation.
    return re.compile(r"(?<!\w)(?:" + pattern + r")(?!\w)", re.VERBOSE)


def _pick(m: re.Match[str], *names: str) -> str | None:
    """The first of several alternatives' groups that matched."""
    groups = m.groupdict()
    return next((groups[n] for n in names if groups.get(n) is not None), None)


def _repeat_interval(m: re.Match[str]) -> Data | None:
    unit = _unit(_pick(m, "u", "u2", "u3") or "")
    freq = {"hours": "HOURLY", "days": "DAILY", "weeks": "WEEKLY", "months": "MONTHLY",
            "years": "YEARLY"}.get(unit)  # fmt: skip
    if freq is None:  # every N minutes would flood the chat
        return None
    interval = 2 if m.groupdict().get("other") else _number(_pick(m, "n", "n2", "n3"))
    return {"freq": freq, "interval": interval} if 1 <= interval <= 365 else None


def _repeat_word(m: re.Match[str]) -> Data:
    word = m[0]
    for stem, freq in (("час", "HOURLY"), ("hour", "HOURLY"), ("дн", "DAILY"), ("day", "DAILY"),
                       ("daily", "DAILY"), ("недел", "WEEKLY"), ("week", "WEEKLY"),
                       ("месяч", "MONTHLY"), ("month", "MONTHLY"), ("год", "YEARLY"),
                       ("year", "YEARLY"), ("annual", "YEARLY")):  # fmt: skip
        if stem in word:
            return {"freq": freq, "interval": 1}
    raise AssertionError(word)


def _repeat_part_of_day(m: re.Match[str]) -> Data:
    part = "morning" if re.search("утр|morning", m[0]) else "evening"
    return {"freq": "DAILY", "interval": 1, "part": part}


def _repeat_weekdays(m: re.Match[str]) -> Data | None:
    days = _weekdays(_pick(m, "days", "days2", "days3") or "")
    return {"freq": "WEEKLY", "interval": 1, "byday": days} if days else None


def _repeat_monthday(m: re.Match[str]) -> Data | None:
    day = int(_pick(m, "d", "d2", "d3", "d4", "d5", "d6") or 0)
    return {"freq": "MONTHLY", "interval": 1, "bymonthday": day} if 1 <= day <= 31 else None


def _relative(m: re.Match[str]) -> Data | None:
    if _pick(m, "half", "half2"):
        return {"delta": {"minutes": 30}}
    if _pick(m, "sesqui", "sesqui2"):
        return {"delta": {"minutes": 90}}
    delta: dict[str, int] = {}
    for n, u in (("n", "u"), ("n2", "u2")):
        if m[u]:
            unit = _unit(m[u])
            delta[unit] = delta.get(unit, 0) + _number(m[n])
    if not delta or any(not 0 < v <= 1000 for v in delta.values()):
        return None
    return {"delta": delta}


def _day_word(m: re.Match[str]) -> Data:
    word = m[0]
    if "после" in word or "after" in word:
        return {"offset": 2}
    if "завтра" in word or word.startswith("tom") or word.startswith("tm"):
        return {"offset": 1}
    return {"offset": 0, "today": True}


def _date_iso(m: re.Match[str]) -> Data | None:
    return _checked_date(int(m["y"]), int(m["mo"]), int(m["d"]))


def _checked_date(year: int | None, month: int, day: int) -> Data | None:
    try:
        date(year or 2000, month, day)  # 2000: a leap year, so 29.02 without a year is valid
    except ValueError:
        return None
    return {"year": year, "month": month, "day": day}


def _year(text: str | None) -> int | None:
    if text is None:
        return None
    year = int(text)
    return year + 2000 if year < 100 else year


def _date_dotted(m: re.Match[str]) -> Data | None:
    return _checked_date(_year(m["y"]), int(m["mo"]), int(m["d"]))


def _date_slashed(m: re.Match[str]) -> Data | None:
    first, second = int(m["a"]), int(m["b"])
    readings = [
        d for d in (_checked_date(_year(m["y"]), second, first),  # d/m
                    _checked_date(_year(m["y"]), first, second))  # m/d
        if d is not None
    ]  # fmt: skip
    if not readings:
        return None
    if len(readings) == 2 and readings[0] != readings[1]:
        return {"choices": readings}
    return readings[0]


def _date_named(m: re.Match[str]) -> Data | None:
    return _checked_date(_year(m["y"]), MONTHS[m["mon"].rstrip(".")], int(m["d"]))


def _weekday(m: re.Match[str]) -> Data | None:
    days = _weekdays(_pick(m, "wd", "wd2", "wd3", "wd4") or "")
    if len(days) != 1:
        return None
    return {"weekday": days[0], "next": bool(_pick(m, "next", "next2", "next3"))}


def _time(m: re.Match[str]) -> Data | None:
    groups = m.groupdict()
    if groups.get("noon"):
        return {"hour": 12, "minute": 0, "fixed": True}
    hour, minute = int(m["h"]), int(groups.get("m") or 0)
    mer = (groups.get("mer") or "").replace(".", "").replace(" ", "")
    if mer:
        if mer in ("am", "pm") and not 1 <= hour <= 12:
            return None
        if mer in ("pm", "вечера", "дня") and hour < 12:
            hour += 12
        elif (mer == "am" and hour == 12) or (mer == "ночи" and hour == 12):
            hour = 0
        elif mer == "ночи" and 6 <= hour < 12:
            hour += 12  # "в 11 ночи" is 23:00, "в 2 ночи" 02:00
    if hour > 23 or minute > 59:
        return None
    # A bare 1..7 without a marker or a leading zero: morning or evening? Ask.
    fixed = bool(mer) or m["h"].startswith("0") or hour not in AMBIGUOUS_HOURS
    return {"hour": hour, "minute": minute, "fixed": fixed}


def _part_of_day(m: re.Match[str]) -> Data:
    word = m[0]
    today = bool(re.search(r"tonight|this|сегодня", word))
    if re.search(r"утр|morning", word):
        return {"part": "morning", "today": today}
    if re.search(r"дн[её]м|afternoon", word):
        return {"part": "afternoon", "today": today}
    return {"part": "evening", "today": today}


MER = r"(?P<mer>a\.?\s?m\.?|p\.?\s?m\.?|утра|вечера|дня|ночи)"
HOUR_UNIT = r"(?:\s*(?:ч\.?|час(?:а|ов)?|o['’]?clock))?"
# English parts of the day are ordinary words too ("morning run"): bare, they count only
# right after a day ("tomorrow morning", "friday evening").
DAY_BEFORE = re.compile(r"(?:today|tomorrow|tmrw|" + WEEKDAY_FULL + r")\s+$")
# A bare hour counts only right after a day word and at the end of the text ("buy milk
# tomorrow 9", "купить молоко завтра 9"); elsewhere a number is a number ("tomorrow 3 calls").
DAY_WORD_BEFORE = re.compile(
    r"(?:today|tomorrow|tmrw|сегодня|завтра|послезавтра|" + WEEKDAY_FULL + r")\s+$"
)


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str]], Data | None]
    after: re.Pattern[str] | None = None  # what the text just before the match must end with


RULES: list[_Rule] = [
    # ---- repeats
    _Rule("repeat", _rx(
        r"(?:каждое\s+|по\s+)?(?P<d>\d{1,2})" + ORDINAL + r"\s+числ[оа]м?\s+(?:каждого\s+месяца|ежемесячно)"
        r"|(?:каждый\s+месяц|ежемесячно)\s+(?P<d2>\d{1,2})" + ORDINAL + r"(?:\s+числа)?"
        r"|(?:каждое|по)\s+(?P<d3>\d{1,2})" + ORDINAL + r"\s+числ(?:о|ам)"
        r"|(?:by\s+|on\s+)?the\s+(?P<d4>\d{1,2})(?:st|nd|rd|th)?\s+(?:day\s+)?of\s+(?:every|each|the)\s+month"
        r"|(?:every|each)\s+month\s+(?:on|by)\s+the\s+(?P<d5>\d{1,2})(?:st|nd|rd|th)?"
        r"|monthly\s+on\s+the\s+(?P<d6>\d{1,2})(?:st|nd|rd|th)?"
    ), _repeat_monthday),
    _Rule("repeat", _rx(
        r"каждое\s+утро|каждый\s+вечер|по\s+утрам|по\s+вечерам|every\s+(?:morning|evening|night)"
    ), _repeat_part_of_day),
    _Rule("repeat", _rx(
        r"по\s+будним(?:\s+дням)?|по\s+будням|в\s+будни|каждый\s+будний\s+день"
        r"|(?:every|each)\s+weekday|on\s+weekdays|weekdays"
    ), lambda m: {"freq": "WEEKLY", "interval": 1, "byday": [0, 1, 2, 3, 4]}),
    _Rule("repeat", _rx(
        r"по\s+выходным|в\s+выходные|каждые\s+выходные|(?:every|each)\s+weekend|on\s+weekends|weekends"
    ), lambda m: {"freq": "WEEKLY", "interval": 1, "byday": [5, 6]}),
    _Rule("repeat", _rx(
        r"(?:кажд(?:ый|ую|ое)|по)\s+(?P<days>(?:" + WEEKDAY + "|" + WEEKDAYS_PLURAL + r")"
        r"(?:\s*(?:,|и)\s*(?:" + WEEKDAY + "|" + WEEKDAYS_PLURAL + r"))*)"
        r"|(?:every|each)\s+(?P<days2>" + WEEKDAY + r"(?:\s*(?:,|and|&)\s*" + WEEKDAY + r")*)"
        r"|(?:on\s+)?(?P<days3>" + WEEKDAYS_PLURAL + r"(?:\s*(?:,|and|&)\s*" + WEEKDAYS_PLURAL + r")*)"
    ), _repeat_weekdays),
    _Rule("repeat", _rx(
        r"кажд(?:ые|ый|ую|ое)\s+(?:(?P<n>" + NUM + r")\s+)?(?P<u>" + UNIT + r")"
        r"|раз\s+в\s+(?:(?P<n2>" + NUM + r")\s+)?(?P<u2>" + UNIT + r")"
        r"|(?:every|each)\s+(?:(?P<other>other)\s+|(?P<n3>" + NUM + r")\s+)?(?P<u3>" + UNIT + r")"
    ), _repeat_interval),
    _Rule("repeat", _rx(
        r"ежечасно|ежедневно|еженедельно|ежемесячно|ежегодно|hourly|daily|everyday|weekly"
        r"|monthly|yearly|annually"
    ), _repeat_word),
    # ---- relative
    _Rule("relative", _rx(
        r"через\s+(?:(?P<half>полчаса)|(?P<sesqui>полтора\s+часа))"
        r"|in\s+(?:(?P<half2>half\s+an\s+hour)|(?P<sesqui2>an\s+hour\s+and\s+a\s+half))"
        r"|(?:через|in)\s+(?:(?P<n>" + NUM + r")\s*)?(?P<u>" + UNIT + r")"
        r"(?:\s+(?:и\s+|and\s+)?(?P<n2>" + NUM + r")\s*(?P<u2>" + UNIT + r"))?"
    ), _relative),
    # ---- explicit times (before dates: "в 9.30" is a time, "25.12" a date)
    _Rule("time", _rx(
        r"(?:в|во|к|at|@|by)\s*(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*" + MER + "?" + HOUR_UNIT
    ), _time),
    _Rule("time", _rx(r"(?:(?:в|at)\s+)?(?P<noon>полдень|noon|midday)"), _time),
    _Rule("time", _rx(r"(?P<h>\d{1,2}):(?P<m>\d{2})\s*" + MER + "?"), _time),
    _Rule("time", _rx(r"(?P<h>\d{1,2})\s*(?P<mer>a\.?\s?m\.?|p\.?\s?m\.?|утра|вечера|ночи)"), _time),
    _Rule("time", _rx(r"(?P<h>\d{1,2})(?=\s*[.!]?\s*$)"), _time, after=DAY_WORD_BEFORE),
    # ---- dates
    _Rule("date", _rx(r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"), _date_iso),
    _Rule("date", _rx(r"(?P<d>\d{1,2})\.(?P<mo>\d{1,2})(?:\.(?P<y>\d{4}|\d{2}))?"), _date_dotted),
    _Rule("date", _rx(r"(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?"), _date_slashed),
    _Rule("date", _rx(
        r"(?:(?:к|до|by|on)\s+)?(?:the\s+)?(?P<d>\d{1,2})" + ORDINAL + r"\s+(?:of\s+)?(?P<mon>" + MONTH + r")"
        r"(?:,?\s+(?P<y>\d{4})(?:\s*(?:года|г\.?))?)?"
    ), _date_named),
    _Rule("date", _rx(
        r"(?:(?:by|on)\s+)?(?P<mon>" + MONTH + r")\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{4}))?"
    ), _date_named),
    # ---- days
    _Rule("day", _rx(r"послезавтра|(?:the\s+)?day\s+after\s+tomorrow"), _day_word),
    _Rule("part", _rx(
        r"сегодня\s+(?:утром|дн[её]м|вечером)|tonight|this\s+(?:morning|afternoon|evening)"
    ), _part_of_day),
    _Rule("day", _rx(r"завтра|tomorrow|tmrw|tmr|сегодня|today"), _day_word),
    _Rule("weekday", _rx(
        r"(?:в|во|на|до)\s+(?:(?P<next>следующ(?:ий|ую|ее|ая))\s+|эт(?:от|у|о)\s+)?(?P<wd>" + WEEKDAY + ")"
        r"|(?P<next3>следующ(?:ий|ую|ее|ая))\s+(?P<wd3>" + WEEKDAY + ")"
        r"|(?:(?:on|by)\s+|(?P<next2>next)\s+|this\s+)(?P<wd2>" + WEEKDAY + ")"
        r"|(?P<wd4>monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    ), _weekday),
    # ---- parts of the day
    _Rule("part", _rx(
        r"утром|с\s+утра|дн[её]м|вечером|in\s+the\s+(?:morning|afternoon|evening)"
    ), _part_of_day),
    _Rule("part", _rx(r"morning|afternoon|evening"), _part_of_day, after=DAY_BEFORE),
]  # fmt: skip


# ------------------------------------------------------------------------------- the parser

LEAD_IN = re.compile(
    r"^\s*(?:(?:пожалуйста|please)\s*,?\s*)?(?:напомни(?:те)?|напоминай(?:те)?|remind)"
    r"(?:\s+(?:мне|me|us|нам))?\s*,?\s*",
)
CONNECTIVE = re.compile(r"^\s*(?:to|about|that|of|что(?:бы)?|о\s+том,?\s+что(?:бы)?)(?!\w)\s*")
TRAILING = " \t\n,.;:-–—"


@dataclass
class _Found:
    kind: str
    start: int
    end: int
    data: Data = field(default_factory=dict)


def _lower(text: str) -> str:
    # Same length as the input, so match positions index the original text too.
    return "".join(("е" if c == "ё" else low) if len(low := c.lower()) == 1 else c for c in text)


def _scan(text: str) -> list[_Found]:
    lowered = _lower(text)
    work = lowered
    found: list[_Found] = []
    for rule in RULES:
        for m in rule.pattern.finditer(work):
            if not m[0].strip():
                continue
            if rule.after is not None and not rule.after.search(lowered[: m.start()]):
                continue
            data = rule.build(m)
            if data is None:
                continue
            found.append(_Found(rule.kind, m.start(), m.end(), data))
            work = work[: m.start()] + " " * (m.end() - m.start()) + work[m.end() :]
    return sorted(found, key=lambda f: f.start)


def _title(text: str, found: list[_Found]) -> str:
    pieces, cursor = [], 0
    for f in found:
        pieces.append(text[cursor : f.start])
        cursor = f.end
    pieces.append(text[cursor:])
    title = " ".join(p.strip(" \t\n,") for p in pieces if p.strip(" \t\n,"))
    title = LEAD_IN.sub("", title, count=1) if LEAD_IN.match(_lower(title)) else title
    if (m := CONNECTIVE.match(_lower(title))) is not None:
        title = title[m.end() :]
    return re.sub(r"\s+", " ", title).strip(TRAILING)


def parse(text: str, now: datetime, zone: ZoneInfo) -> Parsed:
    """What `text` says about when, at `now` (aware) in the user's `zone`."""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    found = _scan(text)
    # The lead-in ("напомни", "remind me") is removed whether or not a time was found.
    title = _title(text, found)
    if not found:
        return Parsed(title=title)
    phrase = " ".join(text[f.start : f.end].strip() for f in found)
    by_kind: dict[str, list[Data]] = {}
    for f in found:
        by_kind.setdefault(f.kind, []).append(f.data)
    local_now = now.astimezone(zone).replace(second=0, microsecond=0)
    result = _resolve(by_kind, now.astimezone(zone), local_now, zone)
    if isinstance(result, Clarify):
        return Parsed(title=title, phrase=phrase, clarify=result)
    when, repeat = result
    return Parsed(title=title, when=when, repeat=repeat, phrase=phrase)


def _one(by_kind: dict[str, list[Data]], kind: str) -> Data | None:
    items = by_kind.get(kind, [])
    return items[0] if items else None


def _resolve(
    by_kind: dict[str, list[Data]], now: datetime, local_now: datetime, zone: ZoneInfo
) -> tuple[datetime, str | None] | Clarify:
    day_kinds = [k for k in ("relative", "day", "date", "weekday") if k in by_kind]
    if any(len(v) > 1 for v in by_kind.values()) or len(day_kinds) > 1:
        return Clarify("conflict")
    part = _one(by_kind, "part")
    clock = _one(by_kind, "time")
    repeat = _one(by_kind, "repeat")
    if repeat is not None and "part" in repeat:
        if part is not None:
            return Clarify("conflict")
        part = {"part": repeat["part"], "today": False}
    relative = _one(by_kind, "relative")
    if relative is not None and set(relative["delta"]) & {"minutes", "hours"}:
        if clock or part or repeat:
            return Clarify("conflict")
        # Elapsed time, so added in UTC (aware arithmetic in one zone is wall-clock time).
        elapsed = now.astimezone(UTC) + timedelta(**relative["delta"])
        when = elapsed.astimezone(zone).replace(second=0, microsecond=0)
        return when, None

    hours = _hour_readings(clock, part)
    readings: list[tuple[datetime, str | None] | Clarify]
    if repeat is not None:
        readings = [_first_of_repeat(repeat, h, by_kind, local_now, zone) for h in hours]
    else:
        readings = [*(_one_off(h, by_kind, part, local_now, zone) for h in hours)]
    chosen: dict[datetime, str | None] = {}  # each reading, with the repeat it stands for
    for reading in readings:
        if isinstance(reading, Clarify):
            if len(readings) == 1:
                return reading
            chosen.update(dict.fromkeys(reading.options))
        else:
            chosen[reading[0]] = reading[1]
    if len(readings) > 1:
        options = tuple(sorted(chosen))
        repeats = tuple(chosen[o] for o in options) if repeat is not None else ()
        return Clarify("ambiguous-time", options, repeats)
    assert not isinstance(readings[0], Clarify)
    return readings[0]


def _hour_readings(clock: Data | None, part: Data | None) -> list[tuple[int, int, bool]]:
    """(hour, minute, given) readings of the time of day."""
    if clock is None:
        if part is None:
            return [(DEFAULT_HOUR, 0, False)]
        return [(PART_OF_DAY_HOUR[part["part"]], 0, True)]
    hour, minute = clock["hour"], clock["minute"]
    if part is not None:
        if part["part"] in ("afternoon", "evening") and hour < 12:
            hour += 12
        return [(hour, minute, True)]
    if clock["fixed"]:
        return [(hour, minute, True)]
    return [(hour, minute, True), (hour + 12, minute, True)]


def _at(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    # fold=0: in a spring-forward gap this is the instant after the gap (RFC 5545 §3.3.5).
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def _normal(instant: datetime, zone: ZoneInfo) -> datetime:
    """A wall time that fell into a gap, as the wall clock will actually show it."""
    return instant.astimezone(UTC).astimezone(zone)


def _one_off(
    hm: tuple[int, int, bool],
    by_kind: dict[str, list[Data]],
    part: Data | None,
    local_now: datetime,
    zone: ZoneInfo,
) -> tuple[datetime, None] | Clarify:
    hour, minute, _ = hm
    today = local_now.date()
    relative, day, dated, weekday = (
        _one(by_kind, k) for k in ("relative", "day", "date", "weekday")
    )

    def at(d: date) -> datetime:
        return _normal(_at(d, hour, minute, zone), zone)

    if relative is not None:  # days, weeks, months, years from today
        delta = relative["delta"]
        target = today + relativedelta(
            days=delta.get("days", 0), weeks=delta.get("weeks", 0),
            months=delta.get("months", 0), years=delta.get("years", 0),
        )  # fmt: skip
        return at(target), None
    if day is not None or (part is not None and part.get("today")):
        offset = day["offset"] if day is not None else 0
        if part is not None and part.get("today") and offset != 0:
            return Clarify("conflict")
        instant = at(today + timedelta(days=offset))
        if instant <= local_now:
            return Clarify("in-the-past", (at(today + timedelta(days=offset + 1)),))
        return instant, None
    if dated is not None:
        if "choices" in dated:
            options = [
                r
                for c in dated["choices"]
                if not isinstance(r := _dated(c, at, local_now), Clarify)
            ]
            return Clarify("ambiguous-date", tuple(sorted(o for o, _ in options)))
        return _dated(dated, at, local_now)
    if weekday is not None:
        ahead = (weekday["weekday"] - today.weekday()) % 7
        if ahead == 0:
            instant = at(today)
            if weekday["next"] or instant <= local_now:
                return at(today + timedelta(days=7)), None
            return Clarify("ambiguous-day", (instant, at(today + timedelta(days=7))))
        return at(today + timedelta(days=ahead)), None
    instant = at(today)  # no day: today, or tomorrow when that time has passed
    if instant <= local_now:
        instant = at(today + timedelta(days=1))
    return instant, None


def _dated(
    dated: Data, at: Callable[[date], datetime], local_now: datetime
) -> tuple[datetime, None] | Clarify:
    today = local_now.date()
    if dated["year"] is not None:
        instant = at(date(dated["year"], dated["month"], dated["day"]))
        return Clarify("in-the-past") if instant <= local_now else (instant, None)
    year = today.year
    while True:
        try:
            target = date(year, dated["month"], dated["day"])
        except ValueError:  # 29 February in a common year
            year += 1
            continue
        if target < today:
            year += 1
            continue
        instant = at(target)
        if instant <= local_now:  # today, but that time has passed
            return Clarify("in-the-past", (at(date(year + 1, dated["month"], dated["day"])),)
                           if (dated["month"], dated["day"]) != (2, 29) else ())  # fmt: skip
        return instant, None


def _first_of_repeat(
    repeat: Data,
    hm: tuple[int, int, bool],
    by_kind: dict[str, list[Data]],
    local_now: datetime,
    zone: ZoneInfo,
) -> tuple[datetime, str] | Clarify:
    """The RRULE (with its own wall time and day) and its first occurrence after now (or
    from the day given with it: "каждый понедельник с 5 марта")."""
    hour, minute, _ = hm
    freq, interval = repeat["freq"], repeat["interval"]
    start = local_now
    if any(k in by_kind for k in ("relative", "day", "date", "weekday")):
        first = _one_off(hm, by_kind, None, local_now, zone)
        if isinstance(first, Clarify):
            # Its options are one-off times: choosing one would drop the repeat, so the user
            # is asked to say it again instead.
            return Clarify(first.reason)
        start = first[0].replace(hour=0, minute=0)
    parts = [f"FREQ={freq}"]
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    if freq == "HOURLY":
        parts.append(f"BYMINUTE={local_now.minute}")
        rule = ";".join(parts)
        when = next_occurrence(rule, local_now, local_now, zone)
        assert when is not None
        return when.astimezone(zone), rule
    # The first day on or after `start` at that wall time that satisfies the day parts.
    first_day = start.date()
    if _normal(_at(first_day, hour, minute, zone), zone) <= local_now:
        first_day += timedelta(days=1)
    if "byday" in repeat:
        parts.append("BYDAY=" + ",".join(RRULE_DAYS[d] for d in repeat["byday"]))
    elif "bymonthday" in repeat:
        parts.append(f"BYMONTHDAY={repeat['bymonthday']}")
    elif freq == "WEEKLY":
        parts.append(f"BYDAY={RRULE_DAYS[first_day.weekday()]}")
    elif freq == "MONTHLY":
        parts.append(f"BYMONTHDAY={first_day.day}")
    elif freq == "YEARLY":
        parts.append(f"BYMONTH={first_day.month};BYMONTHDAY={first_day.day}")
    parts.append(f"BYHOUR={hour};BYMINUTE={minute}")
    rule = ";".join(parts)
    # Anchored at the first day's midnight: with INTERVAL the phase starts there.
    anchor = _at(first_day, 0, 0, zone)
    when = next_occurrence(rule, anchor, max(anchor, local_now) - timedelta(seconds=1), zone)
    if when is None:
        return Clarify("conflict")
    when = when.astimezone(zone)
    if when <= local_now:  # cannot happen, but never answer with a past time
        return Clarify("in-the-past")
    return when, rule
