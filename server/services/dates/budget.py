"""Expanding an RRULE with a hard budget of candidate instants.

dateutil's expansion walks period after period (years, months, weeks, days, hours) and only
looks at UNTIL and COUNT when a period yields an occurrence, so a rule that stops occurring
(February 30th; Monday the 29th of February with INTERVAL=4 on the wrong year) walks to the
year 9999: seconds to minutes of CPU on the event loop (issue 22). An iterator around it
cannot stop that walk, because nothing is yielded while it runs.

`BudgetedRule` runs dateutil's own expansion code with one change: the helper that hands it
each period's candidate days and times (`_iterinfo`) charges a `CandidateBudget`, which
raises `BudgetExceeded` when spent. The expansion code is dateutil's function object with
its module globals copied and `_iterinfo` swapped for the charging subclass, so nothing in
dateutil itself is modified and its semantics are unchanged. A unit test pins that the
budget does stop a never-ending walk, so a dateutil upgrade that changes this internal
fails loudly rather than silently unbudgeted.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from dateutil import rrule as _dateutil_rrule

# Costs in units of about 0.1 µs of CPU (measured on the 2-core box, docs/quotas-and-repeats.md):
# dateutil's per-period overhead (its loop, a year-long list allocated per period) ~3 µs;
# filtering one candidate day ~0.1 µs (once more per BYSETPOS value, each a pass over the
# days); building one time or one occurrence ~0.3-0.5 µs.
PERIOD_COST = 50
SETPOS_COST = 5  # each BYSETPOS value, each period: a lookup that mostly raises IndexError
TIME_COST = 3
OCCURRENCE_COST = 5
YEAR_COST = 40  # the masks rebuilt for a new year (or month)
# One call's budget: ~2.5 ms of CPU (measured 2-3 ms; three times that in wall time on a
# busy 2-core box). Small, because an attacker can make every request spend all of it and
# the loop must stay responsive. It reaches ~2.5 years of days for a DAILY (or HOURLY) rule
# filtered by date, ~15 years of WEEKLY, ~30 of MONTHLY and ~100 of YEARLY periods: a rule
# rarer than that is refused as "too rare to plan" (docs/quotas-and-repeats.md).
DEFAULT_BUDGET = 50_000


class BudgetExceeded(Exception):
    """The expansion looked at more candidates than its budget allows."""


class CandidateBudget:
    __slots__ = ("left", "limit")

    def __init__(self, limit: int = DEFAULT_BUDGET) -> None:
        self.limit = limit
        self.left = limit

    def charge(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise BudgetExceeded(f"more than {self.limit} candidates")

    @property
    def spent(self) -> int:
        return self.limit - self.left


class _ChargingInfo(_dateutil_rrule._iterinfo):
    """dateutil's per-period helper, charging the rule's budget for what each period costs:
    its days (times its BYSETPOS values, each a pass over the days) and its times."""

    # No __slots__ of its own: dateutil's __init__ sets every name in `self.__slots__`, which
    # must stay the base class's list.

    def _charge(self, found: tuple[Any, int, int]) -> tuple[Any, int, int]:
        rule: Any = self.rrule
        setpos = len(rule._bysetpos or ())
        days = found[2] - found[1]
        rule._budget.charge(PERIOD_COST + days * (1 + setpos) + setpos * SETPOS_COST)
        return found

    def rebuild(self, year: int, month: int) -> None:
        rule: Any = self.rrule
        rule._budget.charge(YEAR_COST)
        super().rebuild(year, month)

    def ydayset(self, year: int, month: int, day: int) -> tuple[Any, int, int]:
        return self._charge(super().ydayset(year, month, day))

    def mdayset(self, year: int, month: int, day: int) -> tuple[Any, int, int]:
        return self._charge(super().mdayset(year, month, day))

    def wdayset(self, year: int, month: int, day: int) -> tuple[Any, int, int]:
        return self._charge(super().wdayset(year, month, day))

    def ddayset(self, year: int, month: int, day: int) -> tuple[Any, int, int]:
        return self._charge(super().ddayset(year, month, day))

    def htimeset(self, hour: int, minute: int, second: int) -> list[Any]:
        times: list[Any] = super().htimeset(hour, minute, second)
        rule: Any = self.rrule
        rule._budget.charge(TIME_COST * (1 + len(times)))
        return times


_original_iter = _dateutil_rrule.rrule._iter  # type: ignore[attr-defined]
_charging_iter = types.FunctionType(
    _original_iter.__code__,
    {**_original_iter.__globals__, "_iterinfo": _ChargingInfo},
    _original_iter.__name__,
    _original_iter.__defaults__,
    _original_iter.__closure__,
)


class BudgetedRule(_dateutil_rrule.rrule):
    """A dateutil rrule whose expansion charges `self._budget` (set per walk). No cache: each
    walk starts again under its own budget."""

    _iter = _charging_iter

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs, cache=False)
        self._budget = CandidateBudget()

    def walk(self, budget: CandidateBudget) -> Iterator[datetime]:
        """Every occurrence in order, each one charged too, until the budget is spent."""
        self._budget = budget
        for occurrence in self._iter():
            budget.charge(OCCURRENCE_COST)
            yield occurrence

    def first_after(
        self, after: datetime, budget: CandidateBudget, *, inc: bool = True
    ) -> datetime | None:
        """The first occurrence at or after `after` (strictly after unless `inc`); None when
        the rule ends first. BudgetExceeded when finding it costs more than the budget."""
        for occurrence in self.walk(budget):
            if occurrence > after or (inc and occurrence == after):
                return occurrence
        return None
