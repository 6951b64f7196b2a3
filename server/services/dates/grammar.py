"""The rules of the date grammar: regular expressions over the normalised text (see
`normalize.py`: lower case, digits for number words, full day names) and what each match
means. `parse.py` scans with them and resolves what was found into a reading.

Each rule has a kind:
- repeat   a piece of a repeat (how often, which weekdays, which days of the month, ...);
           several pieces merge into one RRULE ("every 3 weeks" + "on mondays");
- count    "5 раз", "twice", "for 3x" (COUNT);
- until    "до", "until" before a day (UNTIL with a repeat; the day itself without one);
- during   "for 2 weeks", "в течение месяца" (UNTIL);
- start    "starting", "начиная с" before a day (the repeat's first day);
- relative "через 2 часа", "in a week", "2 hours from now";
- day      "завтра", "tomorrow", "послезавтра";
- date     "15 фев", "april first", "2015-03-03", "last day of october", "2nd fri in feb";
- dom      a day of the month alone: "the 15th", "20-го";
- weekday  "в пятницу", "next tuesday", "friday after next";
- time     a clock time; part: a part of the day ("вечером", "tomorrow morning");
- invalid  something shaped like a date or time that is not one ("9 марта в 28:00",
           "0000-01-01"): the message is then not understood rather than half-read;
- except   "except", "кроме": not supported, so not understood rather than ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

Data = dict[str, Any]

# A year outside [1000, now + 1000] is not a date; nor is one past 9000, whose instants near
# the end of datetime's range (9999) overflow on the way to UTC in some zones.
MIN_YEAR, MAX_YEAR_AHEAD, MAX_YEAR = 1000, 1000, 9000

# ------------------------------------------------------------------------------ vocabulary

UNIT_PATTERNS: list[tuple[str, str]] = [
    ("minutes", r"минут[уы]?|мин\.?|minutes?|mins?|m(?=\s*$)|'"),
    ("hours", r"часа|часов|час|hours?|hrs?|hr|h|ч"),
    ("days", r"дн(?:я|ей)|день|сутки|суток|days?|(?<=\d)d"),
    ("fortnights", r"fortnights?"),
    ("weeks", r"недел[юиь]|недели|нед\.?|weeks?|(?<=\d)w"),
    ("months", r"месяц(?:а|ев)?|мес\.?|months?|(?<=\d)mo|(?<=\d\s)mon"),
    ("years", r"год(?:а)?|лет|years?"),
]
UNIT = "(?:" + "|".join(p for _, p in UNIT_PATTERNS) + ")"

MONTHS: dict[str, int] = {}
for _month_no, _names in enumerate(
    [
        "января январь январе january jan янв", "февраля февраль феврале february feb фев",
        "марта март марте march mar мар", "апреля апрель апреле april apr апр",
        "мая май мае may", "июня июнь июне june jun июн", "июля июль июле july jul июл",
        "августа август августе august aug авг",
        "сентября сентябрь сентябре september sept sep сен сент",
        "октября октябрь октябре october oct окт", "ноября ноябрь ноябре november nov ноя нояб",
        "декабря декабрь декабре december dec дек",
    ],
    start=1,
):  # fmt: skip
    for _name in _names.split():
        MONTHS[_name] = _month_no
# "may" and "march" are words too: they count as months only next to a day number.
MONTH_ABBREVIATIONS = frozenset(
    [
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "янв",
        "фев",
        "мар",
        "апр",
        "июн",
        "июл",
        "авг",
        "сен",
        "сент",
        "окт",
        "ноя",
        "нояб",
        "дек",
    ]
)
# A dot after an abbreviation is part of it ("1 мар."); after a full name it ends a sentence.
MONTH = (
    "(?:"
    + "|".join(sorted((m for m in MONTHS if m not in MONTH_ABBREVIATIONS), key=len, reverse=True))
    + "|(?:"
    + "|".join(sorted(MONTH_ABBREVIATIONS, key=len, reverse=True))
    + r")\.?)"
)
MONTH_ALONE = (
    "(?:"
    + "|".join(
        sorted(
            (
                m
                for m in MONTHS
                if m
                not in (
                    "may",
                    "march",
                    "mar",
                    "jan",
                    "jun",
                    "jul",
                    "dec",
                    "oct",
                    "nov",
                    "sep",
                    "aug",
                    "apr",
                    "feb",
                    "sept",
                )
            ),
            key=len,
            reverse=True,
        )
    )
    + ")"
)

# Weekdays: (number, the forms naming one day, the plural forms "on mondays").
WEEKDAYS: list[tuple[int, str, str]] = [
    (0, r"понедельник[аеу]?|monday", r"понедельникам|mondays"),
    (1, r"вторник[аеу]?|tuesday", r"вторникам|tuesdays"),
    (2, r"сред[аыуе]|wednesday", r"средам|wednesdays"),
    (3, r"четверг[аеу]?|thursday", r"четвергам|thursdays"),
    (4, r"пятниц[аыуе]|friday", r"пятницам|fridays"),
    (5, r"суббот[аыуе]|saturday", r"субботам|saturdays"),
    (6, r"воскресень[еяю]|sunday", r"воскресеньям|sundays"),
]
WEEKDAY = "(?:" + "|".join(one for _, one, _ in WEEKDAYS) + ")"
WEEKDAYS_PLURAL = "(?:" + "|".join(many for _, _, many in WEEKDAYS) + ")"
ANY_WEEKDAY = "(?:" + WEEKDAYS_PLURAL + "|" + WEEKDAY + ")"
RRULE_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
AND = r"\s*(?:,|and|&|и|а\s+также)\s*"
ORDINAL = r"(?:-?(?:го|е|ое|ого|й|ый|ю|я|st|nd|rd|th))?"
NTH = r"(?:\d(?:st|nd|rd|th|-[йюяеог]+)|last|последн\w+)"
DAYNUM = r"(?:[12]\d|3[01]|0?[1-9])"
MER = (
    r"(?P<mer>a\.?\s?m\b\.?|p\.?\s?m\b\.?|утра|вечера|дня|ночи|in\s+the\s+(?:am|pm)"
    r"|(?<=\d)[ap](?!\w)|at\s+night)"
)


def weekdays_in(text: str) -> list[int]:
    found: list[int] = []
    for word in re.findall(r"[^\W\d_]+", text):
        for number, one, many in WEEKDAYS:
            if re.fullmatch(one, word) or re.fullmatch(many, word):
                found.append(number)
    return found


def _rx(pattern: str) -> re.Pattern[str]:
    # (?<!\w) and (?!\w) instead of \b: they also work next to punctuation.
    return re.compile(r"(?<![\w\-])(?:" + pattern + r")(?![\w\-])")


def _g(m: re.Match[str], *names: str) -> str | None:
    """The first of several alternatives' groups that matched."""
    groups = m.groupdict()
    return next((groups[n] for n in names if groups.get(n) is not None), None)


