"""One capture path (issue 20 item 4) through the real app: the bot reads a message once, and
a repeating reminder made in the bot and the same one made as the Mini App makes it
(`POST /api/tasks/parse`, then `POST /api/tasks` with what it returned) store the same fields."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from server.services.tasks import capture as capture_module
from tests.bot_helpers import BOT_TOKEN, post_update
from tests.e2e.test_bot_assistant import USER, message, press, replies
from tests.kit.signing import sign_init_data_fields, user_json
from tests.kit.telegram import buttons

FIELDS = ("title", "due", "remind_at", "repeat")


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the parser read, through the real parser (counted, not replaced)."""
    seen: list[str] = []
    real = capture_module.parse

    def counted(text: str, *args: Any) -> Any:
        seen.append(text)
        return real(text, *args)

    monkeypatch.setattr(capture_module, "parse", counted)
    return seen


def mini_app_auth(telegram_id: int) -> dict[str, str]:
    user = {"id": telegram_id, "first_name": "T", "language_code": "en"}
    fields = {"auth_date": str(int(time.time())), "user": user_json(user)}
    return {"Authorization": f"tma {urlencode(sign_init_data_fields(fields, BOT_TOKEN))}"}


async def ok(resp: Any, status: int = 200) -> Any:
    text = await resp.text()
    assert resp.status == status, text
    return json.loads(text)


async def as_stored(db: Any, title: str) -> tuple[Any, ...]:
    doc = await db.tasks.find_one({"title": title})
    return tuple(doc[f] for f in FIELDS)


async def test_the_bot_reads_a_message_once(bot_client, fake_api, db, parses):
    await db.users.insert_one({"telegram_id": USER, "timezone": "Europe/Berlin", "role": "user",
                               "active": True})  # fmt: skip
    await post_update(bot_client, message("remind me tomorrow at 9 to buy milk"))
    [card] = await replies(fake_api, 1)
    assert card.params["text"].startswith("⏰ buy milk")
    assert parses == ["remind me tomorrow at 9 to buy milk"]

    # A plain text: read once too, then the task capture's (no card, a task).
    await post_update(bot_client, message("call the plumber"))
    await replies(fake_api, 2)
    assert parses[1:] == ["call the plumber"]
    assert await db.tasks.count_documents({"title": "call the plumber"}) == 1

    # The answer to "Change time" is read once, by the answer handler, for the card too.
    change = next(data for label, data in buttons(card) if label == "Change time")
    await post_update(bot_client, press(change, card.params["text"]))
    await replies(fake_api, 3)  # "When should I remind you…?"
    await post_update(bot_client, message("at 10"))
    new_card = (await replies(fake_api, 4))[-1]
    assert "10 AM" in new_card.params["text"]
    assert parses[2:] == ["at 10"]

    # While the bot waits for a time, a new message with its own title is not the answer:
    # the answer handler's reading becomes the new card, not read a second time.
    await post_update(bot_client, press(change, new_card.params["text"]))
    await replies(fake_api, 5)
    await post_update(bot_client, message("friday at 8 buy bread"))
    other = (await replies(fake_api, 6))[-1]
    assert other.params["text"].startswith("⏰ buy bread")
    assert parses[3:] == ["friday at 8 buy bread"]


async def test_a_repeat_made_in_the_bot_and_in_the_mini_app_stores_the_same(
    bot_client, fake_api, db
):
    await db.users.insert_one({"telegram_id": USER, "timezone": "Europe/Berlin", "role": "user",
                               "active": True})  # fmt: skip
    text = "every monday at 9 standup"
    await post_update(bot_client, message(text))
    [card] = await replies(fake_api, 1)
    save = next(data for label, data in buttons(card) if label == "Save")
    await post_update(bot_client, press(save, card.params["text"]))
    await fake_api.wait_for("answerCallbackQuery")
    from_bot = await as_stored(db, "standup")
    await db.tasks.delete_many({})

    # The Mini App: parse, then save what the parse returned.
    auth = mini_app_auth(USER)
    parsed = await ok(await bot_client.post("/api/tasks/parse", json={"text": text}, headers=auth))
    assert parsed["due"] is None  # a repeat: its reminder moves on, a due would stay behind
    body = {k: parsed[k] for k in FIELDS if parsed[k] is not None}
    await ok(await bot_client.post("/api/tasks", json=body, headers=auth), 201)
    from_mini_app = await as_stored(db, "standup")

    assert from_bot == from_mini_app
    title, due, remind_at, repeat = from_bot
    assert (title, due, repeat) == ("standup", None, "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0")
    assert remind_at is not None


async def test_a_one_off_reminder_is_due_when_it_reminds_in_both(bot_client, fake_api, db):
    await db.users.insert_one({"telegram_id": USER, "timezone": "Europe/Berlin", "role": "user",
                               "active": True})  # fmt: skip
    text = "tomorrow at 18:30 call mom"
    await post_update(bot_client, message(text))
    [card] = await replies(fake_api, 1)
    save = next(data for label, data in buttons(card) if label == "Save")
    await post_update(bot_client, press(save, card.params["text"]))
    await fake_api.wait_for("answerCallbackQuery")
    from_bot = await as_stored(db, "call mom")
    await db.tasks.delete_many({})
    auth = mini_app_auth(USER)
    parsed = await ok(await bot_client.post("/api/tasks/parse", json={"text": text}, headers=auth))
    body = {k: parsed[k] for k in FIELDS if parsed[k] is not None}
    await ok(await bot_client.post("/api/tasks", json=body, headers=auth), 201)
    assert await as_stored(db, "call mom") == from_bot
    assert from_bot[1] == from_bot[2]  # due == remind_at
