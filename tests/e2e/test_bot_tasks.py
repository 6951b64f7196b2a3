"""The assistant in the chat, through the real app, webhook and the fake Bot API: /start
makes the four lists, plain text becomes a task, buttons move/finish/reopen it in place, and
the REST API sees the same task."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.bot_helpers import bot_settings, post_update
from tests.conftest import AppFactory
from tests.fake_bot_api import FakeBotAPI, text_message_update
from tests.kit.telegram import button, buttons, callback_query_update, press

BOT_KEY = "bot-service-token-for-the-tasks-tests-0123456789"
TG_USER = 4242


@pytest.fixture
async def app(make_client: AppFactory, fake_api: FakeBotAPI) -> TestClient:
    """Webhook mode on the fake Bot API, with a bot service token for the REST side."""
    return await make_client(**bot_settings(fake_api, bot_api_tokens=BOT_KEY))


def as_bot_user(telegram_id: int = TG_USER) -> dict[str, str]:
    return {"Authorization": f"Bot {BOT_KEY}", "X-Telegram-User-Id": str(telegram_id)}


async def say(app: TestClient, fake: FakeBotAPI, text: str, **kw: Any) -> dict[str, Any]:
    """Send a text as the user; return the bot's reply (the message as the chat shows it)."""
    mark = fake.mark()
    update = text_message_update(text, user_id=kw.pop("user_id", TG_USER),
                                 chat_id=kw.pop("chat_id", TG_USER), **kw)  # fmt: skip
    assert (await post_update(app, update)).status == 200
    await fake.wait_new("sendMessage", since=mark)
    return fake.last_message(update["message"]["chat"]["id"])


async def rest_task(app: TestClient, task_id: str) -> dict[str, Any]:
    resp = await app.get(f"/api/tasks/{task_id}", headers=as_bot_user())
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def rest_lists(app: TestClient) -> dict[str, dict[str, Any]]:
    resp = await app.get("/api/lists", headers=as_bot_user())
    assert resp.status == 200, await resp.text()
    return {item["key"] or item["name"]: item for item in (await resp.json())["items"]}


def task_id_of(message: dict[str, Any]) -> str:
    return button(message, "✅").split(":")[2]


async def test_start_creates_the_four_lists_once_and_says_what_it_does(app, fake_api, db):
    reply = await say(app, fake_api, "/start")
    assert reply["text"].startswith("Привет, Test!")
    assert "Входящие, Сегодня, Позже и Когда-нибудь" in reply["text"]
    await say(app, fake_api, "/start")
    [user] = await db["users"].find({"telegram_id": TG_USER}).to_list()
    lists = await db["task_lists"].find({"user_id": str(user["_id"])}).to_list()
    assert sorted(doc["key"] for doc in lists) == ["inbox", "later", "someday", "today"]
    assert all(doc["name"] is None for doc in lists)  # names come from the key and language


async def test_capture_move_done_reopen_through_buttons_and_rest(app, fake_api, db):
    card = await say(app, fake_api, "Купить молоко")
    assert card["text"] == "Добавлено в список «Входящие».\n\nКупить молоко"
    labels = [text for text, _ in buttons(card)]
    assert labels == ["☀️ Сегодня", "🕓 Позже", "💭 Когда-нибудь", "✅ Готово", "🗑 Удалить"]
    task_id = task_id_of(card)
    lists = await rest_lists(app)
    task = await rest_task(app, task_id)
    assert (task["title"], task["list_id"], task["done"]) == (
        "Купить молоко", lists["inbox"]["id"], False
    )  # fmt: skip

    card, notice = await press(app, fake_api, card, "☀️")
    assert notice == "Перенесено в список «Сегодня»."
    assert card["text"].startswith("Перенесено в список «Сегодня».")
    assert (await rest_task(app, task_id))["list_id"] == lists["today"]["id"]
    assert "📥 Входящие" in [text for text, _ in buttons(card)]  # Today's own button is gone

    card, notice = await press(app, fake_api, card, "✅")
    assert notice == "Выполнено ✓"
    task = await rest_task(app, task_id)
    assert task["done"] is True
    assert task["done_at"] is not None
    assert [text for text, _ in buttons(card)] == ["↩️ Вернуть", "🗑 Удалить"]

    card, notice = await press(app, fake_api, card, "↩️")
    assert notice == "Снова открыта."
    task = await rest_task(app, task_id)
    assert (task["done"], task["done_at"], task["list_id"]) == (False, None, lists["today"]["id"])
    assert (await rest_lists(app))["today"]["open_count"] == 1
    # Every press was edited in place: one message in the chat, never a new one.
    assert len(fake_api.calls_to("sendMessage")) == 1
    assert len(fake_api.calls_to("editMessageText")) == 3


async def test_a_button_pressed_twice_or_on_a_deleted_task_gets_a_notice(app, fake_api, db):
    card = await say(app, fake_api, "Позвонить маме", language_code="en")
    stale = dict(card)  # the same message as another device still shows it
    card, notice = await press(app, fake_api, card, "✅ Done", language_code="en")
    assert notice == "Done ✓"
    _, notice = await press(app, fake_api, stale, "✅ Done", language_code="en")
    assert notice == "Already done."
    card, notice = await press(app, fake_api, card, "🗑", language_code="en")
    assert notice == "Deleted."
    assert buttons(card) == []
    _, notice = await press(app, fake_api, stale, "☀️", language_code="en")
    assert notice == "This task no longer exists."
    assert fake_api.message(stale["chat"]["id"], stale["message_id"])["text"] == (
        "This task no longer exists."
    )
    # No handler failed: no apology was sent, only the card.
    assert len(fake_api.calls_to("sendMessage")) == 1


