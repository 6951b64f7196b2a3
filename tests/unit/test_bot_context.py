"""The handlers' typed context (server/telegram/context.py): the services from the
application, and the sender looked up once per update however many handlers ask."""

from __future__ import annotations

from typing import Any, cast

from telegram import Chat as TgChat
from telegram import Message, Update, User

from config import load_settings
from models import User as Account
from server.services.registry import Services
from server.telegram.bot import build_application
from server.telegram.context import BotContext, BotData, bot_data
from tests.kit.telegram import BOT_TOKEN


class CountingUsers:
    """The one service call user() makes, counted (the e2e tests cover the real one)."""

    def __init__(self) -> None:
        self.calls = 0

    async def ensure_telegram_user(self, profile: Any) -> tuple[Account, bool]:
        self.calls += 1
        user = Account.model_construct(telegram_id=profile.telegram_id, language="en")
        return user, self.calls == 1


class FakeServices:
    def __init__(self) -> None:
        self.users = CountingUsers()


def _update(language_code: str = "ru") -> Update:
    sender = User(7, "T", is_bot=False, language_code=language_code)
    chat = TgChat(7, "private")
    return Update(1, message=Message(1, cast(Any, None), chat, from_user=sender, text="hi"))


async def test_the_sender_is_looked_up_once_per_update_and_their_language_wins() -> None:
    services = FakeServices()
    application = build_application(
        load_settings(_env_file=None, jwt_secret="x" * 64, telegram_bot_token=BOT_TOKEN),
        cast(Services, services),
    )
    assert isinstance(application.bot_data, BotData)
    assert bot_data(application).services is services
    context = BotContext.from_update(_update(), application)
    assert context.services is services
    assert context.lang == "ru"  # before the look-up: what the Telegram client says
    first, second = await context.user(), await context.user()
    assert first is second is not None
    assert services.users.calls == 1
    assert context.lang == "en"  # the user's own setting
    # the next update is looked up afresh
    await BotContext.from_update(_update(), application).user()
    assert services.users.calls == 2
