"""argon2id hashing off the event loop, with cheap parameters (the production ones are checked
in tests/e2e/test_config.py)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from server.services.accounts import passwords as passwords_module
from server.services.accounts.passwords import Passwords

CHEAP = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


@pytest.fixture
def passwords() -> Iterator[Passwords]:
    hasher = Passwords(**CHEAP, workers=2)
    yield hasher
    hasher.close()


async def test_hash_is_argon2id_with_the_given_parameters(passwords: Passwords) -> None:
    hashed = await passwords.hash("correct horse")

    assert hashed.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert "correct horse" not in hashed
    assert await passwords.hash("correct horse") != hashed  # salted


async def test_verify_matches_only_the_password(passwords: Passwords) -> None:
    hashed = await passwords.hash("correct horse")

    assert await passwords.verify(hashed, "correct horse") == (True, False)
    assert await passwords.verify(hashed, "correct horsE") == (False, False)
    assert await passwords.verify(hashed, "") == (False, False)


async def test_verify_says_when_the_parameters_changed(passwords: Passwords) -> None:
    old = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1).hash("pw-123456")

    assert await passwords.verify(old, "pw-123456") == (True, True)
    assert await passwords.verify(old, "wrong") == (False, False)


@pytest.mark.parametrize("stored", ["", "plain-text", "$argon2id$v=19$m=1024,t=1,p=1$broken"])
async def test_a_corrupt_stored_hash_is_a_mismatch_not_an_error(
    passwords: Passwords, stored: str
) -> None:
    assert await passwords.verify(stored, "anything") == (False, False)


async def test_burn_verifies_against_a_dummy_hash_of_the_same_cost(passwords: Passwords) -> None:
    assert passwords._dummy_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    calls: list[tuple[str, str]] = []
    original = passwords._verify

    def spy(password_hash: str, password: str) -> tuple[bool, bool]:
        calls.append((password_hash, password))
        return original(password_hash, password)

    passwords._verify = spy  # type: ignore[method-assign]

    assert await passwords.burn("guess") is None
    assert calls == [(passwords._dummy_hash, "guess")]


async def test_hashing_runs_in_the_pool_not_on_the_event_loop(passwords: Passwords) -> None:
    threads: list[str] = []
    hasher = passwords._hasher

    class Spy:
        def __getattr__(self, name: str) -> object:
            method = getattr(hasher, name)

            def call(*args: object) -> object:
                threads.append(threading.current_thread().name)
                return method(*args)

            return call

    passwords._hasher = Spy()  # type: ignore[assignment]
    hashed = await passwords.hash("x")
    await passwords.verify(hashed, "x")

    assert len(threads) == 3  # hash, verify, check_needs_rehash
    assert all(name.startswith("argon2") for name in threads), threads


def test_the_pool_size_follows_workers_or_the_cores() -> None:
    two = Passwords(**CHEAP, workers=2)
    default = Passwords(**CHEAP, workers=0)
    try:
        assert two._pool._max_workers == 2
        assert default._pool._max_workers == (os.cpu_count() or 1)
    finally:
        two.close()
        default.close()


async def test_hashing_threads_run_at_lower_priority(passwords: Passwords) -> None:
    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, 0)

    if niceness() >= 10:
        pytest.skip("this process already runs at niceness 10 or lower priority")

    assert await passwords._run(niceness) == 10


def test_lowering_priority_tolerates_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: int) -> None:
        raise OSError("not permitted")

    monkeypatch.setattr(passwords_module.os, "setpriority", refuse)

    passwords_module._lower_priority()  # no exception


def test_lowering_priority_tolerates_platforms_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(passwords_module.os, "setpriority")

    passwords_module._lower_priority()  # no exception


def test_without_a_core_count_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords_module.os, "cpu_count", lambda: None)
    hasher = Passwords(**CHEAP, workers=0)
    try:
        assert hasher._pool._max_workers == 1
    finally:
        hasher.close()


class Held:
    """A hasher whose hashes wait, in their thread, until `release` is set; `started` is set
    when the first one runs."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished: list[str] = []

    def hash(self, password: str) -> str:
        self.started.set()
        assert self.release.wait(10), "never released"
        result: str = self.real.hash(password)  # type: ignore[attr-defined]
        self.finished.append(password)
        return result


async def test_close_waits_for_the_running_hash_and_cancels_the_queued_ones() -> None:
    # A costlier hash: close() not waiting would return well before it finishes.
    hasher = Passwords(time_cost=2, memory_cost=16 * 1024, parallelism=1, workers=1)
    held = Held(hasher._hasher)
    hasher._hasher = held  # type: ignore[assignment]
    hashes = [asyncio.ensure_future(hasher.hash(f"password-{i}")) for i in range(3)]
    assert await asyncio.to_thread(held.started.wait, 10)  # one running, two queued
    # The running hash may finish only once the queued ones are cancelled (else the single
    # thread would take the next): the pool's shutdown is split around the release.
    shutdown = hasher._pool.shutdown

    def cancel_release_then_wait(wait: bool = True, *, cancel_futures: bool = False) -> None:
        shutdown(wait=False, cancel_futures=cancel_futures)
        held.release.set()
        shutdown(wait=wait)

    hasher._pool.shutdown = cancel_release_then_wait  # type: ignore[method-assign]

    hasher.close()

    assert held.finished == ["password-0"]  # close() returned once the running one finished
    outcomes = await asyncio.gather(*hashes, return_exceptions=True)
    assert isinstance(outcomes[0], str)
    assert [type(o) for o in outcomes[1:]] == [asyncio.CancelledError] * 2


async def test_the_queue_depth_counts_hashes_waiting_for_a_thread() -> None:
    hasher = Passwords(**CHEAP, workers=1)
    try:
        assert hasher.queue_depth() == 0
        for _ in range(2):  # the count comes back to zero, every time
            held = Held(hasher._hasher)
            hasher._hasher = held  # type: ignore[assignment]
            hashes = [asyncio.ensure_future(hasher.hash(f"p{i}")) for i in range(4)]
            assert await asyncio.to_thread(held.started.wait, 10)
            assert hasher.queue_depth() == 3  # one running, three waiting
            held.release.set()
            await asyncio.gather(*hashes)
            assert hasher.queue_depth() == 0
            hasher._hasher = held.real  # type: ignore[assignment]
    finally:
        if isinstance(hasher._hasher, Held):  # a failed check: let the held thread go
            hasher._hasher.release.set()
        hasher.close()


async def test_close_stops_the_pool() -> None:
    hasher = Passwords(**CHEAP, workers=1)
    hasher.close()

    with pytest.raises(RuntimeError):
        await hasher.hash("x")
