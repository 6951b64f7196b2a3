"""The background loops' failed steps (server/services/common/idle.py, StepFailures): the
loop goes on after the database went away or a bug, pausing longer the more steps fail."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
from pymongo.errors import AutoReconnect

from server.services.common.idle import StepFailures


class Pauses:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def step(*outcomes: bool | Exception) -> Callable[[], Awaitable[bool]]:
    queue = list(outcomes)

    async def run() -> bool:
        outcome = queue.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return run


async def test_the_database_away_is_retried_after_growing_pauses_up_to_5_s(caplog) -> None:
    clock = Pauses()
    failures = StepFailures("reminders", clock)
    run = step(*[AutoReconnect("away")] * 6, True)
    results = [await failures.attempt(run) for _ in range(7)]
    assert results == [None] * 6 + [True]
    assert clock.slept == [0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert "reminders: database unavailable (AutoReconnect)" in caplog.text


async def test_a_success_starts_the_pauses_again(caplog) -> None:
    clock = Pauses()
    failures = StepFailures("change notices", clock)
    run = step(AutoReconnect("away"), AutoReconnect("away"), False, AutoReconnect("away"))
    assert [await failures.attempt(run) for _ in range(4)] == [None, None, False, None]
    assert clock.slept == [0.4, 0.8, 0.4]


async def test_a_bug_is_logged_with_its_traceback_and_retried_up_to_30_s(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Pauses()
    failures = StepFailures("change notices", clock)
    run = step(*[ValueError("bug")] * 8)
    with caplog.at_level(logging.ERROR):
        assert [await failures.attempt(run) for _ in range(8)] == [None] * 8
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert "change notices: delivery failed" in caplog.text
    assert "ValueError: bug" in caplog.text  # the traceback


async def test_database_away_can_wait_its_own_way_instead_of_pausing() -> None:
    clock = Pauses()
    waited: list[str] = []

    async def wait() -> None:
        waited.append("waited")

    failures = StepFailures("reminders", clock)
    run = step(AutoReconnect("away"), True)
    assert await failures.attempt(run, database_away=wait) is None
    assert await failures.attempt(run, database_away=wait) is True
    assert (waited, clock.slept) == (["waited"], [])