SHORT_UNITS = {"d": "days", "w": "weeks", "mo": "months", "mon": "months"}


def unit_of(text: str) -> str:
    if text in SHORT_UNITS:  # written right after the number ("3w", "1d"); see UNIT_PATTERNS
        return SHORT_UNITS[text]
    for name, pattern in UNIT_PATTERNS:
        if re.fullmatch(pattern, text):
            return name
    raise ValueError(text)


def _number(text: str | None, default: float = 1) -> float:
    if text is None or text in ("a", "an"):
        return default
    return float(text.replace(",", "."))


def _ord(text: str) -> int:
    if text.startswith(("last", "последн")):
        return -1
    return int(re.match(r"\d+", text)[0])  # type: ignore[index]


def _days_list(text: str) -> list[int]:
    return [int(d) for d in re.findall(r"\d{1,2}", text)]


def _year(text: str | None) -> int | None:
    if text is None:
        return None
    year = int(text)
    return year + 2000 if len(text) <= 2 else year


def checked_date(year: int | None, month: int, day: int) -> Data | None:
    if day == -1:
        return {"year": year, "month": month, "day": -1}
    try:
        date(2000 if year is None else min(max(year, 1), 9999), month, day)
    except ValueError:
        return None
    if year is not None and year < MIN_YEAR:
        return None
    return {"year": year, "month": month, "day": day}


INVALID: Data = {"invalid": True}  # shaped like a date or time, but not one (never mutated)

# ---------------------------------------------------------------------------- the builders

FREQ_OF_UNIT = {"hours": "HOURLY", "days": "DAILY", "weeks": "WEEKLY", "fortnights": "WEEKLY",
                "months": "MONTHLY", "years": "YEARLY"}  # fmt: skip


def _every(m: re.Match[str]) -> Data | None:
    unit_text = _g(m, "u", "u2") or ""
    if re.fullmatch(r"weekends?|выходн\w*", unit_text):
        freq, byday = "WEEKLY", [(None, 5), (None, 6)]
    else:
        unit = unit_of(unit_text)
        if unit not in FREQ_OF_UNIT:  # every N minutes would flood the chat
            return INVALID
        freq, byday = FREQ_OF_UNIT[unit], None
    n = _g(m, "n", "n2")
    interval = 2 if _g(m, "other") else int(_number(n))
    if unit_text.startswith("fortnight"):
        interval *= 2
    if not 1 <= interval <= 365:
        return INVALID
    data: Data = {"freq": freq, "interval": interval, "strong": True}
    if byday:
        data["byday"] = byday
    return data


def _every_word(m: re.Match[str]) -> Data:
    word = m[0]
    for stem, freq in (("год", "YEARLY"), ("час", "HOURLY"), ("hour", "HOURLY"), ("дн", "DAILY"), ("day", "DAILY"),
                       ("daily", "DAILY"), ("недел", "WEEKLY"), ("week", "WEEKLY"),
                       ("месяч", "MONTHLY"), ("month", "MONTHLY"), ("год", "YEARLY"),
                       ("year", "YEARLY"), ("annual", "YEARLY")):  # fmt: skip
        if stem in word:
            return {"freq": freq, "interval": 1, "strong": True}
    raise AssertionError(word)


def _part_repeat(m: re.Match[str]) -> Data:
    part = "morning" if re.search("утр|morning", m[0]) else "evening"
    return {"freq": "DAILY", "interval": 1, "strong": True, "part": part}


def _monthly_days(m: re.Match[str]) -> Data | None:
    text = _g(m, "d", "d2", "d3") or ""
    days = [-1] if re.search(r"last|последн|end|конец|конце", text) else _days_list(text)
    if re.search(r"first|начал|begin|start", text):
        days = [1]
    if not days or any(not (1 <= d <= 31 or d == -1) for d in days):
        return INVALID
    interval = 2 if _g(m, "other") else int(_number(_g(m, "n", "n_")))
    return {"freq": "MONTHLY", "interval": interval, "bymonthday": days, "strong": True}


