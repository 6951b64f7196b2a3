"""Crashes and shutdown of the real process: kill -9 in a registration storm, SIGTERM with
requests in flight. Slow: run by `make test-slow` (and CI)."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from pymongo import AsyncMongoClient

from tests.process import ServiceProcess

pytestmark = pytest.mark.slow

STORM = 200
PASSWORD = "storm-passphrase-{}-xyz"


async def register(session: aiohttp.ClientSession, url: str, i: int) -> int | str:
    body = {"username": f"storm{i}", "password": PASSWORD.format(i)}
    try:
        async with session.post(f"{url}/api/auth/register", json=body) as response:
            await response.read()
            return response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        return type(exc).__name__


async def login_status(session: aiohttp.ClientSession, url: str, i: int) -> int:
    body = {"username": f"storm{i}", "password": PASSWORD.format(i)}
    async with session.post(f"{url}/api/auth/login", json=body) as response:
        return response.status


async def wait_for_login_attempts(
    service: ServiceProcess,
    username: str,
    count: int,
    answered: Callable[[], int],
    seconds: float = 20.0,
) -> None:
    """Until the service has counted `count` login attempts for `username` (those already
    answered were forgiven, so they are added back)."""
    digest = hashlib.sha256(username.encode()).hexdigest()[:32]
    client: AsyncMongoClient = AsyncMongoClient(f"mongodb://127.0.0.1:{service.embedded_port()}")
    try:
        deadline = time.monotonic() + seconds
        while True:
            counters = (
                await client["assistant"]["rate_counters"]
                .find({"_id": {"$regex": f"^login-user:{digest}:"}})
                .to_list()
            )
            if sum(c["attempts"] for c in counters) + answered() >= count:
                return
            assert time.monotonic() < deadline, f"{count} login attempts not counted in time"
            await asyncio.sleep(0.02)
    finally:
        await client.close()


async def test_kill_9_during_a_registration_storm_leaves_no_half_made_user(tmp_path: Path):
    env = {"REGISTER_MAX_PER_ADDRESS": "100000", "LOGIN_MAX_FAILURES_PER_ADDRESS": "100000"}
    service = ServiceProcess(tmp_path / "data", tmp_path / "service.log", **env)
    await service.start()
    first_db_port = service.embedded_port()
    connector = aiohttp.TCPConnector(limit=STORM)
    async with aiohttp.ClientSession(connector=connector) as session:
        storm = [asyncio.create_task(register(session, service.url, i)) for i in range(STORM)]
        # Kill once some registrations have answered and others are still in flight.
        for answered, next_done in enumerate(asyncio.as_completed(storm), start=1):
            await next_done
            if answered == STORM // 4:
                break
        service.signal(signal.SIGKILL)
        results = await asyncio.gather(*storm)
    assert await service.wait() == -signal.SIGKILL
    created = [i for i, status in enumerate(results) if status == 201]
    failed = [i for i, status in enumerate(results) if status != 201]
    assert created, "the storm was killed before any registration finished"
    assert failed, "the kill came after the storm; nothing was in flight"
    assert all(status in (201, 429) or isinstance(status, str) for status in results), results

    # The embedded server dies with its parent instead of lingering on the files.
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", first_db_port)
        except OSError:
            break
        writer.close()
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the embedded database outlived the killed app")

    await service.start()  # same DATA_DIR
    try:
        async with aiohttp.ClientSession() as session:
            for i in created:
                assert await login_status(session, service.url, i) == 200, i
            for i in failed:  # an unanswered registration either exists whole or not at all
                assert await login_status(session, service.url, i) in (200, 401), i
        client: AsyncMongoClient = AsyncMongoClient(
            f"mongodb://127.0.0.1:{service.embedded_port()}", tz_aware=True
        )
        users = await client["assistant"]["users"].find({}).to_list()
        await client.close()
        names = [user["username_normalized"] for user in users]
        assert len(names) == len(set(names)), "duplicate users"
        assert set(created) <= {int(name.removeprefix("storm")) for name in names}
        for user in users:
            assert user["password_hash"].startswith("$argon2id$"), user
    finally:
        await service.stop()


async def test_sigterm_lets_in_flight_requests_finish_then_stops_the_database(tmp_path: Path):
    # Costlier argon2 so that logins are still running when SIGTERM arrives.
    service = ServiceProcess(
        tmp_path / "data",
        tmp_path / "service.log",
        ARGON2_TIME_COST="3",
        ARGON2_MEMORY_COST="65536",
        HASH_WORKERS="1",
        SHUTDOWN_TIMEOUT="30",
        # Logins in flight count against the per-username limits; eight at once exceed five.
        LOGIN_MAX_FAILURES_PER_USERNAME_AND_ADDRESS="20",
        LOGIN_MAX_FAILURES_PER_USERNAME="20",
    )
    await service.start()
    credentials = {"username": "calm", "password": "sigterm-passphrase-xyz"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{service.url}/api/auth/register", json=credentials) as r:
            assert r.status == 201

        async def login() -> int:
            async with session.post(f"{service.url}/api/auth/login", json=credentials) as r:
                await r.read()
                return r.status

        in_flight = [asyncio.create_task(login()) for _ in range(8)]
        # Each login counts its attempt before hashing (and a success takes it back just
        # before answering): eight counted means eight are being served, queued on the one
        # hashing thread.
        await wait_for_login_attempts(
            service, "calm", 8, answered=lambda: sum(t.done() for t in in_flight)
        )
        assert not all(task.done() for task in in_flight)
        service.signal(signal.SIGTERM)
        statuses = await asyncio.gather(*in_flight)
    assert statuses == [200] * 8
    assert await service.wait(seconds=60) == 0
    log = service.log()
    assert log.index("database: embedded nx-27017 stopped") > log.rindex("POST /api/auth/login")
    assert "Traceback" not in log
