"""A database that goes away: bounded 503s, a live process, recovery without a restart, and
no lost Telegram update."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from server.db.embedded import EmbeddedMongo
from server.telegram.bot import BOT_APP, INTAKE
from tests.bot_helpers import bot_settings, post_update, wait_handled
from tests.fake_bot_api import text_message_update

TIMEOUT = 1.0
BOT_KEY = "bot-service-token-0123456789abcdefghijklmn"


@pytest.fixture
def own_mongo(tmp_path: Path) -> Iterator[EmbeddedMongo]:
    """A database this test may stop and start again (same port, same files)."""
    server = EmbeddedMongo(tmp_path / "mongo")
    server.start()
    yield server
    server.stop()


def restart(server: EmbeddedMongo) -> EmbeddedMongo:
    again = EmbeddedMongo(server.data_dir, port=server.port)
    again.start()
    return again


async def wait_ready(client) -> None:
    """Until /ready answers 200: the app reconnects by itself, without a restart."""
    for _ in range(100):
        if (await client.get("/ready")).status == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the app did not see the database come back")


@pytest.fixture
async def outage_client(make_client, fake_api, own_mongo):
    return await make_client(
        **bot_settings(fake_api, mongodb_uri=own_mongo.uri, mongodb_timeout=TIMEOUT),
        bot_api_tokens=BOT_KEY,
    )


async def test_every_database_route_answers_503_fast_and_recovers(outage_client, own_mongo):
    client = outage_client
    creds = {"username": "alice", "password": "a-long-unusual-passphrase"}
    registered = await (await client.post("/api/auth/register", json=creds)).json()
    bearer = {"Authorization": f"Bearer {registered['access_token']}"}
    refresh = {"refresh_token": registered["refresh_token"]}

    own_mongo.stop()
    calls = [
        ("POST", "/api/auth/register", {"json": {**creds, "username": "bob"}}),
        ("POST", "/api/auth/login", {"json": creds}),
        ("POST", "/api/auth/refresh", {"json": refresh}),
        ("POST", "/api/auth/logout", {"json": refresh, "headers": bearer}),
        ("GET", "/api/auth/me", {"headers": bearer}),
        ("GET", "/api/auth/me", {"headers": {"Authorization": f"Bot {BOT_KEY}",
                                             "X-Telegram-User-Id": "5"}}),
        ("POST", "/api/auth/telegram", {"json": {"init_data": "a=b&hash=0"}}),
        ("GET", "/ready", {}),
    ]  # fmt: skip
    for method, path, kwargs in calls:
        started = time.monotonic()
        response = await client.request(method, path, **kwargs)
        elapsed = time.monotonic() - started
        assert response.status == 503, (method, path, response.status)
        assert response.content_type == "application/problem+json"
        assert "Retry-After" in response.headers
        assert elapsed < TIMEOUT + 3, (method, path, elapsed)
    assert (await client.get("/health")).status == 200

    restarted = restart(own_mongo)
    try:
        await wait_ready(client)
        assert (await client.post("/api/auth/login", json=creds)).status == 200
        assert (await client.get("/api/auth/me", headers=bearer)).status == 200
    finally:
        restarted.stop()


async def test_webhook_answers_503_while_down_and_the_redelivery_is_handled_once(
    outage_client, own_mongo, fake_api, db_name, caplog
):
    caplog.set_level(logging.INFO, logger="server.telegram.webhook")
    update = text_message_update("/start", user_id=31337, update_id=500)
    own_mongo.stop()
    refused = await post_update(outage_client, update)
    assert refused.status == 503  # Telegram keeps the update and delivers it again
    # Queued only once recorded, and the answer waits for the record: nothing is queued.
    application = outage_client.app[BOT_APP]
    assert application.update_queue.empty()
    assert outage_client.app[INTAKE].in_flight == 0
    assert not fake_api.calls_to("sendMessage")

    restarted = restart(own_mongo)
    mongo = AsyncMongoClient(restarted.uri, tz_aware=True)
    restarted_db = mongo[db_name]
    try:
        await wait_ready(outage_client)
        assert (await post_update(outage_client, update)).status == 200
        assert (await post_update(outage_client, update)).status == 200  # a duplicate
        assert "update 500 delivered again; already handled" in caplog.text  # not queued
        await wait_handled(restarted_db, 500)
        assert len(fake_api.calls_to("sendMessage")) == 1
    finally:
        await mongo.close()
        restarted.stop()
