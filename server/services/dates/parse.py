"""Natural-language times and repeats in Russian and English, in whole messages: "напомни
завтра в 9 купить молоко", "dentist tmrw 9am", "капли в нос каждый день до 20 марта",
"first monday of every month", "через минут 20", "thrusday at 3pm".

A grammar of our own (`grammar.py`, over the text `normalize.py` prepares), not dateparser:
measured on the corpus in tests/corpus/ (see docs/parser.md), dateparser reads fewer of the
same instants right, has no repeats, and guesses silently where a phrase is ambiguous. The
rules users of reminder bots expect:

- a day without a time is 09:00; "утром"/"morning" 09:00, "днём"/"afternoon" 13:00,
  "вечером"/"tonight"/"evening" 20:00, "ночью" 23:00; a part of the day that is under way
  ("this afternoon" at 14:20) is the next whole hour within it;
- a time without a day that has already passed today is tomorrow;
- hours are read on a 24-hour clock, except a bare 1-7 ("в 7", "at 5", "3:30") without a
  zero, am/pm, утра/вечера or a part of the day: that is asked about (07:00 or 19:00?), as
  are a weekday that is today ("в пятницу" on a Friday morning), "next <weekday>" when that
  weekday is later this week, d/m vs m/d dates, a day named twice, and an explicit day
  already past ("сегодня в 9" at 10:00). Nothing is guessed.
- a repeat becomes an RFC 5545 RRULE that carries its own wall time (BYHOUR/BYMINUTE) and
  day (BYDAY/BYMONTHDAY...), an end (UNTIL, "до 20 марта", "for 2 weeks") or a count
  (COUNT, "5 раз"); a day given with it is its start.

The title is the text without the time phrase, the "напомни"/"remind me" lead-in and a
leading connective ("to", "that", "что", "чтобы"). Only the first `MAX_SCANNED` characters
are read for a time (the rest is title), so no input runs long.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from server.services.dates.grammar import (
    MAX_YEAR,
    MAX_YEAR_AHEAD,
    MIN_YEAR,
    RRULE_DAYS,
    RULES,
    TIME_FOLLOWERS,
    Data,
)
from server.services.dates.normalize import normalize
from server.services.dates.occurrences import RuleError, next_occurrence

DEFAULT_HOUR = 9
PART_OF_DAY_HOUR = {"morning": 9, "afternoon": 13, "evening": 20, "night": 23}
# The hours a part of the day spans: while it is under way, it means the next whole hour.
PART_OF_DAY_SPAN = {
    "morning": (5, 12),
    "afternoon": (12, 17),
    "evening": (17, 24),
    "night": (21, 24),
}
SMALL_HOURS_END = 4  # before 04:00 "tomorrow" may mean the coming day: asked
OCCURS_WITHIN_YEARS = 10
MAX_SCANNED = 512  # characters read for a time; measured worst case is in docs/parser.md

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


class _NotUnderstood(Exception):
    """The message has no usable time after all (e.g. a date out of range)."""


# ------------------------------------------------------------------------------- scanning

LEAD_IN = re.compile(
    r"^\s*(?:(?:пожалуйста|please)\s*,?\s*)?/?(?:напомни(?:те)?|напоминай(?:те)?|remind(?:er)?"
    r"|set\s+(?:a\s+|an\s+)?(?:reminder|alarm)(?:\s+for)?|(?:поставь|создай|сделай)\s+напоминание)(?!\w)"
    r"(?:\s+(?:мне|me|us|нам)(?!\w))?\s*,?\s*",
)
CONNECTIVE = re.compile(r"^\s*(?:to|about|that|of|что(?:бы)?|о\s+том,?\s+что(?:бы)?)(?=\s|$)\s*")
# A preposition left dangling before a removed time phrase ("from", "с"). Only these: "in",
# "on", "в" may belong to the title ("check in tomorrow", "log on at 9").
DANGLING_BEFORE = re.compile(
    r"(?:\s|^)(?:from|until|till|starting|с|со|до|начиная\s+с)\s*$",
    re.I,
)
TRAILING = " \t\n,.;:-–—"
# What may stand between two parts of one time phrase ("mon and fri", "every 3 years on the
# 4th thursday", "каждые 3 года в ..."): dropped with them.
JOINER = re.compile(r"[\s,]*(?:and|&|и|,|on|in|at|for|в|во|на)?[\s,]*", re.I)


@dataclass
class _Found:
    kind: str
    start: int  # in the original text
    end: int
    data: Data
    used: bool = False


def _scan(text: str) -> list[_Found]:
    norm = normalize(text)
    work = norm.text
    found: list[_Found] = []
    for rule in RULES:
        for m in rule.pattern.finditer(work):
            if not m[0].strip():
                continue
            if rule.after is not None and not rule.after.search(norm.text[: m.start()]):
                continue
            built = rule.build(m)
            if built is None:
                continue
            data = dict(built)  # the resolver completes pieces in place; INVALID is shared
            kind = "invalid" if data.get("invalid") else data.pop("kind", rule.kind)
            if data.get("at") and not _followed_by_time_word(norm.text, m.end()):
                kind = "maybe-time"  # "сходить в 21 школу": a number more likely than a time
            start, end = norm.span(m.start(), m.end())
            found.append(_Found(kind, start, end, data))
            # Blanked with a character that is neither a space nor a word, so what was on
            # either side does not become adjacent ("march 3rd until april 5th").
            work = work[: m.start()] + "\x00" * (m.end() - m.start()) + work[m.end() :]
    return sorted(found, key=lambda f: f.start)


def _followed_by_time_word(text: str, end: int) -> bool:
    rest = text[end:].lstrip()
    word = re.match(r"[^\W\d_]+", rest)
    if word is None or not re.match("[а-я]", word[0]):
        return True  # only a Russian noun after "в 21" makes it a number ("в 21 школу")
    return TIME_FOLLOWERS.fullmatch(word[0]) is not None


def _title(text: str, found: list[_Found]) -> str:
    pieces, cursor = [], 0
    for f in found:
        if not f.used:
            continue
        piece = text[cursor : f.start]
        if cursor > 0 and JOINER.fullmatch(piece):
            piece = ""
        pieces.append(DANGLING_BEFORE.sub("", piece) if f.start > cursor else piece)
        cursor = max(cursor, f.end)
    pieces.append(text[cursor:])
    title = " ".join(p.strip(" \t\n,") for p in pieces if p.strip(" \t\n,"))
    lowered = title.lower()
    if (m := LEAD_IN.match(lowered)) is not None:
        title = title[m.end() :]
        # "remind me to call", "напомни что": the connective goes with the lead-in (a title
        # of its own may start with "Что ...").
        if (c := CONNECTIVE.match(title.lower())) is not None:
            title = title[c.end() :]
    elif (c := CONNECTIVE.match(title.lower())) is not None and c[0].strip() in ("to", "that"):
        title = title[c.end() :]  # "to call mom tomorrow": the lead-in was left out
    title = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s+", " ", title))
    return title.strip(TRAILING)


def parse(text: str, now: datetime, zone: ZoneInfo) -> Parsed:
    """What `text` says about when, at `now` (aware) in the user's `zone`."""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    head, tail = text[:MAX_SCANNED], text[MAX_SCANNED:]
    found = _scan(head)
    local_now = now.astimezone(zone).replace(second=0, microsecond=0)
    try:
        result = _resolve(found, now.astimezone(zone), local_now, zone)
    except (_NotUnderstood, OverflowError, RuleError):
        result = None
    if result is None:
        for f in found:
            f.used = False
        return Parsed(title=_joined(_title(head, found), head, tail))
    title = _joined(_title(head, found), head, tail)
    phrase = " ".join(text[f.start : f.end].strip() for f in found if f.used) or None
    if isinstance(result, Clarify):
        return Parsed(title=title, phrase=phrase, clarify=result)
    when, repeat = result
    return Parsed(title=title, when=when, repeat=repeat, phrase=phrase)


