"""Concurrent edits of one task through the real app (docs/sharing.md, "Concurrent edits"):
a write with `If-Match` based on an older version gets a 409 carrying the current task and
changes nothing; a matching one succeeds; without `If-Match` the last writer wins as before;
a malformed `If-Match` is a 400 naming the header."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.bot_helpers import bot_settings
from tests.conftest import AppFactory
from tests.e2e.test_api_sharing import join
from tests.e2e.test_api_tasks import add, new_user, ok
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import assert_problem

Headers = dict[str, str]


@pytest.fixture
async def api(make_client: AppFactory, fake_api: FakeBotAPI) -> TestClient:
    return await make_client(**bot_settings(fake_api))


async def two_members(api: TestClient) -> tuple[Headers, Headers, dict[str, Any]]:
    """alice owns Groceries with a task in it; bob edits it."""
    alice, bob = await new_user(api, "alice"), await new_user(api, "bob")
    groceries = await ok(
        await api.post("/api/lists", json={"name": "Groceries"}, headers=alice), 201
    )
    await join(api, alice, bob, groceries["id"], "editor")
    task = await add(api, alice, title="Milk", list=groceries["id"])
    return alice, bob, task


async def stored(db: Any) -> list[dict[str, Any]]:
    return await db["tasks"].find({}).sort("_id", 1).to_list()


def path(task: dict[str, Any]) -> str:
    return f"/api/tasks/{task['id']}"


async def test_the_second_member_editing_the_same_version_gets_409_with_the_current_task(api, db):
    alice, bob, task = await two_members(api)
    # Both open the task: the same version, as the ETag and in the body.
    seen_by = {}
    for who, headers in (("alice", alice), ("bob", bob)):
        resp = await api.get(path(task), headers=headers)
        seen_by[who] = await ok(resp)
        assert resp.headers["ETag"] == f'"{seen_by[who]["version"]}"'
    version = seen_by["alice"]["version"]
    assert seen_by["bob"]["version"] == version
    tag = f'"{version}"'

    resp = await api.patch(
        path(task), json={"title": "Oat milk"}, headers={**alice, "If-Match": tag}
    )
    first = await ok(resp)
    assert first["title"] == "Oat milk"
    assert first["version"] == version + 1
    assert resp.headers["ETag"] == f'"{version + 1}"'

    before = await stored(db)
    resp = await api.patch(
        path(task), json={"title": "Soy milk", "notes": "2 l"}, headers={**bob, "If-Match": tag}
    )
    problem = await assert_problem(resp, 409)
    assert problem["type"] == "urn:problem:task-changed"
    # The current task, as GET shows it to bob, and its tag: enough to show it and re-apply.
    current = problem["current"]
    assert current == await ok(await api.get(path(task), headers=bob))
    assert (current["title"], current["notes"], current["version"]) == ("Oat milk", "", version + 1)
    assert current["updated_by"] == first["updated_by"]
    assert resp.headers["ETag"] == f'"{version + 1}"'
    assert await stored(db) == before  # nothing changed

    # Re-applied on the version it now knows: it goes through.
    resp = await api.patch(
        path(task), json={"title": "Soy milk"}, headers={**bob, "If-Match": resp.headers["ETag"]}
    )
    assert (await ok(resp))["title"] == "Soy milk"


async def test_without_if_match_the_last_writer_wins_as_before(api):
    alice, bob, task = await two_members(api)
    await ok(await api.patch(path(task), json={"title": "Oat milk"}, headers=alice))
    # bob's view is stale, but he sends no If-Match: his write goes through (bot, old clients).
    after = await ok(await api.patch(path(task), json={"title": "Soy milk"}, headers=bob))
    assert after["title"] == "Soy milk"
    assert after["version"] == task["version"] + 2
    # `*` asks only that the task exists: the same.
    after = await ok(
        await api.patch(path(task), json={"done": True}, headers={**alice, "If-Match": "*"})
    )
    assert after["done"] is True


async def test_done_move_and_delete_on_a_stale_version_are_refused_and_change_nothing(api, db):
    alice, bob, task = await two_members(api)
    stale = f'"{task["version"]}"'
    await ok(await api.patch(path(task), json={"notes": "the green one"}, headers=alice))
    before = await stored(db)
    for method, body in (
        ("PATCH", {"done": True}),
        ("PATCH", {"list": "inbox"}),
        ("PATCH", {"remind_at": "2031-01-01T09:00:00Z"}),
        # Stale first: no list or quota is looked at for an edit that must be redone anyway.
        ("PATCH", {"list": "no-such-list"}),
        ("DELETE", None),
    ):
        resp = await api.request(method, path(task), json=body, headers={**bob, "If-Match": stale})
        problem = await assert_problem(resp, 409)
        assert problem["current"]["notes"] == "the green one", (method, body)
        assert await stored(db) == before, (method, body)
    # On the current version each goes through; a delete on it deletes.
    current = f'"{task["version"] + 1}"'
    done = await ok(
        await api.patch(path(task), json={"done": True}, headers={**bob, "If-Match": current})
    )
    resp = await api.delete(path(task), headers={**bob, "If-Match": f'"{done["version"]}"'})
    assert resp.status == 204
    assert await stored(db) == []


async def test_a_list_of_tags_matches_any_of_them(api):
    alice, _, task = await two_members(api)
    tags = f'"{task["version"] + 5}", "{task["version"]}"'
    resp = await api.patch(path(task), json={"title": "Tea"}, headers={**alice, "If-Match": tags})
    assert (await ok(resp))["title"] == "Tea"


MALFORMED = [
    "0",
    'W/"0"',
    '"abc"',
    '""',
    '"0',
    '0"',
    '"0",',
    '"-1"',
    '"1e3"',
    '"٣"',
    '"0" "1"',
    ",",
]
TOO_LONG = '"0", ' * 40 + '"0"'


@pytest.mark.parametrize("value", [*MALFORMED, TOO_LONG])
async def test_a_malformed_if_match_is_a_400_naming_the_header_and_changes_nothing(api, db, value):
    alice, _, task = await two_members(api)
    before = await stored(db)
    for method, body in (("PATCH", {"title": "Tea"}), ("DELETE", None)):
        resp = await api.request(
            method, path(task), json=body, headers={**alice, "If-Match": value}
        )
        problem = await assert_problem(resp, 400)
        assert [e["field"] for e in problem["errors"]] == ["If-Match"], value
        assert await stored(db) == before


async def test_access_is_decided_before_the_version(api, db):
    """A viewer or a stranger learns nothing from a version: 403 and 404 as without If-Match."""
    alice, _, task = await two_members(api)
    carol, eve = await new_user(api, "carol"), await new_user(api, "eve")
    await join(api, alice, carol, task["list_id"], "viewer")
    for who, status in ((carol, 403), (eve, 404)):
        for tag in (f'"{task["version"]}"', '"99"'):
            resp = await api.patch(
                path(task), json={"title": "x"}, headers={**who, "If-Match": tag}
            )
            await assert_problem(resp, status)


async def test_pages_carry_each_tasks_version_for_if_match(api):
    alice, bob, task = await two_members(api)
    await ok(await api.patch(path(task), json={"title": "Oat milk"}, headers=alice))
    page = await ok(await api.get(f"/api/tasks?list={task['list_id']}", headers=bob))
    [item] = page["items"]
    assert item["version"] == task["version"] + 1
    resp = await api.patch(
        path(task), json={"done": True}, headers={**bob, "If-Match": f'"{item["version"]}"'}
    )
    assert (await ok(resp))["done"] is True


async def test_a_task_stored_without_a_version_is_at_version_0(api, db):
    """Documents older than the field (or written by hand) are read and written as version 0;
    before, every write of one failed as a concurrent change."""
    alice, _, task = await two_members(api)
    await db["tasks"].update_one({"_id": {"$exists": True}}, {"$unset": {"version": ""}})
    assert "version" not in (await stored(db))[0]
    resp = await api.get(path(task), headers=alice)
    assert ((await ok(resp))["version"], resp.headers["ETag"]) == (0, '"0"')
    await assert_problem(
        await api.patch(path(task), json={"title": "Tea"}, headers={**alice, "If-Match": '"1"'}),
        409,
    )
    changed = await ok(
        await api.patch(path(task), json={"title": "Tea"}, headers={**alice, "If-Match": '"0"'})
    )
    assert changed["version"] == 1
    await db["tasks"].update_one({"_id": {"$exists": True}}, {"$unset": {"version": ""}})
    unconditional = await ok(await api.patch(path(task), json={"title": "Coffee"}, headers=alice))
    assert (unconditional["title"], unconditional["version"]) == ("Coffee", 1)
    await db["tasks"].update_one({"_id": {"$exists": True}}, {"$unset": {"version": ""}})
    resp = await api.delete(path(task), headers={**alice, "If-Match": '"0"'})
    assert resp.status == 204
    assert await stored(db) == []
