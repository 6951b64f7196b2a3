"""A new user's first /start through the real webhook: the gate has just found no account for
the Telegram id, so the user is inserted without being looked up a second time; a known
user's /start still reads the user (and is welcomed back)."""

from __future__ import annotations

from typing import Any

import pytest

from server.services.accounts.users import Users
from tests.kit.telegram import post_update, text_message_update


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The Telegram ids `Users.find_by_telegram_id` was asked for."""
    seen: list[int] = []
    original = Users.find_by_telegram_id

    async def counted(self: Users, telegram_id: int) -> Any:
        seen.append(telegram_id)
        return await original(self, telegram_id)

    monkeypatch.setattr(Users, "find_by_telegram_id", counted)
    return seen


async def test_a_first_start_creates_the_user_without_a_second_lookup(
    bot_client: Any, fake_api: Any, db: Any, lookups: list[int]
) -> None:
    assert (
        await post_update(bot_client, text_message_update("/start", user_id=71, chat_id=71))
    ).status == 200
    [hello] = await fake_api.wait_for("sendMessage")
    assert lookups == []
    assert await db["users"].count_documents({"telegram_id": 71}) == 1

    mark = fake_api.mark()
    assert (
        await post_update(bot_client, text_message_update("/start", user_id=71, chat_id=71))
    ).status == 200
    [again] = await fake_api.wait_new("sendMessage", since=mark)
    assert hello.params["text"] != again.params["text"]  # a greeting, then a welcome back
    assert lookups == [71]
    assert await db["users"].count_documents({"telegram_id": 71}) == 1