def _nth_weekday(m: re.Match[str]) -> Data | None:
    body = m["body"]
    pairs: list[tuple[int, int]] = []
    pending: list[int] = []
    for token in re.findall(NTH + "|" + ANY_WEEKDAY, body):
        if re.fullmatch(NTH, token):
            pending.append(_ord(token))
        else:
            days = weekdays_in(token)
            if not days or not pending:
                return None
            pairs.extend((n, days[0]) for n in pending)
            pending = []
    if pending or not pairs or any(not (1 <= n <= 5 or n == -1) for n, _ in pairs):
        return None
    mon = _g(m, "mon")
    if mon is not None:
        data: Data = {"nth": pairs, "month": MONTHS[mon.rstrip(".")], "year": _year(_g(m, "y"))}
        if _g(m, "yearly", "every"):
            return {"freq": "YEARLY", "interval": 1, "strong": True, "byday": pairs,
                    "bymonth": data["month"]}  # fmt: skip
        return {"kind": "date", **data}
    interval = 2 if _g(m, "other") else int(_number(_g(m, "n", "n_")))
    return {"freq": "MONTHLY", "interval": interval, "byday": pairs, "strong": True}


def _yearly_date(m: re.Match[str]) -> Data | None:
    days = _days_list(m["days"])
    month = MONTHS[m["mon"].rstrip(".")]
    if not days or any(checked_date(None, month, d) is None for d in days):
        return INVALID
    return {"freq": "YEARLY", "interval": 1, "strong": True, "bymonth": month, "bymonthday": days}


def _count(m: re.Match[str]) -> Data | None:
    word = _g(m, "word")
    n = {"twice": 2, "дважды": 2, "thrice": 3, "трижды": 3}[word] if word else int(m["n"])
    return {"count": n} if 1 <= n <= 1000 else INVALID


def _during(m: re.Match[str]) -> Data | None:
    unit = unit_of(m["u"])
    n = int(_number(m["n"]))
    if unit in ("minutes", "hours") or not 1 <= n <= 100:
        return None
    if unit == "fortnights":
        unit, n = "weeks", n * 2
    return {"delta": {unit: n}}


def _relative(m: re.Match[str]) -> Data | None:
    groups = m.groupdict()
    if groups.get("half"):
        return {"delta": {"minutes": 30}}
    if groups.get("sesqui"):
        return {"delta": {"minutes": 90}}
    if groups.get("quarter"):
        return {"delta": {"minutes": 45 if groups["quarter"].startswith("3") else 15}}
    if groups.get("fd"):
        minutes = 60 * int(groups["fn"]) / int(groups["fd"])
        return {"delta": {"minutes": round(minutes)}} if 0 < minutes <= 600 else None
    delta: dict[str, float] = {}
    for n, u in (("n", "u"), ("n2", "u2"), ("n3", "u3")):
        if groups.get(u):
            unit = unit_of(groups[u])
            value = _number(groups.get(n))
            if groups.get("andhalf") and n == "n":
                value += 0.5
            if unit == "fortnights":
                unit, value = "days", value * 14
            delta[unit] = delta.get(unit, 0) + value
    if not delta or any(not 0 < v <= 1000 for v in delta.values()):
        return None
    if "hours" in delta or "minutes" in delta:
        minutes = delta.pop("hours", 0) * 60 + delta.pop("minutes", 0)
        if delta:  # "2 days 3 hours": one instant, elapsed
            minutes += delta.pop("days", 0) * 1440
            if delta:
                return None
        return {"delta": {"minutes": round(minutes)}}
    if any(v != int(v) for v in delta.values()):
        return None
    if groups.get("base") == "tomorrow":  # "a week after tomorrow"
        delta["days"] = delta.get("days", 0) + 1
    return {"delta": {k: int(v) for k, v in delta.items()}}


def _day_word(m: re.Match[str]) -> Data:
    word = m[0]
    if "после" in word or "after" in word:
        return {"offset": 2}
    if "завтра" in word or "tomorrow" in word:
        return {"offset": 1}
    return {"offset": 0, "today": True}


def _date_iso(m: re.Match[str]) -> Data:
    return checked_date(int(m["y"]), int(m["mo"]), int(m["d"])) or INVALID


def _date_dotted(m: re.Match[str]) -> Data | None:
    if m["y"] is None and len(m["d"]) == 1 and len(m["mo"]) == 1:
        return None  # "1.5" is a number more often than the 1st of May
    return checked_date(_year(m["y"]), int(m["mo"]), int(m["d"])) or INVALID


def _date_slashed(m: re.Match[str]) -> Data | None:
    first, second = int(m["a"]), int(m["b"])
    year = _year(m["y"])
    readings = [
        d for d in (checked_date(year, second, first),  # d/m
                    checked_date(year, first, second))  # m/d
        if d is not None
    ]  # fmt: skip
    if not readings:
        return INVALID
    if len(readings) == 2 and readings[0] != readings[1]:
        return {"choices": readings}
    return readings[0]


def _date_named(m: re.Match[str]) -> Data | None:
    days = _days_list(m["d"]) if m["d"] else []
    if m.groupdict().get("lastday"):
        days = [-1]
    if not days:
        return None
    year = _year(_g(m, "y"))
    month = MONTHS[m["mon"].rstrip(".")]
    checked = [checked_date(year, month, d) for d in days]
    if any(c is None for c in checked):
        return INVALID
    data = checked[0]
    assert data is not None
    if len(days) > 1:
        data["days"] = days
    return data


def _weekday(m: re.Match[str]) -> Data | None:
    days = weekdays_in(_g(m, "wd", "wd2") or "")
    if len(days) != 1:
        return None
    mode = "this" if _g(m, "this") else "nearest"
    if _g(m, "next"):
        mode = "next"
    if _g(m, "after"):
        mode = "after-next"
    if (week := _g(m, "week")) is not None:
        mode = "next-week" if week in ("next", "следующей") else "this-week"
    return {"weekday": days[0], "mode": mode}


