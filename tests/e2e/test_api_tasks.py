"""/api/lists and /api/tasks through the real app: the contract of DESIGN.md ("The
assistant"), every scheme, every validation error class, pages under concurrent changes,
search in both languages."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from tests.bot_helpers import BOT_TOKEN, bot_settings
from tests.conftest import AppFactory
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import assert_problem, bearer, register
from tests.kit.signing import sign_init_data_fields, user_json

BOT_KEY = "bot-service-token-for-the-tasks-api-0123456789"


@pytest.fixture
async def api(make_client: AppFactory, fake_api: FakeBotAPI) -> TestClient:
    """Every scheme live: Bearer, Bot (+ X-Telegram-User-Id), tma (a bot token is set)."""
    return await make_client(**bot_settings(fake_api, bot_api_tokens=BOT_KEY))


def signed_init_data(user: dict[str, Any]) -> str:
    """Mini App init data signed as Telegram documents it (independently of the app)."""
    fields = {"auth_date": str(int(time.time())), "user": user_json(user)}
    return urlencode(sign_init_data_fields(fields, BOT_TOKEN))


def bot_for(telegram_id: int) -> dict[str, str]:
    return {"Authorization": f"Bot {BOT_KEY}", "X-Telegram-User-Id": str(telegram_id)}


def tma_for(telegram_id: int, language_code: str = "en") -> dict[str, str]:
    user = {"id": telegram_id, "first_name": "Mini", "language_code": language_code}
    return {"Authorization": f"tma {signed_init_data(user)}"}


async def ok(resp: Any, status: int = 200) -> Any:
    text = await resp.text()
    assert resp.status == status, text
    return json.loads(text) if text else None


async def new_user(api: TestClient, name: str) -> dict[str, str]:
    return bearer((await register(api, name))["access_token"])


async def add(api: TestClient, who: dict[str, str], **body: Any) -> dict[str, Any]:
    return await ok(await api.post("/api/tasks", json=body, headers=who), 201)


async def lists_of(api: TestClient, who: dict[str, str]) -> dict[str, dict[str, Any]]:
    body = await ok(await api.get("/api/lists", headers=who))
    return {item["key"] or item["name"]: item for item in body["items"]}


async def count(db: Any, collection: str) -> int:
    return len(await db[collection].find({}).to_list())


# --- Lists ----------------------------------------------------------------------------------


async def test_four_built_in_lists_first_in_order_named_in_the_users_language(api):
    alice = await new_user(api, "alice")
    body = await ok(await api.get("/api/lists", headers=alice))
    assert [(i["key"], i["name"], i["open_count"]) for i in body["items"]] == [
        ("inbox", "Inbox", 0), ("today", "Today", 0), ("later", "Later", 0),
        ("someday", "Someday", 0),
    ]  # fmt: skip
    assert all(isinstance(item["id"], str) and len(item["id"]) == 24 for item in body["items"])
    ru = await ok(await api.get("/api/lists", headers=tma_for(555, "ru")))
    assert [i["name"] for i in ru["items"]] == ["Входящие", "Сегодня", "Позже", "Когда-нибудь"]


async def test_create_rename_delete_a_list_and_its_tasks_go_to_inbox(api, db):
    alice = await new_user(api, "alice")
    work = await ok(await api.post("/api/lists", json={"name": " Work "}, headers=alice), 201)
    assert (work["key"], work["name"], work["open_count"]) == (None, "Work", 0)
    task = await add(api, alice, title="Report", list=work["id"])
    assert task["list_id"] == work["id"]
    renamed = await ok(await api.patch(f"/api/lists/{work['id']}", json={"name": "Job"},
                                       headers=alice))  # fmt: skip
    assert (renamed["name"], renamed["open_count"]) == ("Job", 1)
    home = await ok(await api.post("/api/lists", json={"name": "Home"}, headers=alice), 201)
    lists = await lists_of(api, alice)
    assert list(lists) == ["inbox", "today", "later", "someday", "Home", "Job"]
    resp = await api.delete(f"/api/lists/{work['id']}", headers=alice)
    assert resp.status == 204
    moved = await ok(await api.get(f"/api/tasks/{task['id']}", headers=alice))
    assert moved["list_id"] == lists["inbox"]["id"]
    assert (await lists_of(api, alice))["inbox"]["open_count"] == 1
    await assert_problem(await api.delete(f"/api/lists/{work['id']}", headers=alice), 404)
    assert home["id"] in {doc["id"] for doc in (await lists_of(api, alice)).values()}


@pytest.mark.parametrize("name", ["work", "WORK", " Work ", "inbox", "Входящие", "someday"])
async def test_list_names_are_unique_case_insensitively_and_built_in_names_are_taken(api, db, name):
    alice = await new_user(api, "alice")
    await ok(await api.post("/api/lists", json={"name": "Work"}, headers=alice), 201)
    before = await count(db, "task_lists")
    body = await assert_problem(await api.post("/api/lists", json={"name": name}, headers=alice),
                                409)  # fmt: skip
    assert body["type"] == "urn:problem:list-name-taken"
    home = await ok(await api.post("/api/lists", json={"name": "Home"}, headers=alice), 201)
    await assert_problem(
        await api.patch(f"/api/lists/{home['id']}", json={"name": name}, headers=alice), 409
    )
    assert await count(db, "task_lists") == before + 1
    # Another user may use the same name.
    bob = await new_user(api, "bob")
    await ok(await api.post("/api/lists", json={"name": "Work"}, headers=bob), 201)


async def test_built_in_lists_cannot_be_renamed_or_deleted(api):
    alice = await new_user(api, "alice")
    lists = await lists_of(api, alice)
    for ref in (lists["today"]["id"], "today"):
        body = await assert_problem(
            await api.patch(f"/api/lists/{ref}", json={"name": "Now"}, headers=alice), 409
        )
        assert body["type"] == "urn:problem:builtin-list"
        await assert_problem(await api.delete(f"/api/lists/{ref}", headers=alice), 409)
    assert (await lists_of(api, alice))["today"]["name"] == "Today"


# --- Tasks ----------------------------------------------------------------------------------


async def test_task_crud_fields_and_times_in_utc(api):
    alice = await new_user(api, "alice")
    created = await add(
        api, alice, title="  Buy milk ", notes="2 litres", list="today",
        due="2030-05-01T18:00:00+03:00", remind_at="2030-05-01T09:30:00.123456-02:00",
        repeat="rrule:freq=weekly;byday=mo",
    )  # fmt: skip
    assert set(created) == {"id", "title", "notes", "list_id", "done", "done_at", "due",
                             "remind_at", "repeat", "created_at", "updated_at", "when_text",
                             "repeat_text", "due_text", "overdue", "created_by", "updated_by",
                             "assignee_id", "version"}  # fmt: skip
    assert created["title"] == "Buy milk"
    # no time zone set: UTC; English (no stored language, no Accept-Language)
    assert created["when_text"] == "Wed, May 1, 2030, 11:30 AM"
    assert created["repeat_text"] == "every Mon"
    # the due time differs from the reminder: said apart; not late yet
    assert (created["due_text"], created["overdue"]) == ("Wed, May 1, 2030, 3 PM", False)
    assert created["due"] == "2030-05-01T15:00:00Z"
    assert created["remind_at"] == "2030-05-01T11:30:00.123000Z"
    assert created["repeat"] == "FREQ=WEEKLY;BYDAY=MO"
    assert (created["done"], created["done_at"]) == (False, None)
    task_id = created["id"]
    assert await ok(await api.get(f"/api/tasks/{task_id}", headers=alice)) == created

    changes = {"done": True, "notes": None, "repeat": None}
    patched = await ok(await api.patch(f"/api/tasks/{task_id}", headers=alice, json=changes))
    assert (patched["done"], patched["notes"], patched["repeat"]) == (True, "", None)
    assert patched["done_at"] is not None
    assert patched["due"] == created["due"]  # absent means unchanged
    assert patched["updated_at"] >= created["updated_at"]
    reopened = await ok(await api.patch(f"/api/tasks/{task_id}", json={"done": False},
                                        headers=alice))  # fmt: skip
    assert (reopened["done"], reopened["done_at"]) == (False, None)
    same = await ok(await api.patch(f"/api/tasks/{task_id}", json={}, headers=alice))
    assert same == reopened

    assert (await api.delete(f"/api/tasks/{task_id}", headers=alice)).status == 204
    await assert_problem(await api.get(f"/api/tasks/{task_id}", headers=alice), 404)
    await assert_problem(await api.delete(f"/api/tasks/{task_id}", headers=alice), 404)


async def test_tasks_carry_their_time_and_repeat_in_the_users_words(api):
    alice = await new_user(api, "alice")
    settings = {"timezone": "Europe/Moscow", "language": "ru"}
    await ok(await api.patch("/api/auth/me", headers=alice, json=settings))
    created = await add(
        api, alice, title="Проверить почту", remind_at="2030-12-11T06:30:00Z",
        repeat="FREQ=HOURLY;INTERVAL=2;BYMINUTE=30",
    )  # fmt: skip
    assert (created["when_text"], created["repeat_text"]) == ("ср, 11 дек. 2030, 09:30",
                                                              "каждые 2 часа")  # fmt: skip
    [listed] = (await ok(await api.get("/api/tasks", headers=alice)))["items"]
    assert (listed["when_text"], listed["repeat_text"]) == (created["when_text"],
                                                            created["repeat_text"])  # fmt: skip
    assert (created["due_text"], created["overdue"]) == (None, False)  # no due time
    late = await add(api, alice, title="Просрочено", remind_at="2020-01-01T06:00:00Z",
                     due="2020-01-01T06:00:00Z")  # fmt: skip
    # the same instant is said once; its time has passed: overdue, until done
    assert (late["due_text"], late["overdue"]) == (None, True)
    done = await ok(await api.patch(f"/api/tasks/{late['id']}", headers=alice,
                                    json={"done": True}))  # fmt: skip
    assert done["overdue"] is False
    plain = await add(api, alice, title="Без времени")
    assert (plain["when_text"], plain["repeat_text"]) == (None, None)
    # English with no stored language: from Accept-Language; a 12-hour clock
    bob = await new_user(api, "bob")
    headers = {**bob, "Accept-Language": "en-US,en;q=0.8"}
    weekday = await add(api, headers, title="Standup", due="2030-12-11T08:00:00Z",
                        repeat="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=0")  # fmt: skip
    assert (weekday["when_text"], weekday["repeat_text"]) == ("Wed, Dec 11, 2030, 8 AM",
                                                              "every weekday at 8 AM")  # fmt: skip


async def test_today_fills_itself_over_rest(api):
    alice = await new_user(api, "alice")
    now = datetime.now(UTC)
    overdue = await add(api, alice, title="overdue", due=(now - timedelta(hours=1)).isoformat())
    await add(api, alice, title="next week", remind_at=(now + timedelta(days=7)).isoformat())
    by_hand = await add(api, alice, title="by hand", list="today")
    today = await ok(await api.get("/api/tasks?list=today", headers=alice))
    assert [task["id"] for task in today["items"]] == [overdue["id"], by_hand["id"]]
    assert today["items"][0]["list_id"] == overdue["list_id"]  # still in Inbox
    assert (await lists_of(api, alice))["today"]["open_count"] == 2
    page = await ok(await api.get("/api/tasks?list=today&limit=1", headers=alice))
    rest = await ok(await api.get(f"/api/tasks?list=today&limit=1&cursor={page['next_cursor']}",
                                  headers=alice))  # fmt: skip
    assert [t["title"] for t in page["items"] + rest["items"]] == ["overdue", "by hand"]
    assert rest["next_cursor"] is None


async def test_a_bot_without_a_user_gets_403_on_every_route(api):
    alice = await new_user(api, "alice")
    task = await add(api, alice, title="x")
    headers = {"Authorization": f"Bot {BOT_KEY}"}
    for method, path, body in [
        ("GET", "/api/lists", None), ("POST", "/api/lists", {"name": "a"}),
        ("PATCH", "/api/lists/inbox", {"name": "a"}), ("DELETE", "/api/lists/inbox", None),
        ("GET", "/api/tasks", None), ("POST", "/api/tasks", {"title": "a"}),
        ("GET", f"/api/tasks/{task['id']}", None), ("PATCH", f"/api/tasks/{task['id']}", {}),
        ("DELETE", f"/api/tasks/{task['id']}", None),
    ]:  # fmt: skip
        resp = await api.request(method, path, json=body, headers=headers)
        assert (await assert_problem(resp, 403))["type"] == "urn:problem:user-required"


@pytest.mark.parametrize("scheme", ["bearer", "bot", "tma"])
async def test_another_users_lists_and_tasks_are_404_by_every_scheme(api, db, scheme):
    alice = await new_user(api, "alice")
    work = await ok(await api.post("/api/lists", json={"name": "Work"}, headers=alice), 201)
    task = await add(api, alice, title="Secret", list=work["id"])
    alice_inbox = (await lists_of(api, alice))["inbox"]["id"]
    mallory = {"bearer": await new_user(api, "mallory"), "bot": bot_for(6001),
               "tma": tma_for(6002)}[scheme]  # fmt: skip
    before = await db["tasks"].find_one({"_id": {"$exists": True}})
    for method, path, body in [
        ("GET", f"/api/tasks/{task['id']}", None),
        ("PATCH", f"/api/tasks/{task['id']}", {"title": "mine"}),
        ("PATCH", f"/api/tasks/{task['id']}", {"done": True}),
        ("DELETE", f"/api/tasks/{task['id']}", None),
        ("PATCH", f"/api/lists/{work['id']}", {"name": "mine"}),
        ("DELETE", f"/api/lists/{work['id']}", None),
        ("GET", f"/api/tasks?list={work['id']}", None),
        ("GET", f"/api/tasks?list={alice_inbox}", None),
    ]:  # fmt: skip
        resp = await api.request(method, path, json=body, headers=mallory)
        assert (await assert_problem(resp, 404))["status"] == 404, (method, path)
    # A list of another user in a body: refused like an unknown one (422 naming the field).
    resp = await api.post("/api/tasks", json={"title": "x", "list": work["id"]}, headers=mallory)
    assert (await assert_problem(resp, 422))["errors"][0]["field"] == "list"
    # Nothing of alice's is listed or changed.
    page = await ok(await api.get("/api/tasks?status=all", headers=mallory))
    assert page["items"] == []
    found = await ok(await api.get("/api/tasks?q=secret&status=all", headers=mallory))
    assert found["items"] == []
    assert await db["tasks"].find_one({"_id": before["_id"]}) == before
    assert (await ok(await api.get(f"/api/tasks/{task['id']}", headers=alice)))["title"] == "Secret"


# --- Validation: every class, and nothing written ---------------------------------------------


INVALID_CREATES = [
    ({}, "title"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 501}, "title"),
    ({"title": "two\nlines"}, "title"),
    ({"title": 5}, "title"),
    ({"title": None}, "title"),
    ({"title": "a", "notes": "n" * 10_001}, "notes"),
    ({"title": "a", "notes": "bell\x07"}, "notes"),
    ({"title": "a", "colour": "red"}, "colour"),
    ({"title": "a", "list": "nonexistent"}, "list"),
    ({"title": "a", "list": "0123456789abcdef01234567"}, "list"),
    ({"title": "a", "list": ""}, "list"),
    ({"title": "a", "due": "2030-01-01T10:00:00"}, "due"),
    ({"title": "a", "due": "tomorrow"}, "due"),
    ({"title": "a", "due": 1_900_000_000}, "due"),
    ({"title": "a", "remind_at": "0001-01-01T00:00:00+01:00"}, "remind_at"),
    ({"title": "a", "remind_at": "1850-01-01T00:00:00Z"}, "remind_at"),
    ({"title": "a", "repeat": "every monday"}, "repeat"),
    ({"title": "a", "repeat": "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31"}, "repeat"),
    ({"title": "a", "repeat": "FREQ=MINUTELY"}, "repeat"),
    ({"title": "a", "repeat": ""}, "repeat"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_CREATES)
async def test_invalid_create_is_422_naming_the_field_and_writes_nothing(api, db, body, field):
    alice = await new_user(api, "alice")
    before = await count(db, "tasks")
    problem = await assert_problem(await api.post("/api/tasks", json=body, headers=alice), 422)
    assert problem["type"] == "urn:problem:validation-error"
    assert field in {error["field"] for error in problem["errors"]}, problem
    assert await count(db, "tasks") == before


@pytest.mark.parametrize(
    ("body", "field"),
    [({"title": None}, "title"), ({"list": None}, "list"), ({"done": None}, "done"),
     ({"done": "yes"}, "done"), ({"title": "x" * 501}, "title"), ({"notes": 5}, "notes"),
     ({"due": "2030-01-01"}, "due"), ({"repeat": "FREQ=DAILY;COUNT=0"}, "repeat"),
     ({"list": "elsewhere"}, "list"), ({"id": "x"}, "id"),
     ({"title": "fine", "due": "2030-01-01T00:00:00"}, "due")],
)  # fmt: skip
async def test_invalid_patch_is_422_and_changes_nothing(api, db, body, field):
    alice = await new_user(api, "alice")
    task = await add(api, alice, title="Keep me", due="2030-01-01T00:00:00Z")
    before = await db["tasks"].find_one({})
    problem = await assert_problem(
        await api.patch(f"/api/tasks/{task['id']}", json=body, headers=alice), 422
    )
    assert field in {error["field"] for error in problem["errors"]}, problem
    assert await db["tasks"].find_one({}) == before


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"),
     ("status=finished", "status"), ("cursor=bm9wZQ", "cursor"), ("cursor=%20", "cursor"),
     ("colour=red", "colour"), ("status=open&status=done", "status"), ("q=", "q"),
     ("q=" + "a" * 201, "q"), ("list=", "list"),
     # Today's pages are positions in its time order: another cursor is refused too
     ("list=today&cursor=bm9wZQ", "cursor"), ("list=today&cursor=bzEP_w", "cursor")],
)  # fmt: skip
async def test_invalid_query_is_422_naming_the_parameter(api, query, field):
    alice = await new_user(api, "alice")
    problem = await assert_problem(await api.get(f"/api/tasks?{query}", headers=alice), 422)
    assert field in {error["field"] for error in problem["errors"]}, problem


async def test_unknown_list_in_the_query_or_path_is_404(api):
    alice = await new_user(api, "alice")
    await assert_problem(await api.get("/api/tasks?list=nowhere", headers=alice), 404)
    for path in ("/api/tasks/nothex", "/api/tasks/0123456789abcdef01234567"):
        await assert_problem(await api.get(path, headers=alice), 404)
    body = await assert_problem(
        await api.patch("/api/lists/0123456789abcdef01234567", json={"name": "a"},
                        headers=alice), 404)  # fmt: skip
    assert body["type"] == "urn:problem:list-not-found"


async def test_bodies_must_be_json_objects(api, db):
    alice = await new_user(api, "alice")
    before = await count(db, "tasks")
    await assert_problem(await api.post("/api/tasks", data="{", headers={
        **alice, "Content-Type": "application/json"}), 400)  # fmt: skip
    await assert_problem(await api.post("/api/tasks", data="title=a", headers={
        **alice, "Content-Type": "application/x-www-form-urlencoded"}), 415)  # fmt: skip
    await assert_problem(await api.post("/api/tasks", json=["a"], headers=alice), 422)
    json_type = {**alice, "Content-Type": "application/json"}
    lone_surrogate = '{"title": "\\ud800"}'
    await assert_problem(await api.post("/api/tasks", headers=json_type, data=lone_surrogate), 400)
    assert await count(db, "tasks") == before


# --- Pages and search -------------------------------------------------------------------------


async def test_pages_stay_exact_while_tasks_are_added_and_completed(api):
    """Keyset pages: tasks added meanwhile (newer, so before the cursor) do not shift later
    pages; tasks completed meanwhile leave without making another one skip."""
    alice = await new_user(api, "alice")
    original = [(await add(api, alice, title=f"t{i:02}"))["id"] for i in range(25)]
    seen: list[str] = []
    completed: set[str] = set()
    cursor = None
    rounds = 0
    while True:
        query = "limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = await ok(await api.get(f"/api/tasks?{query}", headers=alice))
        seen += [item["id"] for item in page["items"]]
        rounds += 1
        # Between pages: two new tasks at once, and one not yet seen is completed.
        await asyncio.gather(add(api, alice, title=f"new {rounds}a"),
                             add(api, alice, title=f"new {rounds}b"))  # fmt: skip
        unseen = [task_id for task_id in reversed(original) if task_id not in seen]
        if len(unseen) > 3:
            target = unseen[2]
            await ok(await api.patch(f"/api/tasks/{target}", json={"done": True}, headers=alice))
            completed.add(target)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a task was listed twice"
    expected = [task_id for task_id in reversed(original) if task_id not in completed]
    assert seen == expected  # newest first, nothing skipped, nothing added after page one
    assert rounds == 4


async def test_status_filters_and_list_filter(api):
    alice = await new_user(api, "alice")
    a = await add(api, alice, title="a", list="today")
    b = await add(api, alice, title="b")
    await ok(await api.patch(f"/api/tasks/{b['id']}", json={"done": True}, headers=alice))

    async def titles(query: str) -> list[str]:
        page = await ok(await api.get(f"/api/tasks?{query}", headers=alice))
        return [item["title"] for item in page["items"]]

    assert await titles("") == ["a"]
    assert await titles("status=done") == ["b"]
    assert await titles("status=all") == ["b", "a"]
    assert await titles("list=today") == ["a"]
    assert await titles(f"list={a['list_id']}&status=all") == ["a"]
    assert await titles("list=inbox") == []
    assert await titles("list=inbox&status=done") == ["b"]


SEARCH_TASKS = [
    ("Купить молоко", ""),
    ("Prepare presentation", "slides for Monday"),
    ("Открыть окно", ""),
    ("Позвонить маме", "купить хлеба по дороге"),
    ("Молотить зерно", ""),
    ("Book a hotel", "near the station"),
]


@pytest.mark.parametrize(
    ("q", "expected"),
    [("молок", ["Купить молоко", "Молотить зерно"]), ("малоко", ["Купить молоко"]),
     ("МОЛОКО", ["Купить молоко"]), ("купит молако", ["Купить молоко"]),
     ("prsentation", ["Prepare presentation"]), ("prep", ["Prepare presentation"]),
     ("slides", ["Prepare presentation"]), ("хлеб", ["Позвонить маме"]),
     ("hotle", ["Book a hotel"]), ("zzz", []), ("!!!", [])],
)  # fmt: skip
async def test_search_finds_typos_and_prefixes_best_first(api, q, expected):
    alice = await new_user(api, "alice")
    for title, notes in SEARCH_TASKS:
        await add(api, alice, title=title, notes=notes)
    page = await ok(await api.get("/api/tasks", params={"q": q}, headers=alice))
    assert [item["title"] for item in page["items"]] == expected
    assert page["next_cursor"] is None


async def test_search_excludes_done_tasks_unless_asked(api):
    alice = await new_user(api, "alice")
    task = await add(api, alice, title="Купить молоко")
    await ok(await api.patch(f"/api/tasks/{task['id']}", json={"done": True}, headers=alice))

    async def found(query: dict[str, str]) -> list[str]:
        page = await ok(await api.get("/api/tasks", params=query, headers=alice))
        return [item["title"] for item in page["items"]]

    assert await found({"q": "молоко"}) == []
    assert await found({"q": "молоко", "status": "done"}) == ["Купить молоко"]
    assert await found({"q": "молоко", "status": "all"}) == ["Купить молоко"]
    await assert_problem(await api.get("/api/tasks", params={"q": "m", "cursor": "x"},
                                       headers=alice), 422)  # fmt: skip


async def test_concurrent_first_requests_make_four_lists_not_eight(api, db):
    """A new Telegram user's first requests arrive together (Bot scheme and Mini App)."""
    for telegram_id in range(7001, 7006):
        headers = [bot_for(telegram_id), tma_for(telegram_id), bot_for(telegram_id)]
        answers = await asyncio.gather(*(api.get("/api/lists", headers=h) for h in headers))
        bodies = [await ok(resp) for resp in answers]
        assert all(len(body["items"]) == 4 for body in bodies)
        [user] = await db["users"].find({"telegram_id": telegram_id}).to_list()
        assert await db["task_lists"].count_documents({"user_id": str(user["_id"])}) == 4


