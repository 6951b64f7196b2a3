"""Shared fixtures: a real MongoDB wire server (embedded nx-27017, or MONGODB_URI when set),
the real app on a real aiohttp test server, and settings cheap enough for fast tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pymongo import AsyncMongoClient

from config import Settings, load_settings
from server.app import create_app
from server.db.embedded import EmbeddedMongo
from tests.bot_helpers import BOT_TOKEN, bot_settings
from tests.fake_bot_api import FakeBotAPI

TEST_JWT_SECRET = "test-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
# Cheap argon2 keeps the suite fast; the production defaults are tested in test_config.
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_cost": 1024, "argon2_parallelism": 1}

AppFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """MONGODB_URI when the tester sets it; otherwise one embedded server for the session."""
    external = os.environ.get("MONGODB_URI")
    if external:
        yield external
        return
    server = EmbeddedMongo(tmp_path_factory.mktemp("mongo"))
    server.start()
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture
def db_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


def base_settings(mongo_uri: str, db_name: str, data_dir: Path) -> dict[str, Any]:
    """The settings every test app starts from (as load_settings keyword arguments)."""
    return {
        "_env_file": None,  # a developer's .env must not change the tests
        "mongodb_uri": mongo_uri,
        "mongodb_db": db_name,
        # Generous: the suite shares one embedded server, and a stall of it over 2 s under
        # CI's load turned an app's first query into a 503 (seen once, in a fresh-clone run).
        # The tests of outages set their own, shorter timeouts.
        "mongodb_timeout": 5.0,
        "data_dir": data_dir,
        "jwt_secret": TEST_JWT_SECRET,
        "log_level": "DEBUG",
        **CHEAP_ARGON2,
    }


@pytest.fixture
def make_settings(mongo_uri: str, db_name: str, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return load_settings(
            **{**base_settings(mongo_uri, db_name, tmp_path / "data"), **overrides}
        )

    return make


@pytest.fixture
async def db(mongo_uri: str, db_name: str) -> AsyncIterator[Any]:
    """Direct access to the test's database, to assert on what was (not) written."""
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri, tz_aware=True)
    try:
        yield client[db_name]
    finally:
        await client.drop_database(db_name)
        await client.close()


@pytest.fixture
def make_client(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient]],
    make_settings: Callable[..., Settings],
    db: Any,
) -> AppFactory:
    """Start the real app (its cleanup_ctx included) on a real server; returns a client."""

    async def make(**overrides: Any) -> TestClient:
        return await aiohttp_client(create_app(make_settings(**overrides)))

    return make


@pytest.fixture
async def client(make_client: AppFactory) -> TestClient:
    return await make_client()


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    """The fake Telegram Bot API on localhost, recording what the bot sends."""
    async with FakeBotAPI(BOT_TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot_client(make_client: AppFactory, fake_api: FakeBotAPI) -> TestClient:
    """The app in webhook mode, its bot pointed at the fake Bot API."""
    return await make_client(**bot_settings(fake_api))