def _clock(hour: int, minute: int, mer: str, *, bare_ok: bool = True) -> Data:
    mer = mer.replace(".", "").replace(" ", "")
    if mer.startswith("inthe"):
        mer = mer[5:]
    if mer == "atnight":
        mer = "ночи"
    mer = {"a": "am", "p": "pm"}.get(mer, mer)
    if mer:
        if mer in ("am", "pm") and not 0 <= hour <= 12:
            return INVALID
        if mer in ("pm", "вечера", "дня") and hour < 12:
            hour += 12
        elif mer in ("am", "ночи") and hour == 12:
            hour = 0
        elif mer == "ночи" and 6 <= hour < 12:
            hour += 12  # "в 11 ночи" is 23:00, "в 2 ночи" 02:00
        elif mer == "утра" and hour == 12:
            hour = 0
    if hour > 23 or minute > 59:
        return INVALID
    return {"hour": hour, "minute": minute, "fixed": bool(mer), "bare_ok": bare_ok}


def _time(m: re.Match[str]) -> Data | None:
    groups = m.groupdict()
    if groups.get("noon"):
        return {"hour": 12, "minute": 0, "fixed": True, "absolute": True}
    if groups.get("midnight"):
        return {"hour": 0, "minute": 0, "fixed": True, "absolute": True}
    hour, minute = int(groups["h"]), int(groups.get("m") or 0)
    data = _clock(hour, minute, groups.get("mer") or "")
    if "invalid" in data:
        return data
    # A bare 1..7 (or 1..7 and minutes) without a marker or a leading zero: morning or
    # evening? Ask.
    h = groups.get("h") or ""
    data["bare"] = not (data["fixed"] or h.startswith("0"))
    data["fixed"] = data["fixed"] or h.startswith("0") or not 1 <= data["hour"] <= 7
    return data


def _time_relative_to_hour(m: re.Match[str]) -> Data | None:
    """ "half past 3", "quarter to noon", "10 minutes to 7 pm", "без четверти 5"."""
    groups = m.groupdict()
    target = groups["h"]
    if target in ("noon", "полдень"):
        hour, mer = 12, "pm"
    elif target in ("midnight", "полночь"):
        hour, mer = 0, "am"
    else:
        hour, mer = int(target), groups.get("mer") or ""
    if groups.get("halfpast"):
        offset = 30
    elif groups.get("quarter"):
        offset = 15 if groups.get("qdir") in ("past", "after") else -15
    elif groups.get("bez"):
        offset = -(15 if groups["bez"].startswith("четверт") else int(groups["bez"]))
    else:
        minutes = int(groups["mm"])
        offset = minutes if groups.get("dir") in ("past", "after") else -minutes
    if not -59 <= offset <= 59:
        return INVALID
    base = _clock(hour, 0, mer)
    if "invalid" in base:
        return base
    total = (base["hour"] * 60 + offset) % 1440
    fixed = base["fixed"] or not 1 <= hour <= 7 or target in ("noon", "midnight")
    return {"hour": total // 60, "minute": total % 60, "fixed": fixed}


POL = {"перв": 1, "втор": 2, "трет": 3, "четверт": 4, "пят": 5, "шест": 6, "седьм": 7,
       "восьм": 8, "девят": 9, "десят": 10, "одиннадцат": 11, "двенадцат": 12}  # fmt: skip


def _pol(m: re.Match[str]) -> Data | None:
    """ "полдевятого": half past eight (the ninth hour's half)."""
    hour = POL[m["o"]] - 1
    base = _clock(hour, 30, m["mer"] or "")
    if "invalid" in base:
        return base
    base["fixed"] = base["fixed"] or not 1 <= hour <= 7
    return base


def _part_of_day(m: re.Match[str]) -> Data:
    word = m[0]
    today = bool(re.search(r"tonight|this|сегодня|today", word))
    if re.search(r"утр|morning", word):
        return {"part": "morning", "today": today}
    if re.search(r"дн[её]м|afternoon|обед|lunch", word):
        return {"part": "afternoon", "today": today}
    if re.search(r"ноч|night", word) and "tonight" not in word:
        return {"part": "night", "today": today}
    return {"part": "evening", "today": today}


# ------------------------------------------------------------------------------- the rules

HOUR_UNIT = r"(?:\s*(?:ч\.?|час(?:а|ов)?|o'clock))?"
MINUTES_WORDS = r"(?:\s+(?P<m2>\d{1,2})\s+минут\w*)?(?:\s+\d{1,2}\s+секунд\w*)?"
AT = r"(?:at|@|by|around|about|approximately|в|во|к|на)"
DAY_AHEAD = (
    r"(?=\s*(?:the\s+)?(?:\d|tomorrow|today|завтра|сегодня|послезавтра|next|следующ|this|"
    r"эт|" + WEEKDAY + "|" + MONTH + "))"
)
# English parts of the day are ordinary words too ("morning run"): bare, they count only
# right after a day ("tomorrow morning", "friday evening").
DAY_BEFORE = re.compile(r"(?:today|tomorrow|" + WEEKDAY + r")(?:\s+early)?\s+$")


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str]], Data | None]
    after: re.Pattern[str] | None = None  # what the text just before the match must end with


def _r(kind: str, pattern: str, build: Callable[[re.Match[str]], Data | None],
       after: re.Pattern[str] | None = None) -> Rule:  # fmt: skip
    return Rule(kind, _rx(pattern), build, after)


DAYS_AND = r"(?:" + DAYNUM + ORDINAL + r"(?:" + AND + DAYNUM + ORDINAL + r")*)"
ORD_SUFFIX = r"(?:st|nd|rd|th|-го|-е|-ое|-й)"
DAYS_ORD = r"(?:" + DAYNUM + ORD_SUFFIX + r"(?:" + AND + DAYNUM + ORD_SUFFIX + r")*)"
EVERY = r"(?:every|each|кажд\w+)"
MONTHS_CUE = (
    r"(?:(?:of|in)\s+)?(?:(?:every|each)\s+(?:(?P<other>other)\s+|(?P<n>\d{1,2})(?:st|nd|rd|th)?\s+)?months?"
    r"|(?:of\s+)?the\s+month|кажд\w+\s+(?:(?P<n_>\d{1,2})(?:-\w+)?\s+)?месяц\w*|месяца)"
)

