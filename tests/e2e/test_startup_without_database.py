"""Start-up while MongoDB does not answer (a closed port): the web process serves — /health
200, /ready and the database routes 503, one log line naming the host and what to check — and
connects (indexes included) when the database appears; `migrate` fails with one line."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path

import aiohttp
from pymongo import AsyncMongoClient

from server.db.embedded import EmbeddedMongo, free_port
from tests.bot_helpers import bot_settings, post_update
from tests.conftest import TEST_JWT_SECRET
from tests.fake_bot_api import text_message_update
from tests.helpers import PASSWORD, REGISTER, assert_problem
from tests.process import ROOT, ServiceProcess

TIMEOUT = 1.0
OWASP_ARGON2 = {"ARGON2_TIME_COST": "2", "ARGON2_MEMORY_COST": "19456"}  # production refuses less


async def wait_for_status(get, path: str, status: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while (seen := await get(path)) != status:
        assert time.monotonic() < deadline, f"{path}: {seen}, expected {status}"
        await asyncio.sleep(0.1)


def one_line_about(port: int, messages: list[str]) -> str:
    [line] = [m for m in messages if "does not answer" in m]
    assert f"MongoDB at 127.0.0.1:{port} does not answer within 1s" in line
    assert "[Errno 111]" in line  # the cause, from PyMongo: connection refused
    assert "check MONGODB_URI's host and port" in line
    assert "\n" not in line
    return line


async def test_the_app_serves_without_its_database_and_connects_when_it_appears(
    make_client, fake_api, tmp_path, db_name, caplog
):
    caplog.set_level(logging.INFO)
    port = free_port()  # nothing listens there yet
    started = time.monotonic()
    client = await make_client(
        **bot_settings(fake_api),
        mongodb_uri=f"mongodb://127.0.0.1:{port}/",
        mongodb_timeout=TIMEOUT,
    )
    assert time.monotonic() - started < TIMEOUT + 3  # one bounded attempt, then it serves

    assert (await client.get("/health")).status == 200
    await assert_problem(await client.get("/ready"), 503)
    refused = await client.post(REGISTER, json={"username": "alice", "password": PASSWORD})
    body = await assert_problem(refused, 503)
    assert body["type"] == "urn:problem:database-unavailable"
    assert refused.headers["Retry-After"].isdigit()
    update = text_message_update("/start", user_id=5, update_id=77)
    assert (await post_update(client, update)).status == 503  # Telegram delivers it again
    assert (await client.get("/api/openapi.json")).status == 200  # needs no database
    line = one_line_about(port, [r.getMessage() for r in caplog.records])
    assert "serving anyway: /ready answers 503 until it answers" in line
    assert not [r for r in caplog.records if r.exc_info]  # no traceback

    mongo = EmbeddedMongo(tmp_path / "late", port=port)
    await asyncio.to_thread(mongo.start)
    try:

        async def status(path: str) -> int:
            return (await client.get(path)).status

        await wait_for_status(status, "/ready", 200)
        created = await client.post(REGISTER, json={"username": "alice", "password": PASSWORD})
        assert created.status == 201
        assert (await post_update(client, update)).status == 200  # the redelivery
        await fake_api.wait_for("sendMessage")
        direct: AsyncMongoClient = AsyncMongoClient(mongo.uri)
        try:
            indexes = await direct[db_name]["users"].index_information()
        finally:
            await direct.close()
        assert any(index.get("unique") for name, index in indexes.items() if name != "_id_")
        assert any("answers after" in r.getMessage() for r in caplog.records)
    finally:
        await asyncio.to_thread(mongo.stop)


def production_env(port: int) -> dict[str, str]:
    return {
        "ENV": "production",
        "HOST": "127.0.0.1",
        "MONGODB_URI": f"mongodb://127.0.0.1:{port}/",
        "MONGODB_TIMEOUT": str(TIMEOUT),
        **OWASP_ARGON2,
    }


async def test_production_process_starts_without_its_database_and_recovers(tmp_path: Path):
    port = free_port()
    service = ServiceProcess(tmp_path / "data", tmp_path / "service.log")
    service.env.update(production_env(port))  # after the constructor: never a real MONGODB_URI
    mongo = EmbeddedMongo(tmp_path / "late", port=port)
    try:
        await service.start(until="/health")
        async with aiohttp.ClientSession() as session:

            async def status(path: str) -> int:
                async with session.get(f"{service.url}{path}") as response:
                    return response.status

            assert await status("/ready") == 503
            log = service.log()
            assert "Traceback" not in log
            one_line_about(port, log.splitlines())

            await asyncio.to_thread(mongo.start)
            await wait_for_status(status, "/ready", 200)
            registration = {"username": "alice", "password": PASSWORD}
            async with session.post(f"{service.url}{REGISTER}", json=registration) as response:
                assert response.status == 201
    finally:
        await service.stop()
        await asyncio.to_thread(mongo.stop)
    assert "Traceback" not in service.log()


async def test_migrate_fails_with_one_line_and_a_nonzero_exit(tmp_path: Path):
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATA_DIR": str(tmp_path),
        "JWT_SECRET": TEST_JWT_SECRET,
        **production_env(port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", "migrate", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == 1
    errors = [line for line in stderr.decode().splitlines() if line.startswith("error:")]
    assert "Traceback" not in stderr.decode()
    [line] = errors
    assert line.startswith(f"error: database: MongoDB at 127.0.0.1:{port} does not answer")
    one_line_about(port, [line])


async def test_polling_starts_only_when_the_database_answers(make_client, fake_api, tmp_path):
    """getUpdates confirms what it fetched: polling without a database would lose updates."""
    port = free_port()
    client = await make_client(
        **bot_settings(fake_api, public_url=None),
        mongodb_uri=f"mongodb://127.0.0.1:{port}/",
        mongodb_timeout=TIMEOUT,
    )
    fake_api.push_update(text_message_update("/start", user_id=81, first_name="Late"))
    await asyncio.sleep(0.3)  # a running poller would have asked by now (it asks at once)
    assert not fake_api.calls_to("getUpdates")

    mongo = EmbeddedMongo(tmp_path / "late", port=port)
    await asyncio.to_thread(mongo.start)
    try:
        [reply] = await fake_api.wait_for("sendMessage", timeout=15)
        assert reply.params["text"].startswith("Привет, Late!")
        assert (await client.get("/ready")).status == 200
    finally:
        await asyncio.to_thread(mongo.stop)


async def test_a_malformed_mongodb_uri_is_one_line(tmp_path: Path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATA_DIR": str(tmp_path),
        "JWT_SECRET": TEST_JWT_SECRET,
        **production_env(0),
        "MONGODB_URI": "mongodb://user:s3cret-pass@127.0.0.1:notaport/",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", "migrate", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == 1
    text = stderr.decode()
    assert "Traceback" not in text
    assert "s3cret-pass" not in text
    assert "error: database: MONGODB_URI cannot be used: Port" in text
