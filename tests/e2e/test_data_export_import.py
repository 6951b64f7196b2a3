"""GET /api/export and POST /api/import through the real app: exports validated against
docs/export.schema.json, an export → import → export round trip over Hypothesis-generated
accounts, Todoist's CSV samples (tests/samples/), idempotence, validation that writes nothing,
and the body limit."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AppFactory
from tests.helpers import PASSWORD, assert_problem, bearer, register

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "export.schema.json").read_text())
DATA = ROOT / "tests" / "samples"


@pytest.fixture
async def client(make_client: AppFactory) -> TestClient:
    """The app, with room for the many accounts these tests register."""
    return await make_client(register_max_per_address=10_000)


async def ok(resp: Any, status: int = 200) -> Any:
    text = await resp.text()
    assert resp.status == status, text
    return json.loads(text) if text else None


async def fresh_user(client: TestClient) -> dict[str, str]:
    return bearer((await register(client, f"u{uuid.uuid4().hex[:10]}"))["access_token"])


async def export_of(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    resp = await client.get("/api/export", headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    document = json.loads(await resp.read())
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    return document


async def import_file(
    client: TestClient, headers: dict[str, str], body: bytes, fmt: str = "export"
) -> Any:
    return await client.post(f"/api/import?format={fmt}", data=body, headers=headers)


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """An export without ids and timestamps: lists by key or name, tasks by content."""
    names = {item["id"]: item["key"] or item["name"] for item in document["lists"]}
    tasks = Counter(
        json.dumps(
            [
                t["title"],
                t["notes"],
                names[t["list_id"]],
                t["done"],
                t["due"],
                t["remind_at"],
                t["repeat"],
            ]
        )
        for t in document["tasks"]
    )
    return {
        "lists": sorted(names.values()),
        "tasks": tasks,
        "timezone": document["preferences"]["timezone"],
        # Pending reminders: what will be sent. (A done task's cancelled reminder record is
        # the engine's history: an imported done task never had one pending.)
        "reminders": Counter(
            (r["due_at"], r["repeat"]) for r in document["reminders"] if r["state"] == "pending"
        ),
    }


async def test_an_export_holds_everything_and_no_secret(client: TestClient) -> None:
    tokens = await register(client, "exporter")
    headers = bearer(tokens["access_token"])
    await ok(
        await client.patch(
            "/api/auth/me", headers=headers, json={"timezone": "Europe/Berlin", "language": "ru"}
        )
    )
    own = await ok(await client.post("/api/lists", headers=headers, json={"name": "Дом"}), 201)
    task = await ok(
        await client.post(
            "/api/tasks",
            headers=headers,
            json={
                "title": "Купить хлеб",
                "list": own["id"],
                "remind_at": "2031-01-02T08:00:00Z",
                "repeat": "FREQ=DAILY",
            },
        ),
        201,
    )
    await ok(await client.post("/api/calendar/feed", headers=headers), 201)

    document = await export_of(client, headers)
    assert document["schema_version"] == 1
    assert document["account"]["username"] == "exporter"
    assert document["account"]["has_password"] is True
    assert document["preferences"]["timezone"] == "Europe/Berlin"
    assert document["preferences"]["language"] == "ru"
    assert document["calendar_feed"]["enabled"] is True
    assert len(document["sessions"]) == 1
    assert [t["id"] for t in document["tasks"]] == [task["id"]]
    assert document["tasks"][0]["repeat"] == "FREQ=DAILY"
    (reminder,) = document["reminders"]
    assert reminder["task_id"] == task["id"]
    assert reminder["state"] == "pending"
    assert reminder["due_at"] == "2031-01-02T08:00:00Z"
    text = json.dumps(document)
    for secret in ("argon2", "password_hash", "token_hash", tokens["refresh_token"]):
        assert secret not in text


async def test_large_accounts_are_streamed_in_chunks(client: TestClient, db: Any) -> None:
    headers = await fresh_user(client)
    me = await ok(await client.get("/api/auth/me", headers=headers))
    inbox = next(
        item
        for item in (await ok(await client.get("/api/lists", headers=headers)))["items"]
        if item["key"] == "inbox"
    )
    now = datetime.now(UTC)
    await db.tasks.insert_many(
        [
            {
                "user_id": me["id"],
                "list_id": inbox["id"],
                "title": f"task {i}",
                "notes": "",
                "done": False,
                "done_at": None,
                "due": None,
                "remind_at": None,
                "repeat": None,
                "created_at": now,
                "updated_at": now,
                "order_key": f"{i:013d}",
                "terms": [],
                "version": 0,
            }
            for i in range(1200)
        ]
    )
    resp = await client.get("/api/export", headers=headers)
    assert resp.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in resp.headers
    document = json.loads(await resp.read())
    jsonschema.validate(document, SCHEMA)
    assert [t["title"] for t in document["tasks"]] == [f"task {i}" for i in range(1200)]


# Valid titles only: letters, digits, punctuation and the plain space (other spaces, like
# U+00A0, are not printable to the tasks service and are refused there, tested elsewhere).
titles = (
    st.text(
        st.characters(codec="utf-8", categories=("L", "N", "P"), include_characters=" "),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)
list_names = st.sampled_from(["Work", "Дача", "Books, films", "A;B"])
FUTURE = datetime(2032, 1, 1, tzinfo=UTC)
moments = st.integers(0, 400 * 24).map(lambda h: (FUTURE + timedelta(hours=h)).isoformat())
task_specs = st.fixed_dictionaries(
    {
        "title": titles,
        "notes": st.one_of(st.just(""), titles),
        "list": st.one_of(st.sampled_from(["inbox", "today", "later", "someday"]), list_names),
        "due": st.one_of(st.none(), moments),
        "remind_at": st.one_of(st.none(), moments),
        "repeat": st.sampled_from([None, "FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,FR", "FREQ=MONTHLY"]),
        "done": st.booleans(),
    }
)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    specs=st.lists(task_specs, max_size=8),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", None]),
)
async def test_export_import_export_round_trips(
    client: TestClient, specs: list[dict[str, Any]], zone: str | None
) -> None:
    source = await fresh_user(client)
    if zone:
        await ok(await client.patch("/api/auth/me", headers=source, json={"timezone": zone}))
    list_ids: dict[str, str] = {}
    for spec in specs:
        ref = spec["list"]
        if ref not in ("inbox", "today", "later", "someday") and ref not in list_ids:
            made = await ok(
                await client.post("/api/lists", headers=source, json={"name": ref}), 201
            )
            list_ids[ref] = made["id"]
        body = {k: v for k, v in spec.items() if k not in ("done", "list")}
        body["list"] = list_ids.get(ref, ref)
        task = await ok(await client.post("/api/tasks", headers=source, json=body), 201)
        if spec["done"]:
            await ok(
                await client.patch(f"/api/tasks/{task['id']}", headers=source, json={"done": True})
            )
    first = await export_of(client, source)

    target = await fresh_user(client)
    raw = json.dumps(first).encode()
    report = await ok(await import_file(client, target, raw))
    assert report["tasks"] == len(specs)
    assert report["skipped"] == 0
    assert report["lists"] == len(list_ids)
    # A reminder for every open task that has one (Done on a repeating task with a time
    # completes that occurrence and leaves the task open: the export says which are open).
    assert report["reminders"] == sum(
        1 for t in first["tasks"] if t["remind_at"] is not None and not t["done"]
    )
    second = await export_of(client, target)
    assert comparable(second) == comparable(first)

    # Idempotent: the same file again adds nothing.
    again = await ok(await import_file(client, target, raw))
    assert again == {
        "lists": 0,
        "tasks": 0,
        "reminders": 0,
        "skipped": len(specs),
        "summary": again["summary"],
    }
    assert comparable(await export_of(client, target)) == comparable(first)


async def test_todoist_csv_sample_imports_once(client: TestClient, db: Any) -> None:
    headers = await fresh_user(client)
    await ok(
        await client.patch("/api/auth/me", headers=headers, json={"timezone": "Europe/Berlin"})
    )
    sample = (DATA / "todoist_sample.csv").read_bytes()
    report = await ok(await import_file(client, headers, sample, "todoist"))
    assert (report["lists"], report["tasks"], report["reminders"], report["skipped"]) == (
        2,
        8,
        2,
        0,
    )
    assert report["summary"].startswith("8 tasks in 2 new lists, 2 reminders")
    document = await export_of(client, headers)
    names = {item["id"]: item["key"] or item["name"] for item in document["lists"]}
    by_title = {t["title"]: t for t in document["tasks"]}
    assert sorted(t["title"] for t in document["tasks"]) == sorted(
        [
            "Renew passport",
            "Call the plumber",
            "Milk",
            "Milk",
            "Bread, rye",
            "Send the report",
            "Book flights",
            "Sort the mail",
        ]
    )
    assert names[by_title["Milk"]["list_id"]] == "Groceries"
    assert names[by_title["Send the report"]["list_id"]] == "Work"
    assert names[by_title["Sort the mail"]["list_id"]] == "inbox"  # "Inbox" is ours
    assert names[by_title["Renew passport"]["list_id"]] == "inbox"
    plumber = by_title["Call the plumber"]
    assert plumber["notes"] == "Number: +49 30 1234567"
    assert plumber["remind_at"] == plumber["due"] == "2031-04-03T07:30:00Z"  # 09:30 Berlin
    assert by_title["Send the report"]["remind_at"] == "2031-04-04T21:00:00Z"  # 17:00 NY
    passport = by_title["Renew passport"]
    assert passport["due"] == "2031-04-01T22:00:00Z"
    assert passport["remind_at"] is None
    # The reminders were planned by the tasks service, like any other task's.
    pending = await db.reminders.find({"state": 0}).to_list()
    assert sorted(str(r["_id"]) for r in pending) == sorted(
        [plumber["id"], by_title["Send the report"]["id"]]
    )

    again = await ok(await import_file(client, headers, sample, "todoist"))
    assert (again["lists"], again["tasks"], again["reminders"], again["skipped"]) == (0, 0, 0, 8)
    assert len((await export_of(client, headers))["tasks"]) == 8


async def test_a_bad_row_is_a_422_naming_row_and_field_and_nothing_is_written(
    client: TestClient, db: Any
) -> None:
    headers = await fresh_user(client)
    bad_csv = (DATA / "todoist_bad_date.csv").read_bytes()
    problem = await assert_problem(await import_file(client, headers, bad_csv, "todoist"), 422)
    (error,) = problem["errors"]
    assert (error["row"], error["field"]) == (4, "DATE")
    assert "row 4" in problem["detail"]

    export = {
        "schema_version": 1,
        "lists": [{"id": "l1", "key": None, "name": "Trips"}],
        "tasks": [
            {"id": "a", "list_id": "l1", "title": "Fine"},
            {"id": "b", "list_id": "l1", "title": "Bad", "due": "next week"},
        ],
    }
    problem = await assert_problem(
        await import_file(client, headers, json.dumps(export).encode()), 422
    )
    assert (problem["errors"][0]["row"], problem["errors"][0]["field"]) == (2, "due")
    export["tasks"][1] = {"id": "b", "list_id": "nowhere", "title": "x"}
    problem = await assert_problem(
        await import_file(client, headers, json.dumps(export).encode()), 422
    )
    assert (problem["errors"][0]["row"], problem["errors"][0]["field"]) == (2, "list_id")
    for body, fmt in (
        (b"not json", "export"),
        (b"[1]", "export"),
        (b'{"schema_version": 9}', "export"),
        (b"\xff\xfe", "todoist"),
        (b"A,B\n1,2\n", "todoist"),
    ):
        await assert_problem(await import_file(client, headers, body, fmt), 422)
    await assert_problem(await import_file(client, headers, b"{}", "evernote"), 422)
    assert await db.tasks.count_documents({}) == 0
    assert await db.task_lists.count_documents({"name": "Trips"}) == 0
    assert await db.import_keys.count_documents({}) == 0


async def test_the_import_body_is_bounded(make_client: AppFactory, db: Any) -> None:
    client = await make_client(import_max_bytes=2048)
    headers = await fresh_user(client)
    tasks = [{"id": str(i), "title": f"task number {i}"} for i in range(100)]
    body = json.dumps({"schema_version": 1, "lists": [], "tasks": tasks}).encode()
    assert len(body) > 2048
    problem = await assert_problem(await import_file(client, headers, body), 413)
    assert "2048" in problem["detail"]

    async def chunks() -> Any:  # no Content-Length: the limit holds while reading
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    await assert_problem(await import_file(client, headers, chunks()), 413)  # type: ignore[arg-type]
    assert await db.tasks.count_documents({}) == 0


async def test_deleting_the_account_erases_the_feed_and_the_import_keys(
    client: TestClient, db: Any
) -> None:
    headers = await fresh_user(client)
    feed = await ok(await client.post("/api/calendar/feed", headers=headers), 201)
    sample = (DATA / "todoist_sample.csv").read_bytes()
    await ok(await import_file(client, headers, sample, "todoist"))
    assert await db.import_keys.count_documents({}) == 8
    resp = await client.delete("/api/auth/me", headers=headers, json={"password": PASSWORD})
    assert resp.status == 204, await resp.text()
    assert await db.calendar_feeds.count_documents({}) == 0
    assert await db.import_keys.count_documents({}) == 0
    path = "/cal/" + feed["url"].split("/cal/", 1)[1]
    await assert_problem(await client.get(path), 404)


async def test_an_import_may_be_larger_than_other_request_bodies(client: TestClient) -> None:
    headers = await fresh_user(client)
    tasks = [{"id": str(i), "title": f"task number {i}", "notes": "n" * 200} for i in range(300)]
    body = json.dumps({"schema_version": 1, "lists": [], "tasks": tasks}).encode()
    assert len(body) > 64 * 1024  # MAX_BODY_BYTES, the limit of every other route
    report = await ok(await import_file(client, headers, body))
    assert report["tasks"] == 300


async def test_a_completed_repeating_task_is_imported_done_and_many_tasks_at_once(
    client: TestClient,
) -> None:
    """Done in the file is done for good (Done on a repeating task otherwise moves it to its
    next occurrence), and an import is not paced by the tasks-per-minute rate: it is one
    request, bounded by its size and the count quotas."""
    headers = await fresh_user(client)
    at = (FUTURE + timedelta(days=3)).isoformat()
    finished = {"id": "r", "title": "water the plants", "repeat": "FREQ=DAILY",
                "remind_at": at, "done": True}  # fmt: skip
    many = [{"id": str(i), "title": f"task {i}"} for i in range(120)]  # over 60 a minute
    body = json.dumps({"schema_version": 1, "lists": [], "tasks": [finished, *many]}).encode()
    report = await ok(await import_file(client, headers, body))
    assert (report["tasks"], report["reminders"]) == (121, 0)
    document = await export_of(client, headers)
    [plants] = [t for t in document["tasks"] if t["title"] == "water the plants"]
    assert (plants["done"], plants["repeat"]) == (True, "FREQ=DAILY")


async def test_an_export_names_the_members_of_shared_lists_and_an_import_ignores_them(
    client: TestClient, db: Any
) -> None:
    """An owner's export: their shared list with its members (id, name, role) as information;
    a list someone else shares with them only as a reference, without its tasks. Imported
    elsewhere, the list and its tasks come back; no membership does (joining takes an
    invite), and the other owner's list is not copied."""
    ann, ben, cat = [await fresh_user(client) for _ in range(3)]
    me = await ok(await client.get("/api/auth/me", headers=ben))
    ben_id, ben_name = me["id"], me["username"]

    async def share(owner: dict[str, str], name: str, member: dict[str, str], role: str) -> str:
        made = await ok(await client.post("/api/lists", headers=owner, json={"name": name}), 201)
        invite = await ok(await client.post(f"/api/lists/{made['id']}/invites", headers=owner,
                                            json={"role": role}), 201)  # fmt: skip
        await ok(await client.post(f"/api/invites/{invite['code']}/accept", headers=member))
        return str(made["id"])

    groceries = await share(ann, "Groceries", ben, "editor")
    work = await share(cat, "Work", ann, "viewer")
    await ok(await client.post("/api/tasks", headers=ann,
                               json={"title": "Milk", "list": groceries}), 201)  # fmt: skip
    await ok(await client.post("/api/tasks", headers=cat,
                               json={"title": "Cat's report", "list": work}), 201)  # fmt: skip

    document = await export_of(client, ann)  # valid against the schema, version 1
    assert document["schema_version"] == 1
    assert [item["name"] for item in document["lists"] if item["key"] is None] == ["Groceries"]
    assert [t["title"] for t in document["tasks"]] == ["Milk"]
    [member] = document["list_members"]
    assert (member["list_id"], member["user_id"], member["name"], member["role"]) == (
        groceries, ben_id, ben_name, "editor",
    )  # fmt: skip
    [joined] = document["joined_lists"]
    assert (joined["list_id"], joined["name"], joined["role"]) == (work, "Work", "viewer")
    assert (await export_of(client, ben))["list_members"] == []

    memberships = await db.list_members.count_documents({})
    dan = await fresh_user(client)
    report = await ok(await import_file(client, dan, json.dumps(document).encode()))
    assert (report["lists"], report["tasks"]) == (1, 1)
    assert await db.list_members.count_documents({}) == memberships
    again = await export_of(client, dan)
    assert [item["name"] for item in again["lists"] if item["key"] is None] == ["Groceries"]
    assert (again["list_members"], again["joined_lists"]) == ([], [])
