"""RFC 5545 text, written by hand: the few properties the feed needs, escaped and folded as
the RFC says, and a VTIMEZONE built from the zone database.

Pure functions, no I/O: the feed service calls them a batch of tasks at a time.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

CRLF = "\r\n"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PRODID = "-//todo-assistant//calendar feed//EN"


def escape(text: str) -> str:
    """A TEXT value (§3.3.11): backslash, semicolon, comma and line breaks escaped."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """One content line, folded at 75 octets (§3.1) without splitting a UTF-8 character."""
    raw = line.encode()
    if len(raw) <= 75:
        return line + CRLF
    parts: list[str] = []
    limit = 75
    while raw:
        cut = min(limit, len(raw))
        while cut < len(raw) and (raw[cut] & 0xC0) == 0x80:  # inside a multi-byte character
            cut -= 1
        parts.append(raw[:cut].decode())
        raw = raw[cut:]
        limit = 74  # continuation lines start with a space
    return (CRLF + " ").join(parts) + CRLF


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def local_stamp(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def duration(delta: timedelta) -> str:
    """A DURATION value (§3.3.6), e.g. -PT1H30M, P1DT2H, PT0S."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}P"
    if days:
        text += f"{days}D"
    if hours or minutes or secs or not days:
        text += "T"
        if hours:
            text += f"{hours}H"
        if minutes:
            text += f"{minutes}M"
        if secs or not (hours or minutes):
            text += f"{secs}S"
    return text


def offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{mins:02d}"


# --- Events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """What one task shows in a calendar."""

    uid: str
    title: str
    notes: str
    category: str | None
    start: datetime  # aware
    all_day: bool  # a due date without a time (local midnight, no reminder)
    repeat: str | None  # an RRULE on the user's wall clock (DTSTART's zone)
    alarm: timedelta | None  # the reminder, relative to start (0: at the start)
    sequence: int
    created: datetime
    modified: datetime


def event(item: FeedEvent, zone: ZoneInfo, tzid: str) -> str:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{item.uid}",
        # DTSTAMP is the time the event last changed (not "now"), so the same data always
        # gives the same bytes and the same ETag.
        f"DTSTAMP:{utc_stamp(item.modified)}",
        f"CREATED:{utc_stamp(item.created)}",
        f"LAST-MODIFIED:{utc_stamp(item.modified)}",
        f"SEQUENCE:{item.sequence}",
        f"SUMMARY:{escape(item.title)}",
    ]
    if item.all_day:
        day = item.start.astimezone(zone).date()
        lines.append(f"DTSTART;VALUE=DATE:{day.strftime('%Y%m%d')}")
        lines.append(f"DTEND;VALUE=DATE:{(day + timedelta(days=1)).strftime('%Y%m%d')}")
        lines.append("TRANSP:TRANSPARENT")
    else:
        lines.append(f"DTSTART;TZID={tzid}:{local_stamp(item.start, zone)}")
        lines.append("DURATION:PT0S")  # a moment (a reminder, a deadline), not a meeting
        lines.append("TRANSP:TRANSPARENT")  # it does not make the user busy
    if item.repeat:
        lines.append(f"RRULE:{item.repeat}")
    if item.notes:
        lines.append(f"DESCRIPTION:{escape(item.notes)}")
    if item.category:
        lines.append(f"CATEGORIES:{escape(item.category)}")
    if item.alarm is not None:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape(item.title)}",
            f"TRIGGER:{duration(item.alarm)}",
            "END:VALARM",
        ]
    lines.append("END:VEVENT")
    return "".join(fold(line) for line in lines)


def calendar_head(name: str) -> str:
    return "".join(
        fold(line)
        for line in (
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            f"PRODID:{PRODID}",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            f"X-WR-CALNAME:{escape(name)}",
            # How often subscribers should refetch (Apple and Microsoft read these).
            "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
            "X-PUBLISHED-TTL:PT1H",
        )
    )


CALENDAR_TAIL = "END:VCALENDAR" + CRLF


# --- VTIMEZONE ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    at: datetime  # UTC instant of the change
    before: timedelta
    after: timedelta
    dst: bool
    name: str

    @property
    def local_start(self) -> datetime:
        """The wall time of the change, on the clock before it (how DTSTART is written)."""
        return (self.at + self.before).replace(tzinfo=None)


def _state(zone: ZoneInfo, moment: datetime) -> tuple[timedelta, bool, str]:
    local = moment.astimezone(zone)
    return (
        local.utcoffset() or timedelta(0),
        bool(local.dst()),
        local.tzname() or "",
    )


