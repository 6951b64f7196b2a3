"""argon2id hashing, off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 8, 128  # characters, any Unicode

R = TypeVar("R")


def _lower_priority() -> None:
    """Hashing threads yield the CPU to the event loop thread (Linux: `nice` is per thread),
    so /health and token checks stay fast while a login storm keeps every core busy. Logins
    lose nothing: they wait for the hash anyway."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 10)


Ts = TypeVarTuple("Ts")


class Passwords:
    """Hash and verify in a thread pool: argon2 releases the GIL, so hashes run in parallel
    on every core while the event loop keeps serving."""

    def __init__(self, time_cost: int, memory_cost: int, parallelism: int, workers: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )
        self._workers = workers or os.cpu_count() or 1
        self._in_flight = 0  # submitted and not finished; touched only on the event loop
        self._pool = ThreadPoolExecutor(
            max_workers=self._workers,
            thread_name_prefix="argon2",
            initializer=_lower_priority,
        )
        # Verifying against this for unknown users makes them cost what a wrong password costs.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> tuple[bool, bool]:
        """Return (matches, needs_rehash)."""
        return await self._run(self._verify, password_hash, password)

    async def burn(self, password: str) -> None:
        """Spend one verification's time on the dummy hash, for users that do not exist."""
        await self._run(self._verify, self._dummy_hash, password)

    def _verify(self, password_hash: str, password: str) -> tuple[bool, bool]:
        try:
            self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, False
        return True, self._hasher.check_needs_rehash(password_hash)

    def queue_depth(self) -> int:
        """Hashes waiting for a thread (the metrics read it: a login storm shows here first)."""
        return max(0, self._in_flight - self._workers)

    async def _run(self, fn: Callable[[*Ts], R], *args: *Ts) -> R:
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._in_flight -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