def _joined(title: str, head: str, tail: str) -> str:
    """The title of the scanned head and the unscanned rest of a long text."""
    if not tail:
        return title
    space = " " if head[-1:].isspace() or tail[:1].isspace() else ""
    return (title + space + tail.strip()).strip()


# ------------------------------------------------------------------------------ resolving

DAY_KINDS = ("relative", "day", "date", "dom", "weekday")
Reading = tuple[datetime, str | None] | Clarify


def _take(found: list[_Found], kind: str) -> list[_Found]:
    return [f for f in found if f.kind == kind and not f.used]


def _after(found: list[_Found], cue: _Found) -> _Found | None:
    """The day piece right after a cue ("until" + "20 марта")."""
    for f in found:
        if f.start >= cue.end and not f.used and f.kind in (*DAY_KINDS, "part", "time"):
            return f if f.kind in DAY_KINDS else None
    return None


def _resolve(
    found: list[_Found], now: datetime, local_now: datetime, zone: ZoneInfo
) -> Reading | None:
    if any(f.kind in ("invalid", "except") for f in found):
        return None
    repeat = _merge_repeats(_take(found, "repeat"))
    if repeat is not None:
        for f in _take(found, "repeat"):
            f.used = True
    # Cues, and the day each stands before.
    until_day: _Found | None = None
    start_day: _Found | None = None
    for f in _take(found, "untildate"):
        if repeat is not None:
            until_day, f.used = f, True
        else:
            f.kind = "date"  # "сдать до ноября": the deadline is the day itself
    for cue in _take(found, "until"):
        target = _after(found, cue)
        if target is not None:
            cue.used = True
            if repeat is not None:
                until_day, target.used = target, True
    for cue in _take(found, "start"):
        target = _after(found, cue)
        if target is not None:
            cue.used = True
            if repeat is not None:
                start_day, target.used = target, True
    during = _take(found, "during")
    count = _take(found, "count")
    if repeat is not None:
        for f in during[:1] + count[:1]:
            f.used = True
        _absorb(repeat, found)
    elif not any(f.kind in (*DAY_KINDS, "time", "part") for f in found):
        return None  # a count or "for two weeks" alone is not a time

    singles: dict[str, _Found] = {}
    for f in found:
        if f.used or f.kind not in (*DAY_KINDS, "time", "part"):
            continue
        if f.kind in singles:
            if f.kind == "part" and singles["part"].data == f.data:
                f.used = True  # "tonight ... in the evening": the same thing twice
                continue
            _mark(found)
            return Clarify("conflict")
        singles[f.kind] = f
        f.used = True
    if not singles and repeat is None:
        return None
    days = [k for k in DAY_KINDS if k in singles]
    if len(days) > 1 and not _compatible(days):
        return Clarify("conflict")
    if repeat is not None and days and start_day is None:
        start_day = singles.pop(days[0])  # "каждый понедельник с 5 марта": the start
        days = []
    data = {k: f.data for k, f in singles.items()}

    part = data.get("part")
    clock = data.get("time")
    if repeat is not None and "part" in repeat:
        if part is not None:
            return Clarify("conflict")
        part = {"part": repeat["part"], "today": False}
    relative = data.get("relative")
    if relative is not None and relative.get("next_hour"):
        if clock or part or repeat:
            return Clarify("conflict")
        return local_now.replace(minute=0) + timedelta(hours=1), None
    if relative is not None and "minutes" in relative["delta"]:
        if clock or part or repeat:
            return Clarify("conflict")
        # Elapsed time, so added in UTC (aware arithmetic in one zone is wall-clock time).
        elapsed = now.astimezone(UTC) + timedelta(minutes=relative["delta"]["minutes"])
        return elapsed.astimezone(zone).replace(second=0, microsecond=0), None

    if (
        repeat is not None
        and count
        and count[0].used
        and (until_day or (during and during[0].used))
    ):
        return Clarify("conflict")  # "5 times" and "until 20 April": an RRULE has one end
    hours = _hour_readings(clock, part, local_now, data, bool(days), repeat is None)
    maybe = _take(found, "maybe-time")
    if clock is None and maybe and (days or part or repeat):
        # "завтра в 10 кабинет 5": 10:00, or room 10 at the usual hour? Ask, offering both.
        hours = _hour_readings(maybe[0].data, part, local_now, data, bool(days)) + hours
        hours = list(dict.fromkeys(hours))  # the same reading twice is one
    readings: list[Reading]
    if repeat is not None:
        ends = _ends(repeat, until_day, during, count, local_now, zone)
        start_data = {start_day.kind: start_day.data} if start_day is not None else {}
        readings = [_first_of_repeat(repeat, h, start_data, ends, local_now, zone) for h in hours]
    else:
        readings = [_one_off(h, data, part, local_now, zone) for h in hours]
    valid: list[Reading] = [r for r in readings if not isinstance(r, Clarify)]
    if valid and all(
        isinstance(r, Clarify) and r.reason == "in-the-past" for r in readings if r not in valid
    ):
        readings = valid  # "at 3:15 today" at 14:20: 03:15 has passed, 15:15 is meant
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
    return readings[0]


