"""The account services as the composition root builds them (server/bootstrap.py), on the test's
database, without HTTP or a bot: linking, recovery, the widget. Telegram is a recording
messenger; the caches' clock is moved by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from beanie import PydanticObjectId

from config import Settings
from models import User
from server.bootstrap import build_services
from server.services.registry import Services
from tests.account_helpers import ManualClock, NotesOwner
from tests.bot_helpers import BOT_TOKEN

BOT_USERNAME = "test_assistant_bot"


@dataclass
class SentCode:
    telegram_id: int
    language: str | None
    code: str
    minutes: int


@dataclass
class Messenger:
    """Records the reset codes the bot would send; `fail` makes sending raise."""

    sent: list[SentCode] = field(default_factory=list)
    fail: Exception | None = None

    async def send_reset_code(
        self, telegram_id: int, language: str | None, code: str, minutes: int
    ) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(SentCode(telegram_id, language, code, minutes))


@dataclass
class AccountsEnv:
    services: Services
    owner: NotesOwner
    messenger: Messenger
    clock: ManualClock
    db: Any

    async def add_user(self, **fields: Any) -> User:
        """A user written whole, as registration or /start writes one."""
        user = User(**fields)
        await user.insert()
        return user

    async def reload(self, user_id: PydanticObjectId | None) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self.db["users"].find_one({"_id": user_id})
        return found


@pytest.fixture
def accounts_settings(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        bot = {"telegram_bot_token": BOT_TOKEN, "telegram_bot_username": BOT_USERNAME}
        return make_settings(**{**bot, **overrides})

    return make


@pytest.fixture
async def accounts(
    models: Any, accounts_settings: Callable[..., Settings]
) -> AsyncIterator[AccountsEnv]:
    env = await make_accounts(models, accounts_settings())
    try:
        yield env
    finally:
        await env.services.recovery.drain()
        env.services.passwords.close()


async def make_accounts(db: Any, settings: Settings) -> AccountsEnv:
    owner, messenger, clock = NotesOwner(), Messenger(), ManualClock()
    services = build_services(settings, data_owners=[owner], clock=clock)
    services.telegram.connect(None, messenger)
    return AccountsEnv(services, owner, messenger, clock, db)
