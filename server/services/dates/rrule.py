"""Recurrence rules: reading, checking and normalising an RFC 5545 RRULE.

Every check here costs bounded work decided *before* any expansion (a repeat rule reaches
the server from any user, and expanding a hostile one used to hold the event loop for a
minute; issue 22):

1. the text is short, one line, known parts, each given once, each value in its RFC range;
2. every BY* list has at most MAX_PART_VALUES values, COUNT and INTERVAL are bounded;
3. the smallest possible gap between two occurrences is computed from the rule's parts
   (no expansion: see `min_gap_seconds`) and must be at least the configured minimum;
4. only then is the rule expanded, under a budget of candidate instants (budget.py), to
   check that it occurs at all.

python-dateutil does the expansion (rrule semantics are subtle; it is a dependency already).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from dateutil.rrule import DAILY, HOURLY, MONTHLY, WEEKLY, YEARLY, weekday

from server.services.dates.budget import BudgetedRule, BudgetExceeded, CandidateBudget

MAX_RRULE_LENGTH = 500
# RFC 5545 §3.3.10 rule parts. SECONDLY and MINUTELY are refused: a reminder every minute
# is a flood, not a reminder.
FREQUENCIES = {"HOURLY": HOURLY, "DAILY": DAILY, "WEEKLY": WEEKLY, "MONTHLY": MONTHLY,
               "YEARLY": YEARLY}  # fmt: skip
PARTS = (
    "FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
    "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST",
)  # fmt: skip
MAX_INTERVAL = 1000
MAX_COUNT = 1000  # a longer series is a rule without COUNT
# Enough for any sensible list (BYMONTHDAY=1..31 and -31..-1 is 62) while keeping dateutil's
# per-period work (BYSETPOS × days) small.
MAX_PART_VALUES = 62
DEFAULT_MIN_GAP = 300  # seconds; the setting REPEAT_MIN_INTERVAL_SECONDS decides in the app
# Signed integer ranges per RFC 5545 §3.3.10 (0 is never allowed where negatives are).
_RANGES = {
    "BYSECOND": (0, 59, False), "BYMINUTE": (0, 59, False), "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True), "BYYEARDAY": (1, 366, True), "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False), "BYSETPOS": (1, 366, True),
}  # fmt: skip
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_BYDAY = re.compile(r"([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?")
# The probe for "does it occur at all" starts here, a leap year: a leap-day rule is found at
# once; any other kind of year is within the budget's reach for YEARLY rules.
_PROBE_START = datetime(2000, 1, 1)


class RuleRefused(ValueError):
    """The text is not a repeat rule this service accepts; `str()` says why, for the user."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A checked RRULE: its canonical text and its parts as values."""

    text: str
    freq: int
    interval: int
    count: int | None
    until: datetime | None  # aware UTC (…Z), or naive wall time (a DATE is its day's end)
    wkst: int | None
    by: dict[str, tuple[int, ...]]  # BYSECOND … BYSETPOS present in the rule, sorted
    byday: tuple[tuple[int | None, int], ...]  # (ordinal or None, weekday 0=MO)

    def kwargs(self, dtstart: datetime, zone: tzinfo | None = None) -> dict[str, Any]:
        """dateutil's rrule arguments with DTSTART = `dtstart` (naive, or aware in `zone`)."""
        until = self.until
        if until is not None and dtstart.tzinfo is not None and until.tzinfo is None:
            until = until.replace(tzinfo=zone or dtstart.tzinfo)  # a wall time of the user
        elif until is not None and dtstart.tzinfo is None and until.tzinfo is not None:
            until = until.replace(tzinfo=None)
        names = {"BYSECOND": "bysecond", "BYMINUTE": "byminute", "BYHOUR": "byhour",
                 "BYMONTHDAY": "bymonthday", "BYYEARDAY": "byyearday", "BYWEEKNO": "byweekno",
                 "BYMONTH": "bymonth", "BYSETPOS": "bysetpos"}  # fmt: skip
        args: dict[str, Any] = {names[k]: v for k, v in self.by.items()}
        if self.byday:
            args["byweekday"] = tuple(weekday(d, n) for n, d in self.byday)
        return {"freq": self.freq, "dtstart": dtstart, "interval": self.interval,
                "count": self.count, "until": until, "wkst": self.wkst, **args}  # fmt: skip

    def values(self, name: str) -> tuple[int, ...]:
        return self.by.get(name, ())