def _mark(found: list[_Found]) -> None:
    for f in found:
        if f.kind in (*DAY_KINDS, "time", "part"):
            f.used = True


def _compatible(days: list[str]) -> bool:
    """A weekday may go with a date or a day of the month ("Monday, Feb 18")."""
    return len(days) == 2 and "weekday" in days and ("date" in days or "dom" in days)


def _merge_repeats(pieces: list[_Found]) -> Data | None:
    if not pieces:
        return None
    merged: Data = {}
    for piece in pieces:
        d = piece.data
        if d.get("strong"):
            if merged.get("strong") and merged["freq"] != d["freq"]:
                # "weekly on wednesdays" vs "every 3 days and every month": the weekly cue
                # with weekdays is one rule; different frequencies are not.
                if not (d.get("freq") == "WEEKLY" and "byday" not in d):
                    raise _NotUnderstood
                continue
            if merged.get("strong") and merged.get("interval", 1) != 1 and d["interval"] == 1:
                d = {k: v for k, v in d.items() if k != "interval"}
            merged.update({k: v for k, v in d.items() if k not in ("byday", "bymonthday")})
        for key in ("byday", "bymonthday"):
            if key in d:
                merged[key] = sorted(set(merged.get(key, [])) | set(d[key]), key=_order)
        for key in ("bymonth", "part"):
            if key in d and not d.get("strong"):
                merged[key] = d[key]
    days = merged.get("byday", [])
    if any(n is None for n, _ in days) and any(n is not None for n, _ in days):
        # "every 2nd tuesday of the month" + "on mondays": an RRULE's BYDAY would need both
        # at once (dateutil intersects them) and never occur. Not one repeat.
        raise _NotUnderstood
    if "freq" not in merged:
        merged.update(freq="WEEKLY" if "byday" in merged else "MONTHLY", interval=1)
    if (
        merged["freq"] == "MONTHLY"
        and "byday" in merged
        and all(n is None for n, _ in merged["byday"])
    ):
        merged["freq"] = "WEEKLY"  # "monthly on fridays" is every Friday
    if merged["freq"] == "DAILY" and "byday" in merged:
        merged["freq"] = "WEEKLY"
    return merged


