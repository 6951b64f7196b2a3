"""Services on a real database, without HTTP: the models bound to the test's own database.
(The session's database fixtures are in tests/conftest.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from server.db.connection import init_models, make_client
from server.services.accounts.auth import AuthLimits, AuthService
from server.services.accounts.passwords import Passwords
from server.services.accounts.tokens import AccessTokens
from server.services.accounts.users import Users
from server.services.common.throttle import Limit, RateLimiter
from tests.conftest import CHEAP_ARGON2, TEST_JWT_SECRET
from tests.integration.accounts_env import accounts, accounts_settings
from tests.integration.tasks_env import env

__all__ = ["accounts", "accounts_settings", "auth", "env", "models", "passwords"]


@pytest.fixture
async def models(mongo_uri: str, db_name: str, db: Any) -> AsyncIterator[Any]:
    """The beanie models bound to this test's database (dropped afterwards by `db`);
    yields the database for direct assertions."""
    client = make_client(mongo_uri, timeout=5.0)
    await init_models(client, db_name)
    try:
        yield db
    finally:
        await client.close()


@pytest.fixture
def passwords() -> Iterator[Passwords]:
    hasher = Passwords(
        time_cost=CHEAP_ARGON2["argon2_time_cost"],
        memory_cost=CHEAP_ARGON2["argon2_memory_cost"],
        parallelism=CHEAP_ARGON2["argon2_parallelism"],
        workers=2,
    )
    yield hasher
    hasher.close()


GENEROUS = AuthLimits(
    login_per_username_and_address=Limit("login-user-addr", 1000, 900),
    login_per_username=Limit("login-user", 1000, 900),
    login_per_address=Limit("login-addr", 1000, 900),
    register_per_address=Limit("register-addr", 1000, 3600),
    telegram_per_address=Limit("telegram-addr", 1000, 900),
)


@pytest.fixture
def auth(models: Any, passwords: Passwords) -> AuthService:
    """The account service with limits out of the way (the limits have their own tests)."""
    access = AccessTokens(TEST_JWT_SECRET.encode(), "assistant-backend", "assistant-api", 900)
    return AuthService(
        passwords,
        access,
        refresh_ttl=3600,
        limits=GENEROUS,
        limiter=RateLimiter(),
        users=Users(),
        common_passwords=frozenset(),
    )
