"""Done on a repeating task (issue 20 item 5) through REST and the bot: this occurrence is
done, the task moves on to the next and stays open; "stop repeating" is a separate action
(REST `PATCH {"repeat": null}`, the reminder's "Stop repeating" button). docs/capture.md."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bson import ObjectId

from server.keys import SERVICES
from server.services.accounts.users import TelegramProfile
from server.services.tasks.service import TaskDraft
from tests.bot_helpers import bot_settings, post_update, wait_until
from tests.helpers import bearer, register
from tests.kit.telegram import buttons, callback_query_update

FAST = {"reminder_poll": 0.1, "reminder_late_after": 5}
WEEKLY_9 = "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"


async def ok(resp: Any, status: int = 200) -> Any:
    text = await resp.text()
    assert resp.status == status, text
    return json.loads(text) if text else None


async def berlin_user(client: Any) -> dict[str, str]:
    who = bearer((await register(client, "alice"))["access_token"])
    await ok(await client.patch("/api/auth/me", headers=who, json={"timezone": "Europe/Berlin"}))
    return who


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_done_over_rest_moves_a_repeating_task_to_its_next_occurrence(client, db):
    who = await berlin_user(client)
    services = client.server.app[SERVICES]
    # Monday 6 May 2030, 09:00 in Berlin (07:00 UTC); due an hour after the reminder.
    task = await ok(await client.post("/api/tasks", headers=who, json={
        "title": "standup notes", "remind_at": "2030-05-06T07:00:00Z",
        "due": "2030-05-06T08:00:00Z", "repeat": WEEKLY_9,
    }), 201)  # fmt: skip
    url = f"/api/tasks/{task['id']}"
    services.tasks.clock = lambda: at("2030-05-06T07:05:00+00:00")

    done = await ok(await client.patch(url, headers=who, json={"done": True}))
    assert (done["done"], done["done_at"]) == (False, None)  # still open
    assert (done["remind_at"], done["due"]) == ("2030-05-13T07:00:00Z", "2030-05-13T08:00:00Z")
    assert done["repeat"] == WEEKLY_9
    doc = await db.tasks.find_one({"_id": done_id(done)})
    assert doc["done_count"] == 1
    assert doc["last_done_at"].replace(tzinfo=UTC) == at("2030-05-06T07:05:00+00:00")
    reminder = await db.reminders.find_one({"_id": done_id(done)})
    assert reminder["due_ms"] == int(at("2030-05-13T07:00:00+00:00").timestamp() * 1000)

    # Done early on the next one (before 13 May): that one is done too, on to 20 May.
    again = await ok(await client.patch(url, headers=who, json={"done": True}))
    assert again["remind_at"] == "2030-05-20T07:00:00Z"

    # Weeks nobody looked at are not replayed: on 1 June the next is Monday 3 June.
    services.tasks.clock = lambda: at("2030-06-01T12:00:00+00:00")
    late = await ok(await client.patch(url, headers=who, json={"done": True}))
    assert (late["remind_at"], late["due"]) == ("2030-06-03T07:00:00Z", "2030-06-03T08:00:00Z")
    assert (await db.tasks.find_one({"_id": done_id(done)}))["done_count"] == 3

    # Stop repeating: the repeat goes, the time stays; then Done is done.
    stopped = await ok(await client.patch(url, headers=who, json={"repeat": None}))
    assert (stopped["repeat"], stopped["repeat_text"], stopped["remind_at"]) == (
        None, None, "2030-06-03T07:00:00Z")  # fmt: skip
    finished = await ok(await client.patch(url, headers=who, json={"done": True}))
    assert finished["done"] is True
    assert finished["done_at"] is not None


async def test_done_after_the_last_occurrence_completes_the_task(client):
    who = await berlin_user(client)
    client.server.app[SERVICES].tasks.clock = lambda: at("2030-05-06T07:05:00+00:00")
    # Ends on 10 May: no Monday after 6 May is left.
    task = await ok(await client.post("/api/tasks", headers=who, json={
        "title": "course", "remind_at": "2030-05-06T07:00:00Z",
        "repeat": WEEKLY_9 + ";UNTIL=20300510T215959Z",
    }), 201)  # fmt: skip
    done = await ok(await client.patch(f"/api/tasks/{task['id']}", headers=who,
                                       json={"done": True}))  # fmt: skip
    assert done["done"] is True
    assert done["remind_at"] == "2030-05-06T07:00:00Z"


async def test_done_without_a_time_gets_the_next_occurrence_as_due(client):
    who = await berlin_user(client)
    client.server.app[SERVICES].tasks.clock = lambda: at("2030-05-06T10:00:00+00:00")
    body = {"title": "water plants", "repeat": WEEKLY_9}
    task = await ok(await client.post("/api/tasks", headers=who, json=body), 201)
    done = await ok(await client.patch(f"/api/tasks/{task['id']}", headers=who,
                                       json={"done": True}))  # fmt: skip
    assert (done["done"], done["remind_at"], done["due"]) == (False, None, "2030-05-13T07:00:00Z")


def done_id(task: dict[str, Any]) -> ObjectId:
    return ObjectId(task["id"])


async def test_the_reminders_done_and_stop_repeating_buttons(make_client, fake_api, db):
    client = await make_client(**bot_settings(fake_api), **FAST)
    services = client.server.app[SERVICES]
    user, _ = await services.users.ensure_telegram_user(TelegramProfile(telegram_id=7070))
    await db.users.update_one({"_id": user.id}, {"$set": {"timezone": "Europe/Berlin",
                                                          "language": "ru"}})  # fmt: skip
    berlin = ZoneInfo("Europe/Berlin")
    rule = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"
    task = await services.tasks.create(
        user.id, TaskDraft("витамины", remind_at=datetime.now(UTC), repeat=rule)
    )
    await fake_api.until(lambda: bool(fake_api.calls_to("sendMessage")), "the reminder", timeout=10)
    [sent] = fake_api.calls_to("sendMessage")
    labels = dict(buttons(sent))
    occurrence = int(task.remind_at.timestamp())  # type: ignore[union-attr]
    assert labels["Готово"] == f"r:done:{task.id}:{occurrence}"
    assert labels["Больше не повторять"] == f"r:stop:{task.id}"

    async def moved_on() -> bool:  # the engine re-armed the repeat at 09:00 next
        doc = await db.tasks.find_one({"_id": task.id})
        return doc["remind_at"].replace(tzinfo=UTC) > datetime.now(UTC)

    await wait_until(moved_on, "the task's remind_at moved on", timeout=5)
    following = (await db.tasks.find_one({"_id": task.id}))["remind_at"].replace(tzinfo=UTC)

    async def press(data: str, n: int) -> Any:
        message = {"message_id": n, "date": int(time.time()),
                   "chat": {"id": 7070, "type": "private"}, "text": "⏰ витамины"}  # fmt: skip
        update = callback_query_update(data, message, user_id=7070, first_name="u",
                                       language_code="ru", query_id=str(n))  # fmt: skip
        assert (await post_update(client, update)).status == 200
        return (await fake_api.wait_for("answerCallbackQuery", n))[-1]

    # Done on the sent occurrence: that one is done; the next one (already armed) stays.
    answer = await press(labels["Готово"], 1)
    local = following.astimezone(berlin)
    assert answer.params["text"].startswith("✅ Готово · следующий раз: ")
    assert answer.params["text"].endswith(f"{local.hour:02d}:{local.minute:02d}")
    doc = await db.tasks.find_one({"_id": task.id})
    assert doc["done"] in (False, 0)
    assert doc["done_count"] == 1
    assert doc["remind_at"].replace(tzinfo=UTC) == following

    # Stop repeating: the task keeps its time, without the rule; its reminder stays armed.
    answer = await press(labels["Больше не повторять"], 2)
    assert answer.params["text"] == "⏹ Больше не повторяется"
    doc = await db.tasks.find_one({"_id": task.id})
    assert (doc["repeat"], doc["done"]) == (None, False)
    assert (await db.reminders.find_one({"_id": task.id}))["repeat"] is None

    # Done now is done for good.
    answer = await press(f"r:done:{task.id}", 3)
    assert answer.params["text"] == "✅ Готово"
    assert (await db.tasks.find_one({"_id": task.id}))["done"] in (True, 1)


async def test_done_on_the_bots_task_card_moves_a_repeat_on(bot_client, fake_api, db):
    services = bot_client.server.app[SERVICES]
    user, _ = await services.users.ensure_telegram_user(TelegramProfile(telegram_id=7171))
    await db.users.update_one({"_id": user.id}, {"$set": {"timezone": "Europe/Berlin"}})
    services.tasks.clock = lambda: at("2030-05-06T07:05:00+00:00")
    task = await services.tasks.create(user.id, TaskDraft(
        "standup notes", remind_at=at("2030-05-06T07:00:00+00:00"), repeat=WEEKLY_9))  # fmt: skip
    message = {"message_id": 9, "date": int(time.time()),
               "chat": {"id": 7171, "type": "private"}, "text": "standup notes"}  # fmt: skip
    update = callback_query_update(f"c:d:{task.id}", message, user_id=7171, first_name="u",
                                   language_code="en")  # fmt: skip
    assert (await post_update(bot_client, update)).status == 200
    [edit] = await fake_api.wait_for("editMessageText")
    assert edit.params["text"].startswith("Done ✓ · next: Mon, May 13, 9 AM\n")
    doc = await db.tasks.find_one({"_id": task.id})
    assert (doc["done"], doc["done_count"]) == (False, 1)
    assert doc["remind_at"].replace(tzinfo=UTC) == at("2030-05-13T07:00:00+00:00")