def _order(value: object) -> tuple[int, int]:
    if isinstance(value, tuple):
        n, d = value
        return (d, n or 0)
    assert isinstance(value, int)
    return (value if value > 0 else 100 + value, 0)


def _absorb(repeat: Data, found: list[_Found]) -> None:
    """One-off pieces that complete the repeat: "every week on tuesday", "every month on the
    4th", "каждый год 4 июля", "через неделю по понедельникам" (every other week)."""
    freq = repeat["freq"]
    repeat["byday_given"] = "byday" in repeat
    for f in found:
        if f.used:
            continue
        if f.kind == "weekday" and freq == "WEEKLY" and not repeat.get("byday_given"):
            repeat.setdefault("byday", []).append((None, f.data["weekday"]))
            f.used = True
        elif (
            f.kind == "dom"
            and freq == "MONTHLY"
            and "byday" not in repeat
            and "bymonthday" not in repeat
        ):
            repeat["bymonthday"] = f.data["dom"]
            f.used = True
        elif (
            f.kind == "date" and freq == "YEARLY" and "bymonth" not in repeat and "month" in f.data
        ):
            if "nth" in f.data:
                repeat.update(bymonth=f.data["month"], byday=f.data["nth"])
            elif f.data.get("day", 0) > 0:
                repeat.update(
                    bymonth=f.data["month"], bymonthday=f.data.get("days", [f.data["day"]])
                )
            else:
                continue
            f.used = True
        elif (f.kind == "relative" and freq == "WEEKLY" and "byday" in repeat
              and f.data["delta"] in ({"weeks": 1},) and repeat.get("interval", 1) == 1
              and not repeat.get("strong")):  # fmt: skip
            repeat["interval"] = 2
            f.used = True