async def test_mini_app_sign_in_creates_the_lists(api, db):
    user = {"id": 8123, "first_name": "M", "language_code": "ru"}
    resp = await api.post("/api/auth/telegram", json={"init_data": signed_init_data(user)})
    assert resp.status == 200
    [doc] = await db["users"].find({"telegram_id": 8123}).to_list()
    keys = sorted(d["key"] for d in await db["task_lists"].find({"user_id": str(doc["_id"])})
                  .to_list())  # fmt: skip
    assert keys == ["inbox", "later", "someday", "today"]


async def test_registration_creates_the_lists(api, db):
    await register(api, "carol")
    [doc] = await db["users"].find({"username": "carol"}).to_list()
    assert await db["task_lists"].count_documents({"user_id": str(doc["_id"])}) == 4


async def test_lists_and_tasks_are_in_the_openapi_document(api):
    spec = await ok(await api.get("/api/openapi.json"))
    for path, methods in {
        "/api/lists": {"get", "post"}, "/api/lists/{id}": {"patch", "delete"},
        "/api/tasks": {"get", "post"}, "/api/tasks/{id}": {"get", "patch", "delete"},
    }.items():  # fmt: skip
        assert set(spec["paths"][path]) == methods
    params = {p["name"]: p for p in spec["paths"]["/api/tasks"]["get"]["parameters"]}
    assert set(params) == {"list", "status", "q", "limit", "cursor", "X-Telegram-User-Id"}
    assert params["limit"]["schema"]["maximum"] == 100
    assert params["status"]["schema"]["enum"] == ["open", "done", "all"]
    assert spec["paths"]["/api/tasks/{id}"]["get"]["parameters"][0]["in"] == "path"
