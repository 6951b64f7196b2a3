"""Joining a shared list in Telegram (the fake Bot API, the real app): `/start join_<code>`
names the list and its owner, Join makes the user a member (the list is in /lists), Cancel
does not, a used code is refused; in both languages. A viewer's Done button is refused."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.bot_helpers import bot_settings, post_update
from tests.conftest import AppFactory
from tests.e2e.test_api_tasks import add, new_user, ok
from tests.fake_bot_api import FakeBotAPI, text_message_update
from tests.kit.telegram import buttons, press

BOT_KEY = "bot-service-token-for-the-sharing-tests-0123456789"


@pytest.fixture
async def app(make_client: AppFactory, fake_api: FakeBotAPI) -> TestClient:
    return await make_client(**bot_settings(fake_api, bot_api_tokens=BOT_KEY))


async def say(
    app: TestClient, fake: FakeBotAPI, user: int, text: str, lang: str = "ru"
) -> dict[str, Any]:
    mark = fake.mark()
    update = text_message_update(text, user_id=user, chat_id=user, language_code=lang,
                                 first_name=f"U{user}")  # fmt: skip
    assert (await post_update(app, update)).status == 200
    await fake.wait_new("sendMessage", since=mark)
    return fake.last_message(user)


async def shared_list(app: TestClient, role: str) -> tuple[dict[str, str], str, str]:
    """alice's list "Покупки" with a task, and the Telegram link of an invite to it."""
    alice = await new_user(app, "alice")
    made = await ok(await app.post("/api/lists", json={"name": "Покупки"}, headers=alice), 201)
    await add(app, alice, title="Молоко", list=made["id"])
    link = await ok(await app.post(f"/api/lists/{made['id']}/invites", json={"role": role},
                                   headers=alice), 201)  # fmt: skip
    start = link["telegram_url"].split("?start=", 1)[1]
    assert start.startswith("join_")
    return alice, made["id"], start


async def test_join_from_telegram_confirms_the_list_and_owner_then_it_is_in_lists(app, fake_api):
    _, lid, start = await shared_list(app, "editor")
    card = await say(app, fake_api, 701, f"/start {start}")
    assert card["text"] == (
        "alice приглашает вас в общий список «Покупки»: вы будете редактор. Присоединиться?"
    )
    assert [label for label, _ in buttons(card)] == ["Присоединиться", "Отмена"]
    before = await say(app, fake_api, 701, "/lists")
    assert "Покупки" not in before["text"]  # nothing until the joiner confirms
    card, _ = await press(app, fake_api, card, "Присоединиться")
    assert card["text"] == (
        "Вы присоединились к списку «Покупки». Он теперь в /lists, рядом с вашими списками."
    )
    lists = await say(app, fake_api, 701, "/lists")
    assert "👥 Покупки: 1" in lists["text"].splitlines()
    headers = {"Authorization": f"Bot {BOT_KEY}", "X-Telegram-User-Id": "701"}
    page = await ok(await app.get(f"/api/tasks?list={lid}", headers=headers))
    assert [t["title"] for t in page["items"]] == ["Молоко"]
    # The code is spent: someone else (in English) is told so.
    refused = await say(app, fake_api, 702, f"/start {start}", lang="en")
    assert refused["text"].startswith("This invitation does not work")


async def test_cancel_joins_nothing_and_the_link_stays_valid(app, fake_api):
    _, lid, start = await shared_list(app, "viewer")
    card = await say(app, fake_api, 703, f"/start {start}", lang="en")
    assert card["text"] == (
        "alice invites you to the shared list “Покупки” as a viewer (read only). Join it?"
    )
    card, _ = await press(app, fake_api, card, "Cancel", language_code="en")
    assert card["text"] == "Not joined. The link stays valid until it expires."
    headers = {"Authorization": f"Bot {BOT_KEY}", "X-Telegram-User-Id": "703"}
    resp = await app.get(f"/api/tasks?list={lid}", headers=headers)
    assert resp.status == 404
    again = await say(app, fake_api, 703, f"/start {start}", lang="en")
    assert [label for label, _ in buttons(again)] == ["Join", "Cancel"]


async def test_a_viewer_pressing_done_in_the_bot_is_refused_and_nothing_changes(app, fake_api):
    _, lid, start = await shared_list(app, "viewer")
    card = await say(app, fake_api, 704, f"/start {start}")
    await press(app, fake_api, card, "Присоединиться")
    lists = await say(app, fake_api, 704, "/lists")
    shown, _ = await press(app, fake_api, lists, "Покупки")
    _, notice = await press(app, fake_api, shown, "✅ Молоко")
    assert notice == "Этот общий список вам доступен только для просмотра."
    headers = {"Authorization": f"Bot {BOT_KEY}", "X-Telegram-User-Id": "704"}
    page = await ok(await app.get(f"/api/tasks?list={lid}&status=all", headers=headers))
    assert [(t["title"], t["done"]) for t in page["items"]] == [("Молоко", False)]
