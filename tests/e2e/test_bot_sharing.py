"""Joining a shared list in Telegram (the fake Bot API, the real app): `/start join_<code>`
names the list and its owner, Join makes the user a member (the list is in /lists), Cancel
does not, a used code is refused; in both languages. A viewer's Done button is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.keys import SERVICES
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


async def test_shared_tasks_are_in_today_and_the_digest_with_their_lists_name(
    make_client, fake_api, db
):
    """A member's /today and morning digest hold the shared list's tasks that are theirs by
    the Today rule (unassigned and due today, or assigned to them), each marked with the
    list; not what is assigned to someone else, not the list's undated rest. The day is the
    injected clock's."""
    app = await make_client(**bot_settings(fake_api, bot_api_tokens=BOT_KEY), reminder_poll=0.1)
    alice, lid, start = await shared_list(app, "editor")  # "Молоко": no time, nobody's
    card = await say(app, fake_api, 705, f"/start {start}", lang="en")
    await press(app, fake_api, card, "Join", language_code="en")
    bob = await db.users.find_one({"telegram_id": 705})
    await db.users.update_one({"_id": bob["_id"]}, {"$set": {"timezone": "Europe/Moscow"}})
    services = app.server.app[SERVICES]
    services.tasks.clock = lambda: datetime(2030, 1, 1, 9, tzinfo=UTC)  # noon in Moscow
    alice_id = str((await db.users.find_one({"username": "alice"}))["_id"])

    async def assign(task: dict[str, Any], who: str) -> None:
        await ok(await app.patch(f"/api/tasks/{task['id']}", json={"assignee_id": who},
                                 headers=alice))  # fmt: skip

    await add(app, alice, title="Хлеб", list=lid, remind_at="2030-01-01T15:00:00Z")
    await assign(await add(app, alice, title="Сыр", list=lid), str(bob["_id"]))
    await assign(await add(app, alice, title="Чай", list=lid, due="2030-01-01T10:00:00Z"),
                 alice_id)  # fmt: skip
    await add(app, alice, title="Завтра", list=lid, remind_at="2030-01-02T15:00:00Z")
    mine = await say(app, fake_api, 705, "/new call mum", lang="en")
    assert mine["text"].startswith("Added to Inbox.")

    today = await say(app, fake_api, 705, "/today", lang="en")
    lines = today["text"].splitlines()
    assert lines[0] == "Today: 2 open tasks"
    assert lines[2:] == ["1. Хлеб", "    🕒 today 6 PM  👥 Покупки", "2. Сыр", "    👥 Покупки"]

    await say(app, fake_api, 705, "/digest 08:30", lang="en")
    mark = fake_api.mark()
    await db.reminders.update_one({"_id": bob["_id"]}, {"$set": {"due_ms": 0}})  # due now
    [sent] = await fake_api.wait_new("sendMessage", since=mark)
    assert sent.params["text"].split("\n") == [
        "☀️ Today, 2 tasks:", "• Хлеб — today 6 PM · 👥 Покупки", "• Сыр — 👥 Покупки",
    ]  # fmt: skip
