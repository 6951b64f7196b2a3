"""Recurrence rules: checking and normalising an RFC 5545 RRULE (python-dateutil parses it)."""

from __future__ import annotations

from datetime import UTC, datetime

from dateutil.rrule import rrule, rrulestr

MAX_RRULE_LENGTH = 500
# RFC 5545 §3.3.10 rule parts. SECONDLY and MINUTELY are refused: a reminder every minute
# is a flood, not a reminder.
FREQUENCIES = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
PARTS = (
    "FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
    "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST",
)  # fmt: skip
MAX_INTERVAL = 1000
# A rule that never occurs (BYMONTH=2;BYMONTHDAY=31) makes dateutil search to year 9999:
# seconds of CPU. It is refused if it has no occurrence in the last 28 years dateutil knows
# (every weekday/leap-year combination occurs in any 28 years without a century year), which
# costs at most ~15 ms (hourly rules).
_PROBE_START = datetime(9972, 1, 1)


def normalize_rrule(text: str) -> str:
    """The rule in canonical form (`FREQ=…` first, upper case, no `RRULE:` prefix); a
    ValueError with a short reason when it is not a usable RRULE."""
    rule = text.strip()
    if rule[:6].upper() == "RRULE:":
        rule = rule[6:]
    if not rule:
        raise ValueError("empty rule")
    if len(rule) > MAX_RRULE_LENGTH:
        raise ValueError(f"longer than {MAX_RRULE_LENGTH} characters")
    if not rule.isascii() or not rule.isprintable() or " " in rule:
        raise ValueError("one line of ASCII without spaces, like FREQ=WEEKLY;BYDAY=MO")
    parts: dict[str, str] = {}
    for part in rule.upper().split(";"):
        name, sep, value = part.partition("=")
        if not sep or not value:
            raise ValueError(f"{part!r} is not NAME=VALUE")
        if name not in PARTS:
            raise ValueError(f"unknown rule part {name}")
        if name in parts:
            raise ValueError(f"{name} given twice")
        parts[name] = value
    freq = parts.pop("FREQ", None)
    if freq is None:
        raise ValueError("FREQ is required")
    if freq not in FREQUENCIES:
        raise ValueError(f"FREQ must be one of {', '.join(FREQUENCIES)}")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("COUNT and UNTIL cannot both be given")
    for name, low, high in (("COUNT", 1, None), ("INTERVAL", 1, MAX_INTERVAL)):
        if name in parts:
            value = parts[name]
            if not value.isdigit() or int(value) < low or (high is not None and int(value) > high):
                bounds = f"{low}..{high}" if high else f"at least {low}"
                raise ValueError(f"{name} must be an integer {bounds}")
    canonical = ";".join([f"FREQ={freq}", *(f"{k}={v}" for k, v in parts.items())])
    parsed = _parse(canonical, utc=parts.get("UNTIL", "").endswith("Z"))
    probe = parsed.replace(dtstart=_PROBE_START, until=None, count=None)
    if probe.after(_PROBE_START, inc=True) is None:
        raise ValueError("the rule never occurs")
    return canonical


def _parse(rule: str, *, utc: bool) -> rrule:
    # dateutil wants an aware start when UNTIL is in UTC (…Z), a naive one otherwise.
    start = datetime(2000, 1, 1, tzinfo=UTC) if utc else datetime(2000, 1, 1)
    try:
        parsed = rrulestr(rule, dtstart=start)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise ValueError(str(exc) or "not a valid RRULE") from None
    if not isinstance(parsed, rrule):  # rrulestr returns a set for several rules
        raise ValueError("one RRULE only")
    return parsed
