"""Change notifications of a shared list through the real app and the fake Bot API: four
Telegram users in one list; ten additions by one are exactly one message to each member who
turned notifications on (/notify, its button, or the REST switch), in their language, none
to the actor and none to a member who did not. The notices' clock is moved past the window
(no sleeping for a minute), and the test waits for observable facts: the messages at the
fake Bot API and no batch left in the database."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.bot_helpers import bot_settings, post_update, wait_until
from tests.clock import MovableClock
from tests.conftest import AppFactory
from tests.e2e.test_api_tasks import ok
from tests.fake_bot_api import FakeBotAPI, text_message_update
from tests.kit.telegram import buttons, press

BOT_KEY = "bot-service-token-for-the-notices-tests-0123456789"
OLYA, BOB, CAROL, DIMA = 811, 812, 813, 814


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> MovableClock:
    # The notices share the reminders' one clock (server/bootstrap.py).
    return MovableClock.installed(monkeypatch)


@pytest.fixture
async def app(make_client: AppFactory, fake_api: FakeBotAPI, clock: MovableClock) -> TestClient:
    client = await make_client(
        **bot_settings(fake_api, bot_api_tokens=BOT_KEY), sharing_notify_poll=0.05
    )
    return client


def as_telegram(user: int) -> dict[str, str]:
    return {"Authorization": f"Bot {BOT_KEY}", "X-Telegram-User-Id": str(user)}


async def say(
    app: TestClient, fake: FakeBotAPI, user: int, text: str, lang: str, name: str
) -> dict[str, Any]:
    mark = fake.mark()
    update = text_message_update(text, user_id=user, chat_id=user, language_code=lang,
                                 first_name=name)  # fmt: skip
    assert (await post_update(app, update)).status == 200
    await fake.wait_new("sendMessage", since=mark)
    return fake.last_message(user)


async def family(app: TestClient, fake: FakeBotAPI) -> str:
    """Оля's list "Покупки" with Bob, Carol and Dima in it; returns the list's id."""
    for user, lang, name in ((OLYA, "ru", "Оля"), (BOB, "en", "Bob"), (CAROL, "ru", "Carol"),
                             (DIMA, "ru", "Дима")):  # fmt: skip
        await say(app, fake, user, "/start", lang, name)
    made = await ok(
        await app.post("/api/lists", json={"name": "Покупки"}, headers=as_telegram(OLYA)), 201
    )
    for user in (BOB, CAROL, DIMA):
        invite = await ok(await app.post(f"/api/lists/{made['id']}/invites",
                                         json={"role": "editor"}, headers=as_telegram(OLYA)),
                          201)  # fmt: skip
        await ok(await app.post(f"/api/invites/{invite['code']}/accept",
                                headers=as_telegram(user)))  # fmt: skip
    return str(made["id"])


def received(fake: FakeBotAPI, chat: int, since: Any) -> list[str]:
    return [
        call.params["text"]
        for call in fake.calls_since(since, "sendMessage")
        if str(call.params["chat_id"]) == str(chat)
    ]


async def test_ten_additions_are_one_message_to_each_member_who_turned_it_on(
    app, fake_api, db, clock
):
    lid = await family(app, fake_api)
    # Bob (English) turns it on with /notify's button; Dima (Russian) with "/notify on";
    # Оля through the REST API (she makes the changes: she gets nothing); Carol never does.
    card = await say(app, fake_api, BOB, "/notify", "en", "Bob")
    assert card["text"].startswith("🔕 Notifications about changes in shared lists are off.")
    card, _ = await press(app, fake_api, card, "🔔 Turn on", language_code="en")
    assert card["text"].startswith("🔔 Notifications are on")
    assert [label for label, _ in buttons(card)] == ["🔕 Turn off"]
    on = await say(app, fake_api, DIMA, "/notify on", "ru", "Дима")
    assert on["text"].startswith("🔔 Уведомления включены")
    me = await ok(await app.patch("/api/auth/me", json={"notify_changes": True},
                                  headers=as_telegram(OLYA)))  # fmt: skip
    assert me["notify_changes"] is True

    mark = fake_api.mark()
    for i in range(10):
        await ok(await app.post("/api/tasks", json={"title": f"молоко {i}", "list": lid},
                                headers=as_telegram(OLYA)), 201)  # fmt: skip
    assert len(await db.change_batches.find({}).to_list()) == 2  # Bob's and Dima's
    clock.offset += 61  # past the 60 s window
    await fake_api.until(
        lambda: received(fake_api, BOB, mark) and received(fake_api, DIMA, mark),
        "the notices to Bob and Dima",
    )

    async def all_sent() -> bool:
        return await db.change_batches.find({}).to_list() == []

    await wait_until(all_sent, "no batch left to send")
    assert received(fake_api, BOB, mark) == ["Оля added «молоко 0» and 9 more to «Покупки»"]
    assert received(fake_api, DIMA, mark) == ["Оля: в «Покупки» добавлено «молоко 0» и ещё 9 задач"]
    assert received(fake_api, CAROL, mark) == []  # never turned it on
    assert received(fake_api, OLYA, mark) == []  # her own changes


async def test_russian_plural_forms_and_one_line_per_kind(app, fake_api, db, clock):
    lid = await family(app, fake_api)
    await say(app, fake_api, DIMA, "/notify on", "ru", "Дима")
    await say(app, fake_api, BOB, "/notify on", "en", "Bob")
    mark = fake_api.mark()
    made = [
        await ok(
            await app.post(
                "/api/tasks", json={"title": title, "list": lid}, headers=as_telegram(OLYA)
            ),
            201,
        )
        for title in ("хлеб", "сыр", "чай")
    ]
    for task in made[:2]:
        await ok(await app.patch(f"/api/tasks/{task['id']}", json={"done": True},
                                 headers=as_telegram(OLYA)))  # fmt: skip
    resp = await app.delete(f"/api/tasks/{made[2]['id']}", headers=as_telegram(OLYA))
    assert resp.status == 204
    clock.offset += 61
    await fake_api.until(
        lambda: received(fake_api, DIMA, mark) and received(fake_api, BOB, mark), "the notices"
    )
    assert received(fake_api, DIMA, mark) == [
        "Оля: в «Покупки» добавлено «хлеб» и ещё 2 задачи\n"
        "Оля: в «Покупки» выполнено «хлеб» и ещё 1 задача\n"
        "Оля: из «Покупки» удалено «чай»"
    ]
    assert received(fake_api, BOB, mark) == [
        "Оля added «хлеб» and 2 more to «Покупки»\n"
        "Оля completed «хлеб» and 1 more in «Покупки»\n"
        "Оля deleted «чай» from «Покупки»"
    ]


async def test_the_switch_is_off_by_default_and_rest_refuses_null(app, fake_api):
    await say(app, fake_api, CAROL, "/start", "ru", "Carol")
    me = await ok(await app.get("/api/auth/me", headers=as_telegram(CAROL)))
    assert me["notify_changes"] is False
    resp = await app.patch("/api/auth/me", json={"notify_changes": None},
                           headers=as_telegram(CAROL))  # fmt: skip
    assert resp.status == 422
    assert resp.content_type == "application/problem+json"
    assert (await resp.json())["errors"][0]["field"] == "notify_changes"
    resp = await app.patch("/api/auth/me", json={"notify_changes": "yes please"},
                           headers=as_telegram(CAROL))  # fmt: skip
    assert resp.status == 422
    me = await ok(await app.get("/api/auth/me", headers=as_telegram(CAROL)))
    assert me["notify_changes"] is False
    off = await say(app, fake_api, CAROL, "/notify", "ru", "Carol")
    assert off["text"].startswith("🔕 Уведомления об изменениях в общих списках выключены")
    assert [label for label, _ in buttons(off)] == ["🔔 Включить"]


async def test_two_app_processes_send_each_batch_once(app, make_client, fake_api, db, clock):
    """Both processes run the sending loop on one database: each batch goes out once."""
    other = await make_client(
        **bot_settings(fake_api, bot_api_tokens=BOT_KEY), sharing_notify_poll=0.05
    )
    lid = await family(app, fake_api)
    for user, lang, name in ((BOB, "en", "Bob"), (CAROL, "ru", "Carol"), (DIMA, "ru", "Дима")):
        await say(app, fake_api, user, "/notify on", lang, name)
    mark = fake_api.mark()
    for i, process in enumerate([app, other] * 5):  # the changes reach both processes
        await ok(await process.post("/api/tasks", json={"title": f"молоко {i}", "list": lid},
                                    headers=as_telegram(OLYA)), 201)  # fmt: skip
    clock.offset += 61

    async def all_sent() -> bool:
        return await db.change_batches.find({}).to_list() == []

    await wait_until(all_sent, "no batch left to send")
    for user in (BOB, CAROL, DIMA):
        assert len(received(fake_api, user, mark)) == 1, user
    assert received(fake_api, OLYA, mark) == []