RULES: list[Rule] = [
    _r("except", r"except(?:\s+(?:for|on|in))?|кроме", lambda m: {}),
    # ---- invalid shapes first: they must not be half-read as something else
    _r("invalid", r"\d{1,2}:(?:[6-9]\d|\d{3,})|(?:[3-9]\d|2[4-9]):\d{2}", lambda m: INVALID),
    # ---- repeats
    _r("repeat", r"(?:(?:" + EVERY + r"|on)\s+)?(?:the\s+)?(?P<body>" + NTH + r"(?:" + AND + NTH + r")*\s+"
       + ANY_WEEKDAY + r"(?:" + AND + NTH + r"\s+" + ANY_WEEKDAY + r")*)\s+(?:"
       + MONTHS_CUE + r")", _nth_weekday),
    _r("repeat", r"(?P<yearly>(?:yearly|annually|every\s+year|each\s+year|каждый\s+год|ежегодно|once\s+a\s+year|раз\s+в\s+год)\s+(?:on\s+|in\s+|в\s+|на\s+)?)?"
       r"(?:(?P<every>every|each|кажд\w+)\s+)?(?:the\s+)?(?P<body>" + NTH + r"(?:" + AND + NTH + r")*\s+" + ANY_WEEKDAY
       + r")\s+(?:of\s+|in\s+)?(?P<mon>" + MONTH + r")(?:\s+(?P<y>\d{4}))?", _nth_weekday),
    _r("repeat", r"(?:(?:by|until|к|до)\s+)?(?:" + EVERY + r"\s+)?(?:the\s+|on\s+the\s+|в\s+|на\s+)?(?P<d>" + DAYS_ORD
       + r"|first|last|1-й|1-е|последн\w+|end|beginning|begin|start|начал\w*|конец|конце)"
       r"(?:\s+(?:day|день|число|числа|числам))?\s+" + MONTHS_CUE, _monthly_days),
    _r("repeat", r"(?:каждое|по)\s+(?P<d>" + DAYS_AND + r")\s+числ(?:о|ам)(?:\s+месяца)?", _monthly_days),
    _r("repeat", EVERY + r"\s+(?P<mon>" + MONTH + r")\s+(?P<days>" + DAYS_AND + r")", _yearly_date),
    _r("repeat", EVERY + r"\s+(?P<days>" + DAYS_AND + r")\s+(?:of\s+)?(?P<mon>" + MONTH + r")", _yearly_date),
    _r("repeat", r"каждое\s+утро|каждый\s+вечер|по\s+утрам|по\s+вечерам|every\s+(?:morning|evening|night)",
       _part_repeat),
    _r("repeat", r"(?:(?:every|each)\s+week\s+on\s+|каждую\s+неделю\s+)?(?:(?:с|со)\s+(?P<a>" + WEEKDAY + r")\s+по\s+(?P<b>" + WEEKDAY
       + r")|(?:on\s+)?(?P<a2>" + ANY_WEEKDAY + r")\s*(?:-|–|through|thru|till)\s*(?P<b2>" + ANY_WEEKDAY + r"))",
       lambda m: _weekday_range_any(m)),
    _r("repeat", r"по\s+будним(?:\s+дням)?|по\s+будням|в\s+будни|кажд\w+\s+будн\w+\s+д\w+"
       r"|(?:every|each)\s+weekday|on\s+weekdays|weekdays",
       lambda m: {"byday": [(None, d) for d in range(5)]}),
    _r("repeat", r"по\s+выходным|в\s+выходные|(?:every|each)\s+weekend|on\s+weekends?|weekends",
       lambda m: {"byday": [(None, 5), (None, 6)]}),
    _r("repeat", EVERY + r"\s+(?:(?P<other>other)\s+|(?P<n>\d{1,3})(?:-?(?:st|nd|rd|th|й|ю|е|я|го|ой|ую))?\s+)?(?P<u>"
       + UNIT + r"|weekends?|выходн\w*)(?!\s*(?:and|и|,)\s*\d)"
       r"|(?:раз\s+в|once\s+(?:a|an|every|per))\s+(?:(?P<n2>\d+)\s+)?(?P<u2>" + UNIT + r")", _every),
    _r("repeat", r"(?:(?P<weekly>weekly|еженедельно|every\s+week|каждую\s+неделю)\s+)?(?:(?:кажд\w+|every|each)\s+(?:(?P<other>other)\s+|(?P<n>\d{1,2})(?:st|nd|rd|th|-\w+)?\s+)?(?P<days>" + ANY_WEEKDAY
       + r"(?:" + AND + ANY_WEEKDAY + r")*)|(?:по|on)\s+(?P<days3>" + WEEKDAYS_PLURAL + r"(?:" + AND + WEEKDAYS_PLURAL + r")*))"
       r"|(?:(?P<weekly2>weekly|еженедельно)\s+)?(?P<days2>" + WEEKDAYS_PLURAL + r"(?:" + AND + WEEKDAYS_PLURAL + r")*)",
       lambda m: _weekday_set_any(m)),
    _r("repeat", r"ежечасно|ежедневно|еженедельно|ежемесячно|ежегодно|hourly|daily|everyday|weekly"
       r"|monthly|yearly|annually", _every_word),
    # ---- count, end, start
    _r("untildate", r"(?:until|till|до|by)\s+(?:the\s+end\s+of\s+)?(?P<mon>" + MONTH_ALONE + r")(?!\s*\d)",
       lambda m: {"year": None, "month": MONTHS[m["mon"]], "day": 1}),
    _r("untildate", r"(?:until|till|до)\s+(?:next\s+month|следующего\s+месяца)",
       lambda m: {"next_month": True}),
    _r("count", r"(?:for\s+|up\s+to\s+|до\s+)?(?P<n>\d{1,4})\s*(?:x|times|occurrences|раз|раза)"
       r"|(?:for\s+)?(?P<word>twice|thrice|дважды|трижды)", _count),
    _r("during", r"(?:for|в\s+течение|на\s+протяжении)\s+(?:the\s+)?(?:next\s+|следующ\w+\s+)?(?:an?\s+)?(?:(?P<n>\d{1,3})\s+)?(?P<u>" + UNIT
       + r"|fortnights?)", _during),
    _r("until", r"(?:until|till|through|up\s+to|до|по)(?=\s+(?:the\s+)?(?:\d|next|следующ|" + MONTH + "|" + WEEKDAY + "))",
       lambda m: {}),
    _r("relative", r"через\s+(?P<u>" + UNIT + r")\s+(?P<n>\d{1,3})(?!\s*" + UNIT + r"(?!\w))", _relative),
    _r("relative", r"(?:в\s+)?следующий\s+час|(?:in\s+)?the\s+next\s+hour", lambda m: {"next_hour": True}),
    _r("relative",
       r"(?:через|in|after)\s+(?:about\s+|around\s+|approximately\s+)?(?:"
       r"(?P<half>полчаса|half\s+an\s+hour|a\s+half\s+hour|1/2\s*(?:h|hours?))"
       r"|(?P<sesqui>полтора\s+часа|an\s+hour\s+and\s+a\s+half)"
       r"|(?:a\s+)?(?P<quarter>(?:3[- ])?quarters?)\s+of\s+an\s+hour"
       r"|(?P<fn>[13])/(?P<fd>4)\s*(?:h|hours?))"
       r"|(?:через|in|after)\s+(?:about\s+|around\s+|another\s+)?(?:(?:a|an)\s+)?(?:(?P<n>\d+(?:[.,]\d+)?)"
       r"(?P<andhalf>\s+and\s+an?\s+half)?\s*(?:more\s+)?(?:of\s+)?)?(?P<u>" + UNIT + r"|fortnights?)"
       r"(?:,?\s*(?:и\s+|and\s+)?(?P<n2>\d+)\s*(?P<u2>" + UNIT + r"))?"
       r"(?:,?\s*(?:и\s+|and\s+)?(?P<n3>\d+)\s*(?P<u3>" + UNIT + r"))?",
       _relative),
    _r("relative", r"(?:(?:a|an)\s+)?(?:(?P<n>\d+)\s*)?(?P<u>" + UNIT + r")\s+after\s+(?P<base>today|tomorrow)", _relative),
    _r("relative", r"(?P<half>half\s+an\s+hour)\s+(?:from\s+(?:right\s+)?now|later|out)", _relative),
    _r("relative", r"now\s*\+\s*(?P<n>\d+)\s*(?P<u>" + UNIT + r")", _relative),
    _r("relative", r"(?:(?:a|an)\s+)?(?:(?P<n>\d+(?:[.,]\d+)?)\s*)?(?P<u>" + UNIT + r"|fortnights?)\s+"
       r"(?:from\s+(?:right\s+)?(?:now|today)|hence|later|out|спустя)", _relative),
    _r("until", r"(?:to|по)(?=\s+(?:\d|" + MONTH + "))", lambda m: {}, after=re.compile(r"(?:\d(?:st|nd|rd|th)?|" + MONTH + r")\s+$")),
    _r("start", r"(?:starting(?:\s+(?:on|from))?|beginning|from|начиная\s+(?:с|со)|начиная|с|со)" + DAY_AHEAD,
       lambda m: {}),

    # ---- relative
    # ---- explicit times (before dates: "в 9.30" is a time, "25.12" a date)
    _r("time", r"(?:" + AT + r"\s*)?(?:(?P<halfpast>half\s+past)|(?:a\s+)?(?P<quarter>quarter)\s+(?P<qdir>past|to|after|till)"
       r"|(?P<mm>\d{1,2})\s+(?:minutes?\s+)?(?P<dir>past|to|after|till|before))\s+(?P<h>\d{1,2}|noon|midnight)"
       r"(?:\s*" + MER + r")?", _time_relative_to_hour),
    _r("time", r"(?:(?:в|на)\s+)?без\s+(?P<bez>четверти|\d{1,2})(?:\s+минут\w*)?\s+(?P<h>\d{1,2})(?:\s*час\w*)?(?:\s*" + MER + r")?",
       _time_relative_to_hour),
    _r("time", r"(?:в\s+)?пол(?P<o>" + "|".join(POL) + r")ого(?:\s*" + MER + r")?", _pol),
    _r("time", r"(?:(?:at|в)\s+)?(?P<noon>полдень|noon|midday)|(?:(?:at|в)\s+)?(?P<midnight>полночь|midnight)", _time),
    _r("time", r"at\s+(?P<h>\d{1,2})\s+(?P<m>\d{2})(?!\s*(?:\d|[^\W\d_]))", _time),
    _r("time", r"(?P<prep>" + AT + r")\s*(?P<h>\d{1,2})(?:[:.](?P<m>\d{2})(?::\d{2})?|\s*[hч]\s*(?P<m3>\d{2}))?(?:ish)?\s*" + MER + "?" + HOUR_UNIT
       + MINUTES_WORDS + r"(?:\s*" + MER.replace("mer", "mer2") + r")?"
       # "к 8 марта", "к 25 числу" are dates: a day number before a month is not an hour.
       r"(?!\s*(?:" + MONTH + r"|числ\w*|-))", lambda m: _time_at(m)),
    _r("time", r"(?P<h>\d{1,2})\s*[hч]\s*(?P<m>\d{2})", _time),
    # "10-11am", "3-4pm": a span of time; the reminder is at its start (the marker is both's).
    _r("time", r"(?:(?:from|с)\s+)?(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*[-–]\s*\d{1,2}(?::\d{2})?\s*" + MER, _time),
    _r("time", r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::\d{2})?\s*" + MER + "?", _time),
    _r("time", r"(?P<h>\d{1,2})\s+(?P<m>[0-5]\d)\s*" + MER, _time),
    _r("time", r"(?P<h>\d{1,2})(?:ish)?\s*" + MER, _time),
    _r("time", r"(?:(?:at|@|around|approximately|about)\s+)?(?P<hm>(?:[01]?\d|2[0-3])[0-5]\d)(?:\s*" + MER + r")(?![.\-/:]?\d)"
       r"|(?:at|@|around|approximately|about)\s+(?P<hm2>(?:[01]?\d|2[0-3])[0-5]\d)(?![.\-/:]?\d)", lambda m: _time_hm(m)),
    _r("time", r"(?P<h>\d{1,2})\s*o'clock(?:\s*" + MER + r")?", _time),
    _r("time", r"(?P<h>\d{1,2})\s+час(?:а|ов)?(?:\s+(?P<m>\d{1,2})\s+минут\w*)?(?:\s+\d{1,2}\s+секунд\w*)?(?:\s*" + MER + r")?", _time),
    _r("time", r"(?:at\s+)?(?P<h>\d{1,2})(?::(?P<m>\d{2}))?(?=\s+(?:tonight|this\s+(?:evening|morning|afternoon)|in\s+the\s+(?:evening|morning|afternoon)|вечером|утром))",
       _time),
    _r("time", r"half\s+(?P<h>\d{1,2})(?!\s*(?:an|hour|h\b|of))", lambda m: _half_british(m)),
    # "buy milk tomorrow 9", "купить молоко завтра 9": a bare number is an hour only right after
    # a day word and at the end of the message; elsewhere a number stays text.
    _r("time", r"(?P<h>\d{1,2})(?=\s*[.!]?\s*$)", _time,
       after=re.compile(r"(?:today|tomorrow|сегодня|завтра|послезавтра|" + WEEKDAY + r")\s+$")),
    # ---- dates
    _r("date", r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})", _date_iso),
    _r("date", r"(?:в\s+)?следующем\s+месяце|next\s+month", lambda m: {"next_month": True}),
    _r("date", r"(?P<d>\d{1,2})\.(?P<mo>\d{1,2})(?:\.(?P<y>\d{4}|\d{2})|\.)?(?!\d)", _date_dotted),
    _r("date", r"(?:on\s+)?(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?", _date_slashed),
    _r("date", r"(?P<lastday>last\s+day|последн\w+\s+день)\s+(?:of\s+|in\s+)?(?P<mon>" + MONTH + r")(?:,?\s+(?P<y>\d{4}))?(?P<d>)",
       _date_named),
    _r("date", r"(?:(?:к|ко|до|в|на|by|on|before|until|till)\s+)?(?:the\s+)?(?P<d>" + DAYS_AND + r"|\d{2,3})(?:\s+day)?\s*(?:of\s+|in\s+)?(?P<mon>" + MONTH + r")"
       r"(?:,?\s+(?P<y>\d{4}|\d{2}(?=\s*$|\s*[,.;]))(?:\s*(?:года|году|г\.?|year))?)?", _date_named),
    _r("date", r"(?:(?:by|on|before|until|till)\s+)?(?P<mon>" + MONTH + r")\s*(?:the\s+)?(?P<d>" + DAYNUM + r"(?:st|nd|rd|th)?(?:" + AND + DAYNUM + r"(?:st|nd|rd|th)?)*|\d{2,3}(?:st|nd|rd|th)?)"
       r"(?:,?\s+(?P<y>\d{4}))?", _date_named),
    _r("date", r"(?:в|in)\s+(?P<mon>" + MONTH_ALONE + r")(?!\s*\d)",
       lambda m: {"year": None, "month": MONTHS[m["mon"]], "day": 1, "month_only": True}),
    _r("dom", r"(?:(?:в|на)\s+)?(?P<d4>" + DAYNUM + r")-й\s+день|(?:(?:к|до)\s+)?(?P<d>" + DAYNUM + r")\s+числ(?:а|у)",
       lambda m: _dom_any(m)),
    _r("dom", r"(?:(?:on|by)\s+)?the\s+(?P<d>" + DAYNUM + r"(?:st|nd|rd|th)(?:" + AND + DAYNUM + r"(?:st|nd|rd|th))*)(?:\s+day)?"
       r"|(?:(?:к|до|на)\s+)?(?P<d2>" + DAYNUM + r"-(?:го|е|ое)(?:" + AND + DAYNUM + r"-(?:го|е))*)(?:\s+числ[оа])?"
       r"",
       lambda m: _dom_any(m)),
    _r("dom", r"(?P<d3>" + DAYNUM + r")(?:st|nd|rd|th)(?!\s*(?:of|day|week|month))", lambda m: _dom_any(m),
       after=re.compile(WEEKDAY + r",?\s+$")),
    # ---- days
    _r("day", r"послезавтра|(?:the\s+)?day\s+after\s+tomorrow|after\s+tomorrow", _day_word),
    _r("part", r"сегодня\s+(?:утром|дн[её]м|вечером|ночью)|tonight|(?:this|today)\s+(?:morning|afternoon|evening)",
       _part_of_day),
    _r("day", r"(?:(?:начиная\s+)?с\s+)?завтрашнего\s+дня|завтра|tomorrow|сегодня|today", _day_word),
    _r("weekday", r"(?:на\s+)?следующей\s+неделе(?!\s+(?:в|во)\s+" + WEEKDAY + r")",
       lambda m: {"weekday": 0, "mode": "next-week"}),
    _r("weekday", r"(?:на\s+)?следующей\s+неделе\s+(?:в|во)\s+(?P<wd>" + WEEKDAY + r")|next\s+week\s+on\s+(?P<wd2>" + WEEKDAY + r")",
       lambda m: {**(_weekday(m) or {}), "mode": "next-week"}),
    _r("weekday",
       r"(?:(?:в|во|на|до|к|ко|on|by|until|till|before|around)\s+)?(?:(?P<this>this|эт(?:от|у|о))\s+)?(?:(?P<next>next|следующ(?:ий|ую|ее|ая|его|ей))\s+)?(?P<wd>" + WEEKDAY + r")"
       r"(?:\s+(?P<after>after\s+next))?(?:\s+(?:of\s+)?(?P<week>next|this)\s+week|\s+на\s+(?P<week_>следующей)\s+неделе)?",
       _weekday),
    _r("weekday", r"next\s+week(?!\s+on\s+)", lambda m: {"weekday": 0, "mode": "next-week"}),
    # ---- parts of the day
    _r("part", r"утром|с\s+утра|(?<!с\s)дн[её]м(?!\s+рождени)|вечером|ночью|(?:в|на)\s+обед|at\s+lunch(?:time)?"
       r"|(?:early\s+)?in\s+the\s+(?:early\s+hours\s+of\s+the\s+)?(?:morning|afternoon|evening)", _part_of_day),
    _r("part", r"(?:early\s+)?(?:morning|afternoon|evening|night|lunch)(?:ish)?", _part_of_day, after=DAY_BEFORE),
    _r("part", r"(?:morning|afternoon|evening)\s+of(?=\s+the\s+\d)", _part_of_day),
]  # fmt: skip


