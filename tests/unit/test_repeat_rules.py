# ruff: noqa: E501 - one rule per line in the tables
"""Repeat rules cost bounded work whatever their text (issue 22, items 1, 2 and 7): checks
before expansion, a candidate budget on every expansion, the next occurrence found without
walking from an old anchor, and no two occurrences closer than the minimum gap.

Time limits here are CPU time of this thread (`time.thread_time`), so a busy machine does
not make them flaky; the e2e test measures the event loop's latency itself."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from server.services.dates.budget import BudgetedRule, BudgetExceeded, CandidateBudget
from server.services.dates.occurrences import RuleError, RuleTooCostly, next_occurrence
from server.services.dates.rrule import (
    DEFAULT_MIN_GAP,
    RuleRefused,
    check_rule,
    min_gap_seconds,
    normalize_rrule,
    parse_rule,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 7, 4, 40, 12, tzinfo=UTC)
ONE_CALL_MS = 50  # the event-loop rule: no call may hold the loop longer
ALL_MINUTES = ",".join(str(m) for m in range(60))
ALL_SECONDS = ",".join(str(s) for s in range(60))
# Issue 22's rules, as reported.
FREEZE_RULE = f"FREQ=HOURLY;BYMINUTE={ALL_MINUTES};BYSECOND=0,1,2,3,4,5;BYSETPOS=-366"
EVERY_SECOND = f"FREQ=HOURLY;BYMINUTE={ALL_MINUTES};BYSECOND={ALL_SECONDS}"


def cpu_ms(call, *args, **kwargs):
    start = time.thread_time()
    try:
        result = call(*args, **kwargs)
    except ValueError as exc:
        result = exc
    return (time.thread_time() - start) * 1000, result


# --- item 1: validation is bounded ---------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [FREEZE_RULE, "FREQ=HOURLY;BYSETPOS=2", "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
     "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
     "FREQ=MONTHLY;BYMONTH=2,4,6,9,11;BYMONTHDAY=31", "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO;BYMONTHDAY=1",
     "FREQ=HOURLY;BYHOUR=" + ",".join(str(h) for h in range(24)) + ";BYMONTH=2;BYMONTHDAY=30",
     "FREQ=DAILY;BYHOUR=0,6,12,18;BYSETPOS=" + ",".join(str(-p) for p in range(300, 362))],
)  # fmt: skip
def test_hostile_rules_are_refused_within_one_call_budget(rule):
    elapsed, result = cpu_ms(normalize_rrule, rule)
    assert isinstance(result, RuleRefused), result
    assert elapsed < ONE_CALL_MS, f"{elapsed:.1f} ms for {rule[:40]}"


def test_the_freeze_rule_is_refused_before_any_expansion(monkeypatch):
    # Its 360 times an hour break the smallest gap: refused without building a single one.
    def no_expansion(*args, **kwargs):
        raise AssertionError("expanded")

    monkeypatch.setattr(BudgetedRule, "walk", no_expansion)
    with pytest.raises(RuleRefused, match="at least 5 minutes apart"):
        normalize_rrule(FREEZE_RULE)


@pytest.mark.parametrize(
    ("rule", "reason"),
    [("FREQ=DAILY;BYMONTHDAY=" + ",".join(str(d) for d in range(1, 32)) + ",-1,-2," + ",".join(str(-d) for d in range(3, 32)) + ",1", "more than 62"),
     ("FREQ=DAILY;COUNT=1001", "COUNT"), ("FREQ=DAILY;INTERVAL=1001", "INTERVAL"),
     ("FREQ=YEARLY;BYSETPOS=0", "BYSETPOS"), ("FREQ=YEARLY;BYSETPOS=367", "BYSETPOS"),
     ("FREQ=WEEKLY;BYDAY=1MO", "ordinals"), ("FREQ=MONTHLY;BYDAY=6MO", "ordinals"),
     ("FREQ=DAILY;BYSECOND=60", "BYSECOND"), ("FREQ=DAILY;UNTIL=20300231", "real date"),
     ("FREQ=MONTHLY;BYWEEKNO=1", "BYWEEKNO")],
)  # fmt: skip
def test_parts_are_bounded_before_anything_else(rule, reason):
    with pytest.raises(RuleRefused, match=reason):
        parse_rule(rule)


def test_the_budget_stops_a_walk_that_never_yields():
    # dateutil alone walks this to the year 9999 (about 8,000 yearly periods, ~0.5 s).
    rule = BudgetedRule(freq=0, dtstart=datetime(2001, 1, 1), interval=4, bymonth=2, bymonthday=29)
    budget = CandidateBudget()
    started = time.thread_time()
    with pytest.raises(BudgetExceeded):
        rule.first_after(NOW.replace(tzinfo=None), budget)
    elapsed = (time.thread_time() - started) * 1000
    assert budget.left < 0
    assert elapsed < ONE_CALL_MS


def test_a_rule_that_never_occurs_from_its_anchor_is_refused_in_time():
    # Leap day every 4 years from a year that is not leap: never. Valid as a rule (some
    # anchors work), so only the expansion can tell; it must give up within the budget.
    anchor = datetime(2001, 2, 28, 9, tzinfo=UTC)
    rule = "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29"
    elapsed, result = cpu_ms(next_occurrence, rule, anchor, NOW, UTC, strict=True)
    assert isinstance(result, RuleTooCostly)
    assert elapsed < ONE_CALL_MS
    assert next_occurrence(rule, anchor, NOW, UTC) is None  # the lenient form: it has ended


# --- item 2: an old anchor costs what a recent one does ------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("FREQ=HOURLY;BYMINUTE=0,15,30,45", datetime(2026, 12, 7, 4, 45, tzinfo=UTC)),
     ("FREQ=HOURLY;BYMINUTE=0,5,10,15,20,25,30,35,40,45,50,55", datetime(2026, 12, 7, 4, 45, tzinfo=UTC)),
     ("FREQ=HOURLY;INTERVAL=7", datetime(2026, 12, 7, 7, 0, tzinfo=UTC)),
     ("FREQ=DAILY;BYHOUR=9", datetime(2026, 12, 7, 9, tzinfo=UTC)),
     ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH", datetime(2026, 12, 14, tzinfo=UTC)),
     ("FREQ=MONTHLY;BYDAY=-1FR", datetime(2026, 12, 25, tzinfo=UTC)),
     ("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", datetime(2028, 2, 29, tzinfo=UTC))],
)  # fmt: skip
def test_a_reminder_dated_1900_finds_its_next_occurrence_at_once(rule, expected):
    anchor = datetime(1900, 1, 1, tzinfo=UTC)
    elapsed, result = cpu_ms(next_occurrence, rule, anchor, NOW, UTC, strict=True)
    assert result == expected
    assert elapsed < ONE_CALL_MS, f"{elapsed:.1f} ms"


def test_the_jump_keeps_the_phase_and_the_wall_clock_across_dst():
    # Every 3 days at 09:00 Berlin from 1 March 1950: the phase is whole 3-day steps.
    anchor = datetime(1950, 3, 1, 9, tzinfo=BERLIN)
    after = datetime(2026, 3, 27, 12, tzinfo=BERLIN)
    result = next_occurrence("FREQ=DAILY;INTERVAL=3", anchor, after, BERLIN)
    assert result is not None
    local = result.astimezone(BERLIN)
    assert (local.date() - anchor.date()).days % 3 == 0
    assert local.hour == 9
    assert local > after
    assert local - after < timedelta(days=3)


# Random rules, compared with dateutil walking from the anchor (the old, unbounded way):
# the restart must change no result. Anchors stay close enough for the old way to be quick.
PARTS = st.fixed_dictionaries(
    {"freq": st.sampled_from(["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
     "interval": st.integers(1, 5)},
    optional={
        "BYMONTH": st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True),
        "BYMONTHDAY": st.lists(st.integers(-31, 31).filter(bool), min_size=1, max_size=4, unique=True),
        "BYDAY": st.lists(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), min_size=1, max_size=3, unique=True),
        "BYHOUR": st.lists(st.integers(0, 23), min_size=1, max_size=3, unique=True),
        "BYMINUTE": st.lists(st.sampled_from([0, 15, 30, 45]), min_size=1, max_size=2, unique=True),
        "BYSETPOS": st.lists(st.integers(-3, 3).filter(bool), min_size=1, max_size=2, unique=True),
        "WKST": st.sampled_from(["MO", "SU", "WE"]),
    },
)  # fmt: skip


def rule_text(parts: dict) -> str:
    text = [f"FREQ={parts['freq']}", f"INTERVAL={parts['interval']}"]
    for name, value in parts.items():
        if name not in ("freq", "interval"):
            text.append(f"{name}={','.join(map(str, value)) if isinstance(value, list) else value}")
    return ";".join(text)


def old_way(rule: str, anchor: datetime, after: datetime, zone: ZoneInfo) -> datetime | None:
    expanded = rrulestr(rule, dtstart=anchor.astimezone(zone))
    for candidate in expanded:
        if candidate.astimezone(UTC) > after:
            return candidate.astimezone(UTC)
    return None


@settings(max_examples=150, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])  # fmt: skip
@given(
    parts=PARTS,
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe"]).map(ZoneInfo),
    anchor=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 1, 1)).map(lambda d: d.replace(microsecond=0, tzinfo=UTC)),
    ahead=st.integers(0, 3 * 365 * 24),
)  # fmt: skip
def test_the_restart_changes_no_result(parts, zone, anchor, ahead):
    rule = rule_text(parts)
    try:
        check_rule(rule)
    except RuleRefused:
        assume(False)
    if parts["freq"] == "HOURLY":
        ahead = ahead % (40 * 24)  # the old way walks hour by hour: keep it affordable
    after = anchor + timedelta(hours=ahead)
    try:
        ours = next_occurrence(rule, anchor, after, zone, strict=True)
    except RuleTooCostly:
        assume(False)
    except RuleError:
        assume(False)  # e.g. BYHOUR that INTERVAL never reaches from this anchor
    assert ours is not None  # no COUNT/UNTIL here: a checked rule keeps occurring
    assert ours == old_way(rule, anchor, after, zone)


# --- item 7: no two occurrences closer than the minimum gap --------------------------------


@pytest.mark.parametrize(
    "rule",
    [EVERY_SECOND, f"FREQ=HOURLY;BYMINUTE={ALL_MINUTES}", "FREQ=HOURLY;BYMINUTE=0,58",
     "FREQ=HOURLY;BYMINUTE=0;BYSECOND=0,30", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0,4",
     "FREQ=DAILY;BYHOUR=0,23;BYMINUTE=0,58", "FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=0,23;BYMINUTE=0,58",
     "FREQ=YEARLY;BYWEEKNO=1;BYHOUR=0,23;BYMINUTE=0,57",
     "FREQ=HOURLY;BYHOUR=9,10;BYMINUTE=0,59", "FREQ=MONTHLY;BYMONTHDAY=1,2;BYHOUR=0,23;BYMINUTE=0,59"],
)  # fmt: skip
def test_rules_with_occurrences_under_five_minutes_apart_are_refused(rule):
    elapsed, result = cpu_ms(normalize_rrule, rule)
    assert isinstance(result, RuleRefused)
    assert "5 minutes" in str(result)
    assert elapsed < ONE_CALL_MS


@pytest.mark.parametrize(
    "rule",
    ["FREQ=HOURLY", "FREQ=HOURLY;BYMINUTE=0,30", "FREQ=HOURLY;BYMINUTE=0,5,10,15,20,25,30,35,40,45,50,55",
     "FREQ=HOURLY;BYHOUR=9;BYMINUTE=0,59", "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0",
     "FREQ=WEEKLY;BYDAY=MO;BYHOUR=0,23;BYMINUTE=0,58", "FREQ=DAILY;INTERVAL=2;BYHOUR=0,23;BYMINUTE=0,58",
     "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"],
)  # fmt: skip
def test_rules_spaced_at_least_five_minutes_are_accepted(rule):
    assert normalize_rrule(rule) == rule


def test_a_stored_rule_under_the_gap_is_not_re_armed():
    # A rule saved before the check (the reminder engine re-arms what is stored).
    with pytest.raises(RuleError, match="at least"):
        next_occurrence(EVERY_SECOND, NOW, NOW, UTC)


GAP_PARTS = st.fixed_dictionaries(
    {"freq": st.sampled_from(["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
     "interval": st.integers(1, 3)},
    optional={
        "BYHOUR": st.lists(st.integers(0, 23), min_size=1, max_size=4, unique=True),
        "BYMINUTE": st.lists(st.integers(0, 59), min_size=1, max_size=4, unique=True),
        "BYSECOND": st.lists(st.integers(0, 59), min_size=1, max_size=2, unique=True),
        "BYDAY": st.lists(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), min_size=1, max_size=3, unique=True),
        "BYMONTHDAY": st.lists(st.integers(-31, 31).filter(bool), min_size=1, max_size=3, unique=True),
        "BYWEEKNO": st.lists(st.integers(1, 53), min_size=1, max_size=2, unique=True),
    },
)  # fmt: skip


@settings(max_examples=300, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])  # fmt: skip
@given(
    parts=GAP_PARTS,
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_accepted_rules_never_place_two_occurrences_closer_than_the_gap(parts, start):
    """The gap is decided from the parts; expanding the rule must agree with it."""
    rule = rule_text(parts)
    try:
        parsed = check_rule(rule)
    except RuleRefused:
        assume(False)
    assert min_gap_seconds(parsed) >= DEFAULT_MIN_GAP
    try:
        expanded = BudgetedRule(**parsed.kwargs(start.replace(microsecond=0)))
    except ValueError:
        assume(False)  # BYHOUR that INTERVAL never reaches from this start
    previous = None
    try:
        for n, occurrence in enumerate(expanded.walk(CandidateBudget())):
            if previous is not None:
                assert (occurrence - previous).total_seconds() >= DEFAULT_MIN_GAP, rule
            previous = occurrence
            if n == 300:
                break
    except BudgetExceeded:
        pass


# --- fuzz: any rule parts, bounded time per call --------------------------------------------

ANY_PART = st.one_of(
    st.tuples(st.sampled_from(["BYSECOND", "BYMINUTE", "BYHOUR", "BYMONTHDAY", "BYYEARDAY",
                               "BYWEEKNO", "BYMONTH", "BYSETPOS"]),
              st.lists(st.integers(-400, 400), min_size=1, max_size=70).map(lambda v: ",".join(map(str, v)))),
    st.tuples(st.just("BYDAY"), st.lists(st.tuples(st.sampled_from(["", "1", "-1", "5", "+2", "53", "-60"]),
                                                   st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"])),
                                         min_size=1, max_size=20).map(lambda v: ",".join(a + b for a, b in v))),
    st.tuples(st.sampled_from(["COUNT", "INTERVAL"]), st.integers(0, 5000).map(str)),
    st.tuples(st.just("UNTIL"), st.sampled_from(["20300101", "20300101T000000Z", "19000101T000000", "2030"])),
    st.tuples(st.just("WKST"), st.sampled_from(["MO", "SU", "XX"])),
    st.tuples(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8), st.text(min_size=1, max_size=8)),
)  # fmt: skip


@settings(max_examples=400, deadline=None, database=None, derandomize=True)
@given(
    freq=st.sampled_from(["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY", "MINUTELY", "FOO"]),
    parts=st.lists(ANY_PART, max_size=6),
    anchor=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9998, 1, 1)).map(lambda d: d.replace(tzinfo=UTC)),
    zone=st.sampled_from(["Europe/Berlin", "Pacific/Chatham", "UTC"]).map(ZoneInfo),
)  # fmt: skip
def test_fuzzed_rules_validate_and_plan_within_the_call_budget(freq, parts, anchor, zone):
    rule = ";".join([f"FREQ={freq}", *(f"{name}={value}" for name, value in parts)])
    elapsed, result = cpu_ms(normalize_rrule, rule)
    assert elapsed < ONE_CALL_MS, f"validation: {elapsed:.1f} ms for {rule}"
    if isinstance(result, ValueError):
        return
    elapsed, planned = cpu_ms(next_occurrence, result, anchor, NOW, zone, strict=True)
    assert elapsed < ONE_CALL_MS, f"next occurrence: {elapsed:.1f} ms for {rule}"
    assert planned is None or isinstance(planned, ValueError) or planned > NOW