async def test_unknown_button_data_is_answered_with_a_notice(app, fake_api):
    card = await say(app, fake_api, "Something", language_code="en")
    update = callback_query_update("c:d:nothex", card, user_id=TG_USER, language_code="en")
    assert (await post_update(app, update)).status == 200
    query_id = update["callback_query"]["id"]
    await fake_api.wait_answered(query_id)
    assert fake_api.answered[query_id]["text"] == "This button no longer works."
    assert len(fake_api.calls_to("sendMessage")) == 1


async def test_a_button_no_handler_claims_gets_the_polite_answer_and_changes_nothing(
    app, fake_api, db
):
    """Data of no kind at all, and data of a known prefix in no known form (a future or
    retired button): both reach the one unclaimed-data handler (callbacks.UNCLAIMED), which
    answers in the user's language; no task changes, nothing is sent."""
    card = await say(app, fake_api, "Купить хлеб")
    before = await db.tasks.find_one({})
    for data in ("zz:1", "cal:later", f"r:later:{before['_id']}"):
        update = callback_query_update(data, card, user_id=TG_USER)
        assert (await post_update(app, update)).status == 200
        query_id = update["callback_query"]["id"]
        await fake_api.wait_answered(query_id)
        assert fake_api.answered[query_id]["text"] == "Эта кнопка больше не работает."
    assert await db.tasks.find_one({}) == before
    assert len(fake_api.calls_to("sendMessage")) == 1  # the card only: no apology
    assert fake_api.calls_to("editMessageText") == []


async def test_a_forwarded_message_becomes_a_task_with_its_origin(app, fake_api):
    update = text_message_update("Meeting notes\nsecond line", user_id=TG_USER, chat_id=TG_USER,
                                 language_code="en")  # fmt: skip
    update["message"]["forward_origin"] = {
        "type": "channel",
        "date": 1_700_000_000,
        "chat": {"id": -1001, "type": "channel", "title": "News", "username": "newschan"},
        "message_id": 77,
    }
    update["message"]["forward_date"] = 1_700_000_000
    assert (await post_update(app, update)).status == 200
    await fake_api.wait_for("sendMessage")
    card = fake_api.last_message(TG_USER)
    assert card["text"] == "Added to Inbox.\n\nMeeting notes"
    task = await rest_task(app, task_id_of(card))
    assert task["notes"] == (
        "Forwarded from News, 2023-11-14 22:13 UTC\nhttps://t.me/newschan/77\n\n"
        "Meeting notes\nsecond line"
    )


async def test_list_view_pages_with_arrows_and_done_from_the_list(app, fake_api):
    for i in range(12):
        resp = await app.post("/api/tasks", json={"title": f"task {i:02}", "list": "today"},
                              headers=as_bot_user())  # fmt: skip
        assert resp.status == 201
    view = await say(app, fake_api, "/today", language_code="en")
    assert view["text"].startswith("Today: 12 open tasks\nPage 1 of 2\n\n1. task 11\n")
    assert [text for text, _ in buttons(view)][-3:] == ["·", "1/2", "▶"]
    view, notice = await press(app, fake_api, view, "▶", language_code="en")
    assert notice is None
    assert view["text"] == "Today: 12 open tasks\nPage 2 of 2\n\n11. task 01\n12. task 00"
    view, notice = await press(app, fake_api, view, "✅ task 00", language_code="en")
    assert notice == "Done ✓"
    assert view["text"] == "Today: 11 open tasks\nPage 2 of 2\n\n11. task 01"
    view, _ = await press(app, fake_api, view, "◀", language_code="en")
    assert view["text"].startswith("Today: 11 open tasks\nPage 1 of 2\n\n1. task 11")
    # ↪ opens the task's card in place, with Back to the page.
    card, _ = await press(app, fake_api, view, "↪", language_code="en")
    assert card["text"] == "In Today.\n\ntask 11"
    card, _ = await press(app, fake_api, card, "🕓 Later", language_code="en")
    view, _ = await press(app, fake_api, card, "« Back", language_code="en")
    assert view["text"].startswith("Today: 10 open tasks\n\n1. task 10")


async def test_commands_lists_find_new(app, fake_api):
    card = await say(app, fake_api, "/new Prepare presentation", language_code="en")
    assert card["text"] == "Added to Inbox.\n\nPrepare presentation"
    reply = await say(app, fake_api, "/find prsentation", language_code="en")
    assert reply["text"] == "1 task found for “prsentation”:\n\n1. Prepare presentation"
    reply = await say(app, fake_api, "/find zzzz", language_code="en")
    assert reply["text"] == "Nothing found for “zzzz”."
    reply = await say(app, fake_api, "/lists", language_code="en")
    assert reply["text"] == ("Your lists (open tasks):\n\nInbox: 1\nToday: 0\nLater: 0\nSomeday: 0")
    view, _ = await press(app, fake_api, reply, "Inbox", language_code="en")
    assert view["text"].startswith("Inbox: 1 open task\n\n1. Prepare presentation")
    reply = await say(app, fake_api, "/inbox")
    assert reply["text"].startswith("Входящие: 1 открытая задача")