def _weekday_range_any(m: re.Match[str]) -> Data | None:
    a, b = _g(m, "a", "a2"), _g(m, "b", "b2")
    if a is None or b is None:
        return None
    first, last = weekdays_in(a), weekdays_in(b)
    if len(first) != 1 or len(last) != 1:
        return None
    days, d = [first[0]], first[0]
    while d != last[0]:
        d = (d + 1) % 7
        days.append(d)
    return {"byday": [(None, x) for x in sorted(days)]}


def _weekday_set_any(m: re.Match[str]) -> Data | None:
    text = _g(m, "days", "days2", "days3") or ""
    days = weekdays_in(text)
    if not days:
        return None
    data: Data = {"byday": [(None, d) for d in sorted(set(days))]}
    if _g(m, "weekly", "weekly2"):
        data.update(freq="WEEKLY", interval=1, strong=True)
    if _g(m, "other", "n"):
        interval = 2 if _g(m, "other") else int(_g(m, "n") or 1)
        if not 1 <= interval <= 52:
            return INVALID
        data.update(freq="WEEKLY", interval=interval, strong=True)
    return data


def _dom_any(m: re.Match[str]) -> Data | None:
    text = _g(m, "d", "d2", "d3", "d4") or ""
    days = _days_list(text)
    if not days or any(not 1 <= d <= 31 for d in days):
        return None
    return {"dom": days}


