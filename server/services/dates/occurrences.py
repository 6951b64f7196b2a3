"""Occurrences of an RFC 5545 RRULE in a user's time zone.

The rule is expanded on the user's wall clock (DTSTART is an aware datetime in their
`ZoneInfo`; Python's aware arithmetic within one zone is wall-clock arithmetic), so "every
day at 09:00" stays 09:00 across daylight-saving changes. A wall time that does not exist
(inside a spring-forward gap) is read with the offset before the gap, as RFC 5545 §3.3.5
says: 02:30 on the day Berlin springs forward is 03:30 CEST. A wall time that exists twice
(fall-back) is its first occurrence (fold 0).

Cost: finding the next occurrence never walks the occurrences between the anchor and now
(a reminder dated 1900 would walk 126 years of them; issue 22). Without COUNT the rule is
restarted at a whole number of periods (INTERVAL × FREQ) after the anchor, just before
`after`, which keeps its phase; the parts DTSTART would supply (BYHOUR, BYMINUTE, BYSECOND,
the day) are written into the rule first, so moving DTSTART changes nothing else. The walk
from there is charged to a candidate budget (budget.py): a rule that does not occur within
it is refused, never expanded for ever.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, HOURLY, MONTHLY, WEEKLY, YEARLY

from server.services.dates.budget import BudgetedRule, BudgetExceeded, CandidateBudget
from server.services.dates.rrule import (
    DEFAULT_MIN_GAP,
    Rule,
    RuleRefused,
    check_gap,
    parse_rule,
)

# What callers catch: the text is not a repeat rule this service accepts.
RuleError = RuleRefused
# Frequencies a reminder may repeat at: anything finer would flood a chat.
ALLOWED_FREQS = frozenset({"HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
# Periods kept between the restart and `after`: DST makes wall and real time differ by up
# to an hour, and one period of INTERVAL=1 HOURLY is an hour.
_MARGIN = 2


class RuleTooCostly(RuleError):
    """The next occurrence is further away than the candidate budget reaches."""


def check_rule(text: str, min_gap: int = DEFAULT_MIN_GAP) -> str:
    """Validate a stored rule's form, bounds and smallest gap (bounded work, no expansion);
    return it canonical (upper case, `RRULE:` prefix dropped)."""
    return _checked(text, min_gap).text


def _checked(text: str, min_gap: int) -> Rule:
    if "DTSTART" in text.upper():
        raise RuleError("expected one RRULE without DTSTART")
    return check_gap(parse_rule(text), min_gap)


def next_occurrence(
    rule: str,
    anchor: datetime,
    after: datetime,
    zone: ZoneInfo,
    *,
    min_gap: int = DEFAULT_MIN_GAP,
    budget: CandidateBudget | None = None,
    strict: bool = False,
) -> datetime | None:
    """The first occurrence strictly after `after` (aware) of the rule started at `anchor`,
    as aware UTC; None when the rule has ended (COUNT/UNTIL) or does not occur again within
    the candidate budget (it never occurs, or too rarely to plan: `strict` raises
    RuleTooCostly instead, for a caller that must tell the two apart). RuleError for a rule
    this service refuses."""
    if after.tzinfo is None or anchor.tzinfo is None:
        raise ValueError("anchor and after must be aware datetimes")
    parsed = _checked(rule, min_gap)
    start = anchor.astimezone(zone).replace(microsecond=0)
    if parsed.count is None:
        explicit = with_start_defaults(parsed, start)
        start = restart_point(explicit, start, after.astimezone(zone))
    else:
        explicit = parsed  # COUNT counts from the anchor: no restart (COUNT ≤ MAX_COUNT)
    try:
        expanded = BudgetedRule(**explicit.kwargs(start, zone))
    except ValueError as exc:  # e.g. BYHOUR that INTERVAL never reaches from this start
        raise RuleError(str(exc) or "not a valid RRULE") from None
    spent = budget or CandidateBudget()
    try:
        for candidate in expanded.walk(spent):
            instant = candidate.astimezone(UTC)
            if instant > after:
                return instant
    except BudgetExceeded:
        if strict:
            raise RuleTooCostly("the rule does not occur again within a plannable time") from None
    return None


def with_start_defaults(rule: Rule, start: datetime) -> Rule:
    """The rule with what DTSTART supplies written out (RFC 5545 §3.3.10: parts not given
    are taken from DTSTART), as dateutil would take them; then any DTSTART inside the same
    phase expands to the same occurrences."""
    by = dict(rule.by)
    byday = rule.byday
    if rule.freq != HOURLY:
        by.setdefault("BYHOUR", (start.hour,))
    by.setdefault("BYMINUTE", (start.minute,))
    by.setdefault("BYSECOND", (start.second,))
    if not byday and not any(k in by for k in ("BYWEEKNO", "BYYEARDAY", "BYMONTHDAY")):
        if rule.freq == YEARLY:
            by.setdefault("BYMONTH", (start.month,))
            by["BYMONTHDAY"] = (start.day,)
        elif rule.freq == MONTHLY:
            by["BYMONTHDAY"] = (start.day,)
        elif rule.freq == WEEKLY:
            byday = ((None, start.weekday()),)
    return replace(rule, by=by, byday=byday)


def restart_point(rule: Rule, start: datetime, after: datetime) -> datetime:
    """A DTSTART whole periods after `start` (aware, on the zone's wall clock), `_MARGIN`
    periods before the one holding `after`, at the start of its period; `start` itself when
    that is not later. Arithmetic on naive wall times: dateutil steps periods that way."""
    wall, target = start.replace(tzinfo=None), after.replace(tzinfo=None)
    step = rule.interval
    moved: datetime | None = None
    if rule.freq in (HOURLY, DAILY, WEEKLY):
        if rule.freq == HOURLY:
            first, unit = wall.replace(minute=0, second=0), timedelta(hours=1)
        elif rule.freq == DAILY:
            first, unit = wall.replace(hour=0, minute=0, second=0), timedelta(days=1)
        else:
            wkst = rule.wkst if rule.wkst is not None else 0  # dateutil's default: Monday
            midnight = wall.replace(hour=0, minute=0, second=0)
            first = midnight - timedelta(days=(wall.weekday() - wkst) % 7)
            unit = timedelta(days=7)
        periods = (target - first) // (unit * step) - _MARGIN
        if periods > 0:
            moved = first + unit * step * periods
    else:
        months = 12 if rule.freq == YEARLY else 1
        index = (wall.year * 12 + wall.month - 1) // months
        periods = ((target.year * 12 + target.month - 1) // months - index) // step - _MARGIN
        if periods > 0:
            shifted = (index + step * periods) * months
            moved = datetime(shifted // 12, shifted % 12 + 1, 1)
    if moved is None or moved <= wall:
        return start
    return moved.replace(tzinfo=start.tzinfo)


def local_wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """An aware instant as the user's wall clock (aware, in `zone`)."""
    return instant.astimezone(zone)