def parse_rule(text: str) -> Rule:
    """Read and check the text's form and values (bounded work, no expansion)."""
    rule = text.strip()
    if rule[:6].upper() == "RRULE:":
        rule = rule[6:]
    if not rule:
        raise RuleRefused("empty rule")
    if len(rule) > MAX_RRULE_LENGTH:
        raise RuleRefused(f"longer than {MAX_RRULE_LENGTH} characters")
    if not rule.isascii() or not rule.isprintable() or " " in rule:
        raise RuleRefused("one line of ASCII without spaces, like FREQ=WEEKLY;BYDAY=MO")
    parts: dict[str, str] = {}
    for part in rule.upper().split(";"):
        name, sep, value = part.partition("=")
        if not sep or not value:
            raise RuleRefused(f"{part!r} is not NAME=VALUE")
        if name not in PARTS:
            raise RuleRefused(f"unknown rule part {name}")
        if name in parts:
            raise RuleRefused(f"{name} given twice")
        parts[name] = value
    freq_name = parts.pop("FREQ", None)
    if freq_name is None:
        raise RuleRefused("FREQ is required")
    if freq_name not in FREQUENCIES:
        raise RuleRefused(f"FREQ must be one of {', '.join(FREQUENCIES)}")
    freq = FREQUENCIES[freq_name]
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleRefused("COUNT and UNTIL cannot both be given")
    count = _bounded(parts, "COUNT", MAX_COUNT)
    interval = _bounded(parts, "INTERVAL", MAX_INTERVAL) or 1
    by: dict[str, tuple[int, ...]] = {}
    for name, (low, high, signed) in _RANGES.items():
        if name in parts:
            by[name] = _numbers(name, parts[name], low, high, signed)
    byday = _weekdays(parts["BYDAY"], freq, "BYWEEKNO" in by) if "BYDAY" in parts else ()
    if "BYWEEKNO" in by and freq != YEARLY:
        raise RuleRefused("BYWEEKNO needs FREQ=YEARLY")
    if "BYYEARDAY" in by and freq in (DAILY, WEEKLY, MONTHLY):
        raise RuleRefused("BYYEARDAY cannot be used with FREQ=DAILY, WEEKLY or MONTHLY")
    if "BYMONTHDAY" in by and freq == WEEKLY:
        raise RuleRefused("BYMONTHDAY cannot be used with FREQ=WEEKLY")
    wkst = None
    if "WKST" in parts:
        if parts["WKST"] not in _WEEKDAYS:
            raise RuleRefused("WKST must be one of MO, TU, WE, TH, FR, SA, SU")
        wkst = _WEEKDAYS.index(parts["WKST"])
    until = _until(parts["UNTIL"]) if "UNTIL" in parts else None
    canonical = ";".join([f"FREQ={freq_name}", *(f"{k}={v}" for k, v in parts.items())])
    return Rule(canonical, freq, interval, count, until, wkst, by, byday)


def _bounded(parts: dict[str, str], name: str, high: int) -> int | None:
    if name not in parts:
        return None
    value = parts[name]
    if not value.isdigit() or len(value) > 6 or not 1 <= int(value) <= high:
        raise RuleRefused(f"{name} must be an integer 1..{high}")
    return int(value)


def _numbers(name: str, text: str, low: int, high: int, signed: bool) -> tuple[int, ...]:
    items = text.split(",")
    if len(items) > MAX_PART_VALUES:
        raise RuleRefused(f"{name} has more than {MAX_PART_VALUES} values")
    found: set[int] = set()
    for item in items:
        digits = item[1:] if signed and item[:1] in "+-" else item
        if not digits.isdigit() or len(digits) > 3:
            raise RuleRefused(f"{name} values must be integers")
        value = int(digits)
        if not low <= value <= high:
            bounds = f"{low}..{high}" + (f" or -{high}..-{low}" if signed else "")
            raise RuleRefused(f"{name} values must be {bounds}")
        found.add(-value if item.startswith("-") else value)
    return tuple(sorted(found))


def _weekdays(text: str, freq: int, byweekno: bool) -> tuple[tuple[int | None, int], ...]:
    items = text.split(",")
    if len(items) > MAX_PART_VALUES:
        raise RuleRefused(f"BYDAY has more than {MAX_PART_VALUES} values")
    found: set[tuple[int | None, int]] = set()
    for item in items:
        match = _BYDAY.fullmatch(item)
        if match is None or (match[1] and not match[2]):
            raise RuleRefused("BYDAY values are like MO, 1MO or -1FR")
        ordinal = None
        if match[2]:
            ordinal = int(match[2]) * (-1 if match[1] == "-" else 1)
            limit = {MONTHLY: 5, YEARLY: 53}.get(freq)
            if limit is None or byweekno:
                raise RuleRefused("BYDAY=1MO-style ordinals need FREQ=MONTHLY or YEARLY")
            if not 1 <= abs(ordinal) <= limit:
                raise RuleRefused(f"BYDAY ordinals must be 1..{limit} or -{limit}..-1")
        found.add((ordinal, _WEEKDAYS.index(match[3])))
    return tuple(sorted(found, key=lambda pair: (pair[1], pair[0] or 0)))


def _until(text: str) -> datetime:
    match = _UNTIL.fullmatch(text)
    if match is None:
        raise RuleRefused("UNTIL must be like 20301231 or 20301231T235959Z")
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    try:
        if match[4] is None:  # a DATE: the whole day is included
            return datetime(year, month, day) + timedelta(days=1, seconds=-1)
        moment = datetime(year, month, day, int(match[4]), int(match[5]), int(match[6]))
    except (ValueError, OverflowError):
        raise RuleRefused("UNTIL is not a real date") from None
    if not 1900 <= year <= 9998:
        raise RuleRefused("UNTIL must be in the years 1900..9998")
    return moment.replace(tzinfo=UTC) if match[7] else moment