def _hour_readings(
    clock: Data | None,
    part: Data | None,
    local_now: datetime,
    data: dict[str, Data],
    has_day: bool,
    one_off: bool = True,
) -> list[tuple[int, int]]:
    """(hour, minute) readings of the time of day."""
    if clock is None:
        if part is None:
            return [(DEFAULT_HOUR, 0)]
        first, last = PART_OF_DAY_SPAN[part["part"]]
        hour = PART_OF_DAY_HOUR[part["part"]]
        today = part.get("today") or (not has_day and "day" not in data)
        if today and not has_day and local_now.hour >= hour and first <= local_now.hour + 1 < last:
            return [(local_now.hour + 1, 0)]  # "this afternoon" at 14:20: 15:00 today
        return [(hour, 0)]
    hour, minute = clock["hour"], clock["minute"]
    if part is not None and not clock.get("absolute"):
        if (part["part"] in ("afternoon", "evening") and hour < 12) or (
            part["part"] == "night" and 6 <= hour < 12
        ):
            hour += 12
        return [(hour, minute)]
    if clock["fixed"]:
        evening = local_now.replace(hour=(hour + 12) % 24, minute=minute)
        if (
            one_off and clock.get("bare") and 8 <= hour <= 11 and not has_day
            and timedelta(0) < evening - local_now <= timedelta(hours=1)
        ):  # fmt: skip
            # "go to bed at 11:30" at 23:28: the morning has passed and the evening is
            # minutes away, so which one? Ask.
            return [(hour, minute), (hour + 12, minute)]
        return [(hour, minute)]
    return [(hour, minute), (hour + 12, minute)]


