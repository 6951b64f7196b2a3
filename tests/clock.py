"""A clock for tests: it moves only when the test moves it (`clock.now += 5`)."""

from __future__ import annotations


class ManualClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