def _time_at(m: re.Match[str]) -> Data | None:
    groups = m.groupdict()
    hour, minute = (
        int(groups["h"]),
        int(groups.get("m") or groups.get("m3") or groups.get("m2") or 0),
    )
    mer = groups.get("mer") or groups.get("mer2") or ""
    data = _clock(hour, minute, mer)
    if "invalid" in data:
        return data
    data["bare"] = not (data["fixed"] or groups["h"].startswith("0"))
    data["fixed"] = data["fixed"] or groups["h"].startswith("0") or not 1 <= data["hour"] <= 7
    # "в 21 школу", "в 5 кабинет": after a Russian preposition a bare number may be a number.
    data["at"] = groups.get("prep") in ("в", "во", "на", "к") and not (
        groups.get("m") or groups.get("m3") or mer
    )
    return data


def _time_hm(m: re.Match[str]) -> Data | None:
    hm = _g(m, "hm", "hm2") or ""
    data = _clock(int(hm[:-2]), int(hm[-2:]), m.groupdict().get("mer") or "")
    if "invalid" in data:
        return data
    data["fixed"] = data["fixed"] or not 1 <= data["hour"] <= 7
    return data


def _half_british(m: re.Match[str]) -> Data | None:
    hour = int(m["h"])
    if not 1 <= hour <= 12:
        return None
    return {"hour": hour % 12, "minute": 30, "fixed": False} if hour != 12 else {
        "hour": 12, "minute": 30, "fixed": True}  # fmt: skip


# Words after "в 21" that make it a time ("утра", "купить") rather than a number ("школу").
TIME_FOLLOWERS = re.compile(
    r"(?:утра|вечера|дня|ночи|утром|вечером|дн[её]м|ночью|час\w*|минут\w*|и|а|на|не|надо|нужно|чтобы|по|в|во|с|со|до|"
    r"к|ко|у|за|от|для|про|о|об|из|"
    r"мск|msk|сегодня|завтра|послезавтра|"
    + WEEKDAY
    + r"|\w+(?:ть|ться|ти|чь|чься|те|й|йте|и)|\w+[аяеыоь])$"
)