def _at(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    # fold=0: in a spring-forward gap this is the instant after the gap (RFC 5545 §3.3.5).
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def _normal(instant: datetime, zone: ZoneInfo) -> datetime:
    """A wall time that fell into a gap, as the wall clock will actually show it."""
    return instant.astimezone(UTC).astimezone(zone)


def _check_year(year: int, local_now: datetime) -> None:
    if not MIN_YEAR <= year <= min(local_now.year + MAX_YEAR_AHEAD, MAX_YEAR):
        raise _NotUnderstood


def _one_off(
    hm: tuple[int, int],
    data: dict[str, Data],
    part: Data | None,
    local_now: datetime,
    zone: ZoneInfo,
) -> Reading:
    hour, minute = hm
    hm_given = "time" in data or part is not None
    today = local_now.date()
    relative, day, dated, weekday, dom = (
        data.get(k) for k in ("relative", "day", "date", "weekday", "dom")
    )

    def at(d: date) -> datetime:
        _check_year(d.year, local_now)
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
        if offset == 1 and local_now.hour < SMALL_HOURS_END and at(today) > local_now:
            # "tomorrow" at 1 a.m. often means after the night, i.e. today: ask.
            return Clarify("ambiguous-day", (at(today), instant))
        if offset == 0 and not hm_given and instant <= local_now and local_now.hour < 22:
            # "today" with no time after 09:00: the next whole hour rather than a question.
            return local_now.replace(minute=0) + timedelta(hours=1), None
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
        if "days" in dated or "next_month" in dated:
            if "next_month" in dated:
                first = today.replace(day=1) + relativedelta(months=1)
                return at(first), None
            return Clarify("conflict")
        if weekday is not None and dated.get("month_only"):  # "в апреле в среду": the first
            dated = {**dated, "nth": [(1, weekday["weekday"])]}
        elif weekday is not None:
            return _dated_on_weekday(dated, weekday["weekday"], at, local_now)
        return _dated(dated, at, local_now)
    if dom is not None:
        if len(dom["dom"]) != 1:
            return Clarify("conflict")
        return _day_of_month(dom["dom"][0], weekday, at, local_now)
    if weekday is not None:
        return _on_weekday(weekday, at, local_now)
    instant = at(today)  # no day: today, or tomorrow when that time has passed
    if instant <= local_now:
        instant = at(today + timedelta(days=1))
    return instant, None


def _on_weekday(weekday: Data, at: Callable[[date], datetime], local_now: datetime) -> Reading:
    today = local_now.date()
    wd, mode = weekday["weekday"], weekday["mode"]
    ahead = (wd - today.weekday()) % 7
    monday = today - timedelta(days=today.weekday())
    if mode == "this-week":
        instant = at(monday + timedelta(days=wd))
        return Clarify("in-the-past") if instant <= local_now else (instant, None)
    if mode == "next-week":
        return at(monday + timedelta(days=7 + wd)), None
    if mode == "after-next":
        return at(today + timedelta(days=(ahead or 7) + 7)), None
    if ahead == 0 and mode == "this":  # "this tuesday" on a Tuesday: today
        instant = at(today)
        if instant <= local_now:
            return Clarify("in-the-past", (at(today + timedelta(days=7)),))
        return instant, None
    if ahead == 0:
        instant = at(today)
        if mode == "next" or instant <= local_now:
            return at(today + timedelta(days=7)), None
        return Clarify("ambiguous-day", (instant, at(today + timedelta(days=7))))
    if mode == "next" and today.weekday() < wd:
        # "next friday" on a Tuesday: this week's or the following one? People differ.
        return Clarify("ambiguous-day", (at(today + timedelta(days=ahead)),
                                         at(today + timedelta(days=ahead + 7))))  # fmt: skip
    return at(today + timedelta(days=ahead)), None


def _month_day(year: int, month: int, day: int) -> date | None:
    if day == -1:
        return date(year, month, 1) + relativedelta(months=1, days=-1)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _nth_of_month(year: int, month: int, n: int, wd: int) -> date | None:
    if n > 0:
        first = date(year, month, 1)
        d = first + timedelta(days=(wd - first.weekday()) % 7 + 7 * (n - 1))
        return d if d.month == month else None
    last = date(year, month, 1) + relativedelta(months=1, days=-1)
    return last - timedelta(days=(last.weekday() - wd) % 7)


def _target(dated: Data, year: int) -> date | None:
    if "nth" in dated:
        if len(dated["nth"]) != 1:
            return None
        n, wd = dated["nth"][0]
        return _nth_of_month(year, dated["month"], n, wd)
    return _month_day(year, dated["month"], dated["day"])


def _dated(dated: Data, at: Callable[[date], datetime], local_now: datetime) -> Reading:
    today = local_now.date()
    if dated.get("year") is not None:
        _check_year(dated["year"], local_now)
        target = _target(dated, dated["year"])
        if target is None:
            return Clarify("conflict")
        instant = at(target)
        return Clarify("in-the-past") if instant <= local_now else (instant, None)
    for year in range(today.year, today.year + 9):  # 29 February: up to 8 years ahead
        target = _target(dated, year)
        if target is None or target < today:
            continue
        instant = at(target)
        if instant <= local_now:  # today, but that time has passed
            nxt = _target(dated, year + 1)
            return Clarify("in-the-past", (at(nxt),) if nxt is not None else ())
        return instant, None
    return Clarify("conflict")


def _dated_on_weekday(
    dated: Data, wd: int, at: Callable[[date], datetime], local_now: datetime
) -> Reading:
    """ "Fri, Jul 18": the first 18 July that is a Friday (the year is often left out)."""
    if "nth" in dated or "choices" in dated:
        return Clarify("conflict")
    years = (
        [dated["year"]]
        if dated.get("year") is not None
        else range(local_now.year, local_now.year + 12)
    )
    for year in years:
        _check_year(year, local_now)
        target = _month_day(year, dated["month"], dated["day"])
        if target is None or target.weekday() != wd:
            continue
        instant = at(target)
        if instant > local_now or dated.get("year") is not None:
            return (instant, None) if instant > local_now else Clarify("in-the-past")
    return Clarify("conflict")


def _day_of_month(
    day: int, weekday: Data | None, at: Callable[[date], datetime], local_now: datetime
) -> Reading:
    """ "the 15th", "20-го", "Tuesday the 19th": the next such day (that is that weekday)."""
    first = local_now.date().replace(day=1)
    for k in range(0, 36):
        month = first + relativedelta(months=k)
        target = _month_day(month.year, month.month, day)
        if target is None or (weekday is not None and target.weekday() != weekday["weekday"]):
            continue
        instant = at(target)
        if instant > local_now:
            return instant, None
    return Clarify("conflict")


def _ends(
    repeat: Data,
    until_day: _Found | None,
    during: list[_Found],
    count: list[_Found],
    local_now: datetime,
    zone: ZoneInfo,
) -> list[str]:
    parts: list[str] = []
    if count and count[0].used:
        parts.append(f"COUNT={count[0].data['count']}")
        return parts
    last: date | None = None
    if until_day is not None:
        kind = "date" if until_day.kind == "untildate" else until_day.kind
        reading = _one_off((23, 59), {kind: until_day.data}, None, local_now, zone)
        if isinstance(reading, Clarify):
            if not reading.options:
                raise _NotUnderstood
            last = reading.options[0].date()
        else:
            last = reading[0].astimezone(zone).date()
    elif during and during[0].used:
        delta = during[0].data["delta"]
        last = local_now.date() + relativedelta(
            days=delta.get("days", 0), weeks=delta.get("weeks", 0),
            months=delta.get("months", 0), years=delta.get("years", 0),
        )  # fmt: skip
    if last is not None:
        _check_year(last.year, local_now)
        end = _normal(_at(last, 23, 59, zone), zone).replace(second=59).astimezone(UTC)
        parts.append("UNTIL=" + end.strftime("%Y%m%dT%H%M%SZ"))
    return parts


def _occurs_soon(rule: str, anchor: datetime) -> bool:
    """Whether the rule occurs within OCCURS_WITHIN_YEARS of `anchor`, found by date arithmetic
    over at most 12 × that many months. dateutil looks for the next occurrence of a rule that
    never occurs (BYDAY=MO,2TU: both at once; 30 February) until year 9999, seconds of CPU,
    and an UNTIL does not stop it. Every rule the parser makes that can occur does so within
    8 years (29 February); WEEKLY, DAILY and HOURLY rules occur every week."""
    parts = dict(p.split("=", 1) for p in rule.split(";"))
    freq = parts["FREQ"]
    if freq not in ("MONTHLY", "YEARLY"):
        return True
    interval = int(parts.get("INTERVAL", "1"))
    bymonth = int(parts["BYMONTH"]) if "BYMONTH" in parts else None
    mdays = [int(d) for d in parts.get("BYMONTHDAY", "").split(",") if d]
    days: list[tuple[int | None, int]] = []
    for token in (t for t in parts.get("BYDAY", "").split(",") if t):
        n = token[:-2]
        days.append((int(n) if n else None, RRULE_DAYS.index(token[-2:])))
    plain = {d for n, d in days if n is None}
    nth = [(n, d) for n, d in days if n is not None]
    first = anchor.date().replace(day=1)
    step = interval * (12 if freq == "YEARLY" else 1)
    for k in range(0, 12 * OCCURS_WITHIN_YEARS, step):
        month = first + relativedelta(months=k)
        # YEARLY: every month of the chosen years (BYMONTH picks below); MONTHLY: that month.
        months = [month.replace(month=m) for m in range(1, 13)] if freq == "YEARLY" else [month]
        for start in months:
            if bymonth is not None and start.month != bymonth:
                continue
            last = (start + relativedelta(months=1, days=-1)).day
            for day in range(1, last + 1):
                if mdays and not any(day == (d if d > 0 else last + 1 + d) for d in mdays):
                    continue
                weekday = start.replace(day=day).weekday()
                if plain and weekday not in plain:
                    continue
                if nth and not any(
                    weekday == d and (n == (day - 1) // 7 + 1 or n == -((last - day) // 7 + 1))
                    for n, d in nth
                ):
                    continue
                if start.replace(day=day) >= anchor.date():
                    return True
    return False


def _first_of_repeat(
    repeat: Data,
    hm: tuple[int, int],
    start_data: dict[str, Data],
    ends: list[str],
    local_now: datetime,
    zone: ZoneInfo,
) -> Reading:
    """The RRULE (with its own wall time and day) and its first occurrence after now (or
    from the day given with it: "каждый понедельник с 5 марта")."""
    hour, minute = hm
    freq, interval = repeat["freq"], repeat.get("interval", 1)
    start = local_now
    if start_data:
        first = _one_off(hm, start_data, None, local_now, zone)
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
        rule = ";".join(parts + ends)
        anchor = max(start, local_now)
        when = next_occurrence(rule, anchor, anchor, zone)
        if when is None:
            return Clarify("conflict")
        return when.astimezone(zone), rule
    # The first day on or after `start` at that wall time that satisfies the day parts.
    first_day = start.date()
    if _normal(_at(first_day, hour, minute, zone), zone) <= local_now:
        first_day += timedelta(days=1)
    byday = repeat.get("byday")
    if "bymonth" in repeat:
        parts.append(f"BYMONTH={repeat['bymonth']}")
    if byday:
        parts.append("BYDAY=" + ",".join(f"{n if n else ''}{RRULE_DAYS[d]}" for n, d in byday))
    elif "bymonthday" in repeat:
        parts.append("BYMONTHDAY=" + ",".join(str(d) for d in repeat["bymonthday"]))
    elif freq == "WEEKLY":
        parts.append(f"BYDAY={RRULE_DAYS[first_day.weekday()]}")
    elif freq == "MONTHLY":
        parts.append(f"BYMONTHDAY={first_day.day}")
    elif freq == "YEARLY":
        parts.append(f"BYMONTH={first_day.month};BYMONTHDAY={first_day.day}")
    if freq == "YEARLY" and "bymonth" in repeat and not byday and "bymonthday" not in repeat:
        parts.append(f"BYMONTHDAY={first_day.day}")
    parts.append(f"BYHOUR={hour};BYMINUTE={minute}")
    rule = ";".join(parts + ends)
    # Anchored at the first day's midnight: with INTERVAL the phase starts there.
    anchor = _at(first_day, 0, 0, zone)
    if not _occurs_soon(rule, anchor):
        return Clarify("conflict")
    when = next_occurrence(rule, anchor, max(anchor, local_now) - timedelta(seconds=1), zone)
    if when is None:
        return Clarify("conflict")
    when = when.astimezone(zone)
    if when <= local_now:  # cannot happen, but never answer with a past time
        return Clarify("in-the-past")
    return when, rule
