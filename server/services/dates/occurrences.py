"""Occurrences of an RFC 5545 RRULE in a user's time zone.

The rule is expanded on the user's wall clock (DTSTART is an aware datetime in their
`ZoneInfo`; Python's aware arithmetic within one zone is wall-clock arithmetic), so "every
day at 09:00" stays 09:00 across daylight-saving changes. A wall time that does not exist
(inside a spring-forward gap) is read with the offset before the gap, as RFC 5545 §3.3.5
says: 02:30 on the day Berlin springs forward is 03:30 CEST. A wall time that exists twice
(fall-back) is its first occurrence (fold 0).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

# Frequencies a reminder may repeat at: anything finer would flood a chat.
ALLOWED_FREQS = frozenset({"HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
# How many candidate occurrences to look at before giving up (a rule whose BY* parts never
# match, e.g. February 30th, would otherwise iterate for ever).
MAX_SCAN = 2000


class RuleError(ValueError):
    """The text is not a repeat rule this service accepts."""


def _parts(rule: str) -> dict[str, str]:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text or "\n" in text or "DTSTART" in text.upper():
        raise RuleError("expected one RRULE without DTSTART")
    parts: dict[str, str] = {}
    for item in text.split(";"):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise RuleError(f"malformed part {item!r}")
        parts[key.strip().upper()] = value.strip().upper()
    return parts


def check_rule(rule: str) -> str:
    """Validate a rule; return it canonical (upper case, `RRULE:` prefix dropped)."""
    parts = _parts(rule)
    if parts.get("FREQ") not in ALLOWED_FREQS:
        raise RuleError("FREQ must be HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY")
    canonical = ";".join(f"{k}={v}" for k, v in parts.items())
    try:
        rrulestr(canonical, dtstart=datetime(2000, 1, 1, tzinfo=UTC))
    except (ValueError, TypeError) as exc:
        raise RuleError(str(exc)) from None
    return canonical


def expand(rule: str, anchor: datetime, zone: ZoneInfo) -> rrule:
    """The rule with DTSTART = `anchor` on the zone's wall clock."""
    start = anchor.astimezone(zone).replace(microsecond=0)
    try:
        expanded = rrulestr(check_rule(rule), dtstart=start)
    except ValueError as exc:
        raise RuleError(str(exc)) from None
    assert isinstance(expanded, rrule)
    return expanded


def next_occurrence(
    rule: str, anchor: datetime, after: datetime, zone: ZoneInfo
) -> datetime | None:
    """The first occurrence strictly after `after` (aware), as aware UTC; None when the rule
    has ended (COUNT/UNTIL) or never matches."""
    if after.tzinfo is None or anchor.tzinfo is None:
        raise ValueError("anchor and after must be aware datetimes")
    expanded = expand(rule, anchor, zone)
    # Start scanning a day early on the wall clock: comparing across a DST change by wall
    # time could otherwise step over the right occurrence; the UTC check below decides.
    scan_from = max(anchor.astimezone(zone), after.astimezone(zone) - timedelta(days=1))
    candidate: datetime
    for candidate in expanded.xafter(scan_from, count=MAX_SCAN, inc=True):
        instant = candidate.astimezone(UTC)
        if instant > after:
            return instant
    return None


def local_wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """An aware instant as the user's wall clock (aware, in `zone`)."""
    return instant.astimezone(zone)