def transitions(zone: ZoneInfo, first_year: int, last_year: int) -> list[Transition]:
    """Every offset change from `first_year` through `last_year`, found by stepping a day at
    a time and bisecting to the second (zoneinfo exposes no transition list)."""
    found: list[Transition] = []
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    step = timedelta(days=1)
    moment, state = start, _state(zone, start)
    while moment < end:
        following = moment + step
        next_state = _state(zone, following)
        if next_state != state:
            low, high = moment, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _state(zone, middle) == state:
                    low = middle
                else:
                    high = middle
            high = high.replace(microsecond=0)
            if next_state[0] != state[0]:  # a new name alone (no offset change) is no change
                found.append(Transition(high, state[0], next_state[0], next_state[1],
                                        next_state[2]))  # fmt: skip
        moment, state = following, next_state
    return found


def _byday(local: datetime, last: bool) -> str:
    day = WEEKDAYS[local.weekday()]
    if last:
        return f"-1{day}"
    return f"{(local.day - 1) // 7 + 1}{day}"


def _yearly_rule(changes: list[Transition]) -> str | None:
    """A yearly rule every one of `changes` (the same change in consecutive years) follows,
    e.g. BYMONTH=3;BYDAY=-1SU; None when they follow none."""
    first = changes[0].local_start
    candidates = [_byday(first, last=False)]
    if first.day + 7 > calendar.monthrange(first.year, first.month)[1]:
        candidates.append(_byday(first, last=True))
    for byday in candidates:
        if all(
            c.local_start.month == first.month
            and c.local_start.time() == first.time()
            and c.before == changes[0].before
            and c.after == changes[0].after
            and _byday(c.local_start, byday.startswith("-")) == byday
            for c in changes
        ):
            return f"FREQ=YEARLY;BYMONTH={first.month};BYDAY={byday}"
    return None


RULE_YEARS = 3  # yearly rules start this many years before the end of the range
CHECK_YEARS = 12  # ... and must hold this many years after it


@lru_cache(maxsize=256)
def vtimezone(name: str, first_year: int, last_year: int) -> str:
    """A VTIMEZONE for `name`: the actual changes from `first_year`, then, when the zone's
    last RULE_YEARS years follow a yearly pattern (as daylight saving does), that pattern as
    an open-ended RRULE, so occurrences years ahead still get the right offset."""
    zone = ZoneInfo(name)
    changes = transitions(zone, first_year, last_year)
    rules: list[tuple[Transition, str]] = []
    tail_start = last_year - RULE_YEARS + 1
    # A rule is checked against more years than it starts in: "the 4th Sunday of March"
    # and "the last one" agree for years on end.
    tail = transitions(zone, tail_start, last_year + CHECK_YEARS)
    if tail and len(tail) == 2 * (RULE_YEARS + CHECK_YEARS):
        pair = [tail[0::2], tail[1::2]]
        derived = [_yearly_rule(group) for group in pair]
        if all(derived):
            rules = [(group[0], rule) for group, rule in zip(pair, derived, strict=True) if rule]
            changes = [c for c in changes if c.at.year < tail_start]
    initial_offset, initial_dst, initial_name = _state(zone, datetime(first_year, 1, 1, tzinfo=UTC))
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]

    def component(kind: bool, start: datetime, before: timedelta, after: timedelta,
                  tzname: str, rule: str | None = None) -> None:  # fmt: skip
        lines.append("BEGIN:DAYLIGHT" if kind else "BEGIN:STANDARD")
        lines.append(f"DTSTART:{start.strftime('%Y%m%dT%H%M%S')}")
        if rule is not None:
            lines.append(f"RRULE:{rule}")
        lines.append(f"TZOFFSETFROM:{offset_text(before)}")
        lines.append(f"TZOFFSETTO:{offset_text(after)}")
        if tzname:
            lines.append(f"TZNAME:{escape(tzname)}")
        lines.append("END:DAYLIGHT" if kind else "END:STANDARD")

    # The offset in force at the start of the range, as a change to itself.
    component(initial_dst, datetime(first_year, 1, 1) + initial_offset, initial_offset,
              initial_offset, initial_name)  # fmt: skip
    for change in changes:
        component(change.dst, change.local_start, change.before, change.after, change.name)
    for change, rule in rules:
        component(change.dst, change.local_start, change.before, change.after, change.name, rule)
    lines.append("END:VTIMEZONE")
    return "".join(fold(line) for line in lines)


def years_of(moments: Iterable[date]) -> tuple[int, int]:
    years = [m.year for m in moments]
    return (min(years), max(years)) if years else (2000, 2000)
