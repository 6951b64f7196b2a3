"""Constants and helpers for the bot tests (fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

# The constants, update builders, buttons and press live in the test kit; these names are
# imported from here by many tests, so they stay importable from here.
from tests.kit.telegram import (
    BOT_TOKEN,
    PUBLIC_URL,
    SECRET_HEADER,
    WEBHOOK_SECRET,
    button,
    buttons,
    callback_query_update,
    post_update,
    press,
    text_message_update,
)

if TYPE_CHECKING:
    from tests.fake_bot_api import FakeBotAPI

__all__ = [
    "BOT_TOKEN",
    "PUBLIC_URL",
    "SECRET_HEADER",
    "WEBHOOK_SECRET",
    "bot_settings",
    "button",
    "buttons",
    "callback_query_update",
    "post_update",
    "press",
    "text_message_update",
    "wait_handled",
    "wait_until",
]


def bot_settings(fake: FakeBotAPI, **overrides: Any) -> dict[str, Any]:
    """Settings for the app in webhook mode, talking to the fake Bot API."""
    return {
        "telegram_bot_token": BOT_TOKEN,
        "telegram_api_base_url": fake.url,
        "public_url": PUBLIC_URL,
        "telegram_webhook_secret": WEBHOOK_SECRET,
        **overrides,
    }


# An explicit timeout (not asyncio.timeout), so a miss fails naming what was awaited.
async def wait_until(
    check: Callable[[], Awaitable[bool]],
    what: str,
    timeout: float = 5.0,  # noqa: ASYNC109
) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.02)


async def wait_handled(
    db: Any,
    update_id: int,
    timeout: float = 5.0,  # noqa: ASYNC109
) -> dict[str, Any]:
    """Wait until the recorded update is marked handled (its handlers have all finished);
    return the record. nx-27017 stores the `$set` boolean as 1, MongoDB as True."""
    record: dict[str, Any] | None = None

    async def handled() -> bool:
        nonlocal record
        record = await db["telegram_updates"].find_one({"_id": update_id})
        return bool(record and record["handled"])

    await wait_until(handled, f"update {update_id} marked handled", timeout)
    assert record is not None
    return record
