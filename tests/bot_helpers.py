"""Constants and helpers for the bot tests (fixtures are in conftest.py)."""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.fake_bot_api import FakeBotAPI

BOT_TOKEN = "123456:TEST-bot-token-abcdefghijklmnopqrstuvwxyz"
WEBHOOK_SECRET = "test-webhook-secret-0123456789abcdef"
PUBLIC_URL = "https://assistant.example.com"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def bot_settings(fake: FakeBotAPI, **overrides: Any) -> dict[str, Any]:
    """Settings for the app in webhook mode, talking to the fake Bot API."""
    return {
        "telegram_bot_token": BOT_TOKEN,
        "telegram_api_base_url": fake.url,
        "public_url": PUBLIC_URL,
        "telegram_webhook_secret": WEBHOOK_SECRET,
        **overrides,
    }


_update_ids = itertools.count(1000)


async def post_update(
    client: TestClient, update: dict[str, Any], secret: str = WEBHOOK_SECRET
) -> ClientResponse:
    """POST an update as Telegram does; one without an update_id gets a fresh one."""
    update = {"update_id": next(_update_ids), **update}
    return await client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: secret})