# --- The smallest gap between two occurrences, from the parts alone ------------------------


def min_gap_seconds(rule: Rule) -> float:
    """A lower bound, in seconds of wall-clock time, on the gap between two occurrences,
    decided from the rule's parts alone (no expansion).

    Times: HOURLY expands each hour into BYMINUTE × BYSECOND; coarser frequencies expand each
    day into BYHOUR × BYMINUTE × BYSECOND (a part left out is one value, from DTSTART, so its
    value does not matter here). Within a period the gap is the smallest difference of those
    times; between periods it is (the smallest distance between two periods that can both
    occur) minus (the spread of the times). BYSETPOS only removes occurrences, so ignoring it
    errs on the safe side. Daylight-saving changes are not counted: a gap measured on the
    wall clock can be an hour shorter in real time once, on the night the clocks go forward.
    """
    minutes = rule.values("BYMINUTE") or (0,)
    seconds = rule.values("BYSECOND") or (0,)
    if rule.freq == HOURLY:
        span = 3600
        times = sorted(m * 60 + s for m in minutes for s in seconds)
        hours = rule.values("BYHOUR")
        if len(hours) == 1:
            period_gap = math.lcm(rule.interval, 24)  # the same hour of another day
        elif hours:
            diffs = [(b - a) % 24 for a in hours for b in hours if a != b]
            period_gap = max(rule.interval, min(diffs))
        else:
            period_gap = rule.interval
    else:
        span = 86400
        hours = rule.values("BYHOUR") or (0,)
        times = sorted(h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds)
        period_gap = max(rule.interval if rule.freq == DAILY else 1, _day_gap(rule))
    within = min((b - a for a, b in itertools.pairwise(times)), default=math.inf)
    across = period_gap * span - (times[-1] - times[0])
    return min(within, across)


def _day_gap(rule: Rule) -> int:
    """1 when two occurrences can fall on consecutive days, else 2 (a lower bound in days)."""
    single = any(
        len(values) == 1
        for values in (rule.byday, rule.values("BYMONTHDAY"), rule.values("BYYEARDAY"))
    )
    if single:
        return 2  # one weekday, one day of the month or of the year: days are apart
    if rule.freq == DAILY:
        return 1
    several = any(
        len(values) > 1
        for values in (rule.byday, rule.values("BYMONTHDAY"), rule.values("BYYEARDAY"))
    )
    # Without day parts WEEKLY/MONTHLY/YEARLY take DTSTART's one day per period; BYWEEKNO
    # alone means every day of those weeks.
    return 1 if several or "BYWEEKNO" in rule.by else 2


def times_per_period(rule: Rule) -> int:
    """How many times of day (of hour, for HOURLY) the rule expands each period into."""
    size = max(1, len(rule.values("BYMINUTE"))) * max(1, len(rule.values("BYSECOND")))
    return size if rule.freq == HOURLY else size * max(1, len(rule.values("BYHOUR")))


def check_gap(rule: Rule, min_gap: int) -> Rule:
    """The rule, if no two of its occurrences can be closer than `min_gap` seconds."""
    # Pigeonhole first: more times in a day (an hour) than fit `min_gap` apart cannot be
    # spaced out, and building that many times is work a hostile rule should not buy.
    period = 3600 if rule.freq == HOURLY else 86400
    if times_per_period(rule) > period // max(min_gap, 1) or min_gap_seconds(rule) < min_gap:
        raise RuleRefused(f"occurrences must be at least {_duration(min_gap)} apart")
    return rule


def check_rule(text: str, min_gap: int = DEFAULT_MIN_GAP, *, probe: bool = True) -> Rule:
    """The rule, checked: form, bounds, smallest gap (all bounded, in that order), then
    that it occurs at all, by an expansion under a budget (`probe`; a caller that expands
    it from a real start next, under the same budget, skips this one)."""
    rule = check_gap(parse_rule(text), min_gap)
    if not probe:
        return rule
    probing = BudgetedRule(**(rule.kwargs(_PROBE_START) | {"interval": 1, "count": None,
                                                           "until": None}))  # fmt: skip
    try:
        first = probing.first_after(_PROBE_START, CandidateBudget())
    except BudgetExceeded:
        first = None
    except ValueError as exc:  # dateutil refuses a combination it cannot expand
        raise RuleRefused(str(exc) or "not a valid RRULE") from None
    if first is None:
        raise RuleRefused("the rule never occurs (or too rarely to plan)")
    return rule


def normalize_rrule(text: str, min_gap: int = DEFAULT_MIN_GAP, *, probe: bool = True) -> str:
    """The rule in canonical form (`FREQ=…` first, upper case, no `RRULE:` prefix); a
    RuleRefused (a ValueError) with a short reason when it is not a usable RRULE."""
    return check_rule(text, min_gap, probe=probe).text


def _duration(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"
