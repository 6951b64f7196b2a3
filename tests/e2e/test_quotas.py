"""Per-user quotas (issue 22, item 5) through the real app: tasks, lists, active reminders
and tasks per minute, each a setting; over one, a 409 (429 + Retry-After for the rate)
problem that changes nothing, and a polite reply in the chat, in Russian and in English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from tests.bot_helpers import bot_settings, post_update
from tests.fake_bot_api import FakeBotAPI, text_message_update
from tests.helpers import assert_problem

TOKEN = "bot-service-token-for-the-quota-tests-0123456789"
LATER = (datetime.now(UTC) + timedelta(days=3)).isoformat()


def as_user(telegram_id: int) -> dict[str, str]:
    return {"Authorization": f"Bot {TOKEN}", "X-Telegram-User-Id": str(telegram_id)}


async def app(make_client: Any, fake_api: FakeBotAPI, **quotas: Any) -> TestClient:
    return await make_client(**bot_settings(fake_api), bot_api_tokens=TOKEN, **quotas)


async def post_task(client: TestClient, user: dict[str, str], **fields: Any) -> Any:
    return await client.post("/api/tasks", json={"title": "t", **fields}, headers=user)


async def test_the_task_quota_refuses_the_next_one_with_a_409_and_writes_nothing(
    make_client, fake_api, db
):
    client = await app(make_client, fake_api, quota_tasks=3)
    alice, bob = as_user(8001), as_user(8002)
    ids = [(await (await post_task(client, alice)).json())["id"] for _ in range(3)]
    problem = await assert_problem(await post_task(client, alice, title="one more"), 409)
    assert problem["type"].endswith("quota-exceeded")
    assert "limit of 3 tasks" in problem["detail"]
    assert await db.tasks.count_documents({"title": "one more"}) == 0
    # Done tasks count too (storage is what a flood costs); deleting one makes room.
    done = await client.patch(f"/api/tasks/{ids[0]}", json={"done": True}, headers=alice)
    assert done.status == 200
    assert (await post_task(client, alice)).status == 409
    assert (await client.delete(f"/api/tasks/{ids[0]}", headers=alice)).status == 204
    assert (await post_task(client, alice)).status == 201
    assert (await post_task(client, bob)).status == 201  # per user


async def test_the_list_quota_counts_only_the_users_own_lists(make_client, fake_api, db):
    client = await app(make_client, fake_api, quota_lists=2)
    alice = as_user(8003)
    for name in ("Home", "Work"):
        resp = await client.post("/api/lists", json={"name": name}, headers=alice)
        assert resp.status == 201
    problem = await assert_problem(
        await client.post("/api/lists", json={"name": "Garden"}, headers=alice), 409
    )
    assert "limit of 2 lists" in problem["detail"]
    assert await db.task_lists.count_documents({"name": "Garden"}) == 0
    assert len((await (await client.get("/api/lists", headers=alice)).json())["items"]) == 6


async def test_the_reminder_quota_counts_open_tasks_with_a_reminder(make_client, fake_api, db):
    client = await app(make_client, fake_api, quota_active_reminders=2)
    alice = as_user(8004)
    first = await (await post_task(client, alice, remind_at=LATER)).json()
    assert (await post_task(client, alice, remind_at=LATER)).status == 201
    problem = await assert_problem(await post_task(client, alice, remind_at=LATER), 409)
    assert "limit of 2 active reminders" in problem["detail"]
    plain = await post_task(client, alice)  # without a reminder it is just a task
    assert plain.status == 201
    plain_id = (await plain.json())["id"]
    refused = await client.patch(f"/api/tasks/{plain_id}", json={"remind_at": LATER}, headers=alice)
    await assert_problem(refused, 409)
    assert (await db.tasks.find_one({"title": "t", "remind_at": None})) is not None
    # Completing a reminded task frees its place.
    done = await client.patch(f"/api/tasks/{first['id']}", json={"done": True}, headers=alice)
    assert done.status == 200
    moved = await client.patch(f"/api/tasks/{plain_id}", json={"remind_at": LATER}, headers=alice)
    assert moved.status == 200


async def test_creating_faster_than_the_rate_is_a_429_with_retry_after(make_client, fake_api, db):
    client = await app(make_client, fake_api, quota_tasks_per_minute=3)
    alice = as_user(8005)
    for _ in range(3):
        assert (await post_task(client, alice)).status == 201
    resp = await post_task(client, alice, title="too fast")
    problem = await assert_problem(resp, 429)
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert "At most 3 tasks a minute" in problem["detail"]
    assert await db.tasks.count_documents({"title": "too fast"}) == 0
    assert (await post_task(client, as_user(8006))).status == 201  # per user


async def say(client: TestClient, fake: FakeBotAPI, text: str, user: int, lang: str) -> str:
    before = len(fake.calls_to("sendMessage"))
    update = text_message_update(text, user_id=user, chat_id=user, language_code=lang)
    assert (await post_update(client, update)).status == 200
    await fake.wait_for("sendMessage", count=before + 1)
    return str(fake.calls_to("sendMessage")[-1].params["text"])


async def test_the_bot_answers_a_full_quota_politely_in_both_languages(make_client, fake_api, db):
    client = await app(make_client, fake_api, quota_tasks=1, quota_tasks_per_minute=2)
    for user, lang, full, fast in (
        (8101, "ru", "У вас уже 1 задача", "Вы добавляете задачи очень быстро"),
        (8102, "en", "You already have 1 task", "You are adding tasks very fast"),
    ):
        await say(client, fake_api, "buy milk", user, lang)
        reply = await say(client, fake_api, "buy bread", user, lang)
        assert reply.startswith(full), reply
        assert "went wrong" not in reply
        assert "пошло не так" not in reply
        reply = await say(client, fake_api, "buy eggs", user, lang)
        assert reply.startswith(fast), reply
    assert await db.tasks.count_documents({}) == 2
