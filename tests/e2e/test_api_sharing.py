"""Shared lists through the real app (DESIGN.md, "Shared lists"): the access rule for owner,
editor, viewer, removed member and stranger on every list and task route; invites (used,
revoked, unknown), members, leaving, transfer, quotas, and deleting an owner's account."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.bot_helpers import PUBLIC_URL, bot_settings
from tests.conftest import AppFactory
from tests.e2e.test_api_tasks import add, lists_of, new_user, ok
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import PASSWORD, assert_problem

Headers = dict[str, str]


@pytest.fixture
async def api(make_client: AppFactory, fake_api: FakeBotAPI) -> TestClient:
    return await make_client(**bot_settings(fake_api))


async def users(api: TestClient, *names: str) -> list[Headers]:
    return [await new_user(api, name) for name in names]


async def user_id(api: TestClient, who: Headers) -> str:
    return str((await ok(await api.get("/api/auth/me", headers=who)))["id"])


async def invite(api: TestClient, owner: Headers, list_id: str, role: str) -> dict[str, Any]:
    path = f"/api/lists/{list_id}/invites"
    return await ok(await api.post(path, json={"role": role}, headers=owner), 201)


async def join(api: TestClient, owner: Headers, member: Headers, list_id: str, role: str) -> None:
    code = (await invite(api, owner, list_id, role))["code"]
    joined = await ok(await api.post(f"/api/invites/{code}/accept", headers=member))
    assert (joined["id"], joined["role"]) == (list_id, role)


async def shared_world(api: TestClient) -> dict[str, Any]:
    """alice owns Groceries; bob edits, carol views, dave was removed, eve is a stranger."""
    people = {name: await new_user(api, name) for name in ("alice", "bob", "carol", "dave", "eve")}
    alice = people["alice"]
    groceries = await ok(
        await api.post("/api/lists", json={"name": "Groceries"}, headers=alice), 201
    )
    lid = groceries["id"]
    await join(api, alice, people["bob"], lid, "editor")
    await join(api, alice, people["carol"], lid, "viewer")
    await join(api, alice, people["dave"], lid, "editor")
    dave_id = await user_id(api, people["dave"])
    resp = await api.delete(f"/api/lists/{lid}/members/{dave_id}", headers=alice)
    assert resp.status == 204
    return {"people": people, "list": lid, "bob_id": await user_id(api, people["bob"])}


# --- The access matrix -------------------------------------------------------------------------

OK, FORBIDDEN, MISSING = "ok", 403, 404
# What each role gets on each route: owner, editor, viewer, removed, stranger.
EXPECTED: dict[str, tuple[Any, ...]] = {
    "get task": (OK, OK, OK, MISSING, MISSING),
    "list tasks": (OK, OK, OK, MISSING, MISSING),
    "search all": (OK, OK, OK, "none", "none"),
    "rename task": (OK, OK, FORBIDDEN, MISSING, MISSING),
    "complete task": (OK, OK, FORBIDDEN, MISSING, MISSING),
    "assign task": (OK, OK, FORBIDDEN, MISSING, MISSING),
    "delete task": (OK, OK, FORBIDDEN, MISSING, MISSING),
    "add task": (OK, OK, FORBIDDEN, 422, 422),  # a list one may not use, named in a body: 422
    "move task out": (OK, OK, FORBIDDEN, MISSING, MISSING),
    "rename list": (OK, OK, FORBIDDEN, MISSING, MISSING),
    "members": (OK, OK, OK, MISSING, MISSING),
    "invite": (OK, FORBIDDEN, FORBIDDEN, MISSING, MISSING),
    "open invites": (OK, FORBIDDEN, FORBIDDEN, MISSING, MISSING),
    "set role": (OK, FORBIDDEN, FORBIDDEN, MISSING, MISSING),
    "remove member": (OK, FORBIDDEN, FORBIDDEN, MISSING, MISSING),
    "transfer": (OK, FORBIDDEN, FORBIDDEN, MISSING, MISSING),
    "delete list": (OK, FORBIDDEN, FORBIDDEN, MISSING, MISSING),
}
ROLES = ("owner", "editor", "viewer", "removed", "stranger")
WHO = {"owner": "alice", "editor": "bob", "viewer": "carol", "removed": "dave", "stranger": "eve"}


@pytest.mark.parametrize("role", ROLES)
async def test_every_list_and_task_route_answers_each_role_by_the_one_rule(api, db, role):
    world = await shared_world(api)
    alice, lid, bob_id = world["people"]["alice"], world["list"], world["bob_id"]
    me = world["people"][WHO[role]]
    column = ROLES.index(role)

    async def fresh_task() -> dict[str, Any]:
        return await add(api, alice, title="Milk", list=lid)

    async def check(route: str, method: str, path: str, body: Any = None) -> Any:
        want = EXPECTED[route][column]
        before = await db["tasks"].find({}).sort("_id", 1).to_list()
        resp = await api.request(method, path, json=body, headers=me)
        if want == OK:
            assert resp.status < 300, (route, resp.status, await resp.text())
            return await resp.json() if resp.status != 204 else None
        problem = await assert_problem(resp, want)
        assert problem["status"] == want, route
        # A refused request changes nothing.
        assert await db["tasks"].find({}).sort("_id", 1).to_list() == before, route
        return None

    task = await fresh_task()
    got = await check("get task", "GET", f"/api/tasks/{task['id']}")
    if got is not None:
        assert got["title"] == "Milk"
        assert got["list_id"] == lid
    page = await check("list tasks", "GET", f"/api/tasks?list={lid}")
    if page is not None:
        assert [t["id"] for t in page["items"]] == [task["id"]]
    everything = await ok(await api.get("/api/tasks?status=all", headers=me))
    found = await ok(await api.get("/api/tasks?q=milk&status=all", headers=me))
    sees = EXPECTED["search all"][column] == OK
    assert (task["id"] in [t["id"] for t in everything["items"]]) is sees
    assert (task["id"] in [t["id"] for t in found["items"]]) is sees
    await check("rename task", "PATCH", f"/api/tasks/{task['id']}", {"title": "Oat milk"})
    await check("complete task", "PATCH", f"/api/tasks/{task['id']}", {"done": True})
    await check("assign task", "PATCH", f"/api/tasks/{task['id']}", {"assignee_id": bob_id})
    await check("delete task", "DELETE", f"/api/tasks/{(await fresh_task())['id']}")
    created = await check("add task", "POST", "/api/tasks", {"title": "Bread", "list": lid})
    if created is not None:
        assert created["list_id"] == lid
        assert created["created_by"] == await user_id(api, me)
    moved = await check(
        "move task out", "PATCH", f"/api/tasks/{(await fresh_task())['id']}", {"list": "inbox"}
    )
    if moved is not None:  # into the mover's own inbox: now theirs alone
        mine = await ok(await api.get("/api/tasks?list=inbox", headers=me))
        assert moved["id"] in [t["id"] for t in mine["items"]]
    await check("rename list", "PATCH", f"/api/lists/{lid}", {"name": "Food"})
    members = await check("members", "GET", f"/api/lists/{lid}/members")
    if members is not None:
        assert [(m["role"], m["owner"]) for m in members["items"]] == [
            ("owner", True), ("editor", False), ("viewer", False),
        ]  # fmt: skip
    await check("invite", "POST", f"/api/lists/{lid}/invites", {"role": "viewer"})
    await check("open invites", "GET", f"/api/lists/{lid}/invites")
    await check("set role", "PATCH", f"/api/lists/{lid}/members/{bob_id}", {"role": "editor"})
    carol_id = await user_id(api, world["people"]["carol"])
    if role != "viewer":  # carol removing herself is leaving (tested on its own)
        await check("remove member", "DELETE", f"/api/lists/{lid}/members/{carol_id}")
    if role != "editor":  # bob handing the list to himself
        await check("transfer", "POST", f"/api/lists/{lid}/owner", {"user_id": bob_id})
    if role == "owner":  # the list now belongs to bob: alice is an editor of it
        assert (await lists_of(api, alice))["Food"]["role"] == "editor"
        return
    await check("delete list", "DELETE", f"/api/lists/{lid}")


async def test_shared_lists_appear_beside_ones_own_with_owner_role_and_members(api):
    world = await shared_world(api)
    people, lid = world["people"], world["list"]
    alice_id = await user_id(api, people["alice"])
    owned = (await lists_of(api, people["alice"]))["Groceries"]
    assert (owned["owner_id"], owned["role"], owned["members_count"]) == (alice_id, "owner", 3)
    await add(api, people["alice"], title="Eggs", list=lid)
    for name, role in (("bob", "editor"), ("carol", "viewer")):
        lists = await lists_of(api, people[name])
        assert list(lists)[:4] == ["inbox", "today", "later", "someday"]
        shared = lists["Groceries"]
        assert (shared["id"], shared["owner_id"], shared["role"]) == (lid, alice_id, role)
        assert (shared["members_count"], shared["open_count"]) == (3, 1)
    assert "Groceries" not in await lists_of(api, people["dave"])
    assert "Groceries" not in await lists_of(api, people["eve"])
    # A built-in list is never shared.
    inbox = (await lists_of(api, people["alice"]))["inbox"]["id"]
    resp = await api.post(f"/api/lists/{inbox}/invites", json={"role": "editor"},
                          headers=people["alice"])  # fmt: skip
    assert (await assert_problem(resp, 409))["detail"] == "Built-in lists cannot be shared"


async def test_each_change_records_who_made_it_and_the_assignee_must_be_a_member(api):
    world = await shared_world(api)
    people, lid, bob_id = world["people"], world["list"], world["bob_id"]
    alice_id = await user_id(api, people["alice"])
    task = await add(api, people["alice"], title="Eggs", list=lid)
    assert (task["created_by"], task["updated_by"], task["assignee_id"]) == (
        alice_id,
        alice_id,
        None,
    )
    done = await ok(await api.patch(f"/api/tasks/{task['id']}", json={"done": True},
                                    headers=people["bob"]))  # fmt: skip
    assert (done["created_by"], done["updated_by"]) == (alice_id, bob_id)
    assignment = {"assignee_id": bob_id}
    assigned = await ok(await api.patch(f"/api/tasks/{task['id']}", json=assignment,
                                        headers=people["alice"]))  # fmt: skip
    assert assigned["assignee_id"] == bob_id
    for stranger in (await user_id(api, people["eve"]), await user_id(api, people["dave"]),
                     "not-an-id"):  # fmt: skip
        resp = await api.patch(f"/api/tasks/{task['id']}", json={"assignee_id": stranger},
                               headers=people["alice"])  # fmt: skip
        assert (await assert_problem(resp, 422))["errors"][0]["field"] == "assignee_id"
    cleared = await ok(await api.patch(f"/api/tasks/{task['id']}", json={"assignee_id": None},
                                       headers=people["alice"]))  # fmt: skip
    assert cleared["assignee_id"] is None


# --- Invites ------------------------------------------------------------------------------------


async def test_today_holds_the_shared_tasks_that_are_the_members_by_the_one_rule(api):
    """GET /api/tasks?list=today and Today's count on GET /api/lists, for the owner and two
    members: unassigned tasks by their time (UTC here, no zone set), assigned ones for their
    assignee only, the list's undated rest for nobody."""
    world = await shared_world(api)
    alice, bob, carol = (world["people"][n] for n in ("alice", "bob", "carol"))
    lid, bob_id = world["list"], world["bob_id"]
    past = "2000-01-01T09:00:00Z"  # overdue for everyone, whatever today is
    await add(api, alice, title="overdue, nobody's", list=lid, due=past)
    await add(api, alice, title="undated, nobody's", list=lid)
    await add(api, alice, title="next century", list=lid, remind_at="2199-01-01T09:00:00Z")
    for title, due in (("bob's, undated", None), ("bob's, overdue", past)):
        task = await add(api, alice, title=title, list=lid, due=due)
        await ok(await api.patch(f"/api/tasks/{task['id']}", json={"assignee_id": bob_id},
                                 headers=alice))  # fmt: skip

    async def today(who: Headers) -> list[str]:
        page = await ok(await api.get("/api/tasks?list=today", headers=who))
        assert (await lists_of(api, who))["today"]["open_count"] == len(page["items"])
        assert all(item["list_id"] == lid for item in page["items"])
        return [item["title"] for item in page["items"]]

    assert await today(bob) == ["overdue, nobody's", "bob's, overdue", "bob's, undated"]
    assert await today(carol) == ["overdue, nobody's"]  # a viewer sees the list's day too
    assert await today(alice) == ["overdue, nobody's"]  # the owner: not what bob is to do
    assert await today(world["people"]["dave"]) == []  # removed
    assert await today(world["people"]["eve"]) == []  # a stranger


async def test_an_invite_is_shown_then_used_once_and_links_work_in_telegram_and_browser(api):
    alice, bob, eve = await users(api, "alice", "bob", "eve")
    lid = (await ok(await api.post("/api/lists", json={"name": "Chores"}, headers=alice), 201))[
        "id"
    ]
    made = await invite(api, alice, lid, "viewer")
    code = made["code"]
    assert len(code) >= 16
    assert made["telegram_url"].startswith("https://t.me/")
    assert made["telegram_url"].endswith(f"?start=join_{code}")
    assert made["web_url"] == f"{PUBLIC_URL.rstrip('/')}/app/#join={code}"
    listed = await ok(await api.get(f"/api/lists/{lid}/invites", headers=alice))
    assert [i["code"] for i in listed["items"]] == [code]
    shown = await ok(await api.get(f"/api/invites/{code}", headers=bob))
    assert (shown["list_name"], shown["owner_name"], shown["role"]) == ("Chores", "alice", "viewer")
    joined = await ok(await api.post(f"/api/invites/{code}/accept", headers=bob))
    assert (joined["role"], joined["name"]) == ("viewer", "Chores")
    # Used: gone for everyone else, and no longer listed as open.
    assert await assert_problem(await api.get(f"/api/invites/{code}", headers=eve), 404)
    await assert_problem(await api.post(f"/api/invites/{code}/accept", headers=eve), 404)
    assert "Chores" not in await lists_of(api, eve)
    assert (await ok(await api.get(f"/api/lists/{lid}/invites", headers=alice)))["items"] == []


async def test_a_revoked_or_unknown_invite_is_404_and_joins_nobody(api):
    alice, bob = await new_user(api, "alice"), await new_user(api, "bob")
    lid = (await ok(await api.post("/api/lists", json={"name": "Chores"}, headers=alice), 201))[
        "id"
    ]
    code = (await invite(api, alice, lid, "editor"))["code"]
    assert (await api.delete(f"/api/lists/{lid}/invites/{code}", headers=alice)).status == 204
    await assert_problem(await api.delete(f"/api/lists/{lid}/invites/{code}", headers=alice), 404)
    for bad in (code, "x", "A" * 65, "no-such-code-0000"):
        await assert_problem(await api.get(f"/api/invites/{bad}", headers=bob), 404)
        await assert_problem(await api.post(f"/api/invites/{bad}/accept", headers=bob), 404)
    assert "Chores" not in await lists_of(api, bob)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"role": "owner"}, "role"), ({}, "role"), ({"role": "editor", "expires_in": 5}, "expires_in"),
     ({"role": "editor", "expires_in": 10**9}, "expires_in"), ({"role": "editor", "x": 1}, "x"),
     ({"role": "editor", "expires_in": "soon"}, "expires_in")],
)  # fmt: skip
async def test_a_bad_invite_is_a_422_naming_the_field_and_makes_none(api, db, body, field):
    alice = await new_user(api, "alice")
    lid = (await ok(await api.post("/api/lists", json={"name": "Chores"}, headers=alice), 201))[
        "id"
    ]
    resp = await api.post(f"/api/lists/{lid}/invites", json=body, headers=alice)
    problem = await assert_problem(resp, 422)
    assert problem["errors"][0]["field"] == field
    assert await db["list_invites"].find({}).to_list() == []


async def test_quotas_members_per_list_and_shared_lists_per_user(make_client, fake_api):
    api = await make_client(**bot_settings(fake_api), sharing_max_members_per_list=1,
                            sharing_max_lists_per_user=1)  # fmt: skip
    alice, bob, carol = await users(api, "alice", "bob", "carol")
    one = (await ok(await api.post("/api/lists", json={"name": "One"}, headers=alice), 201))["id"]
    two = (await ok(await api.post("/api/lists", json={"name": "Two"}, headers=alice), 201))["id"]
    spare = (await invite(api, alice, one, "editor"))["code"]
    await join(api, alice, bob, one, "editor")
    # One member already: the list is full, for new invites and for open ones.
    resp = await api.post(f"/api/lists/{one}/invites", json={"role": "viewer"}, headers=alice)
    await assert_problem(resp, 409)
    await assert_problem(await api.post(f"/api/invites/{spare}/accept", headers=carol), 409)
    # alice shares one list already: a second is over her quota.
    resp = await api.post(f"/api/lists/{two}/invites", json={"role": "viewer"}, headers=alice)
    await assert_problem(resp, 409)
    assert "One" not in await lists_of(api, carol)


# --- Members leave, are removed, ownership moves ------------------------------------------


async def test_a_member_leaves_and_the_owner_cannot(api):
    world = await shared_world(api)
    people, lid, bob_id = world["people"], world["list"], world["bob_id"]
    alice_id = await user_id(api, people["alice"])
    assert (
        await api.delete(f"/api/lists/{lid}/members/{bob_id}", headers=people["bob"])
    ).status == 204
    assert "Groceries" not in await lists_of(api, people["bob"])
    await assert_problem(await api.get(f"/api/tasks?list={lid}", headers=people["bob"]), 404)
    resp = await api.delete(f"/api/lists/{lid}/members/{alice_id}", headers=people["alice"])
    assert (await assert_problem(resp, 409))["detail"].startswith("The owner cannot leave")


async def test_a_removed_member_loses_access_at_once_in_every_process(make_client, fake_api):
    one = await make_client(**bot_settings(fake_api))
    other = await make_client(**bot_settings(fake_api))  # another process, the same database
    alice, bob = await new_user(one, "alice"), await new_user(one, "bob")
    lid = (await ok(await one.post("/api/lists", json={"name": "Team"}, headers=alice), 201))["id"]
    task = await add(one, alice, title="Plan", list=lid)
    await join(one, alice, bob, lid, "editor")
    bob_id = await user_id(one, bob)
    # bob has used the list in the other process (anything it might keep is warm) ...
    await ok(await other.get(f"/api/tasks/{task['id']}", headers=bob))
    await ok(await other.get(f"/api/tasks?list={lid}", headers=bob))
    # ... and is removed in this one: the very next request there is refused.
    assert (await one.delete(f"/api/lists/{lid}/members/{bob_id}", headers=alice)).status == 204
    await assert_problem(await other.get(f"/api/tasks/{task['id']}", headers=bob), 404)
    await assert_problem(await other.patch(f"/api/tasks/{task['id']}", json={"done": True},
                                           headers=bob), 404)  # fmt: skip
    await assert_problem(await other.get(f"/api/tasks?list={lid}", headers=bob), 404)


async def test_ownership_moves_to_a_member_with_the_tasks_and_the_old_owner_stays_editor(api):
    world = await shared_world(api)
    people, lid, bob_id = world["people"], world["list"], world["bob_id"]
    task = await add(api, people["alice"], title="Eggs", list=lid,
                     remind_at="2030-01-01T09:00:00Z")  # fmt: skip
    # Only a member can become the owner.
    eve_id = await user_id(api, people["eve"])
    resp = await api.post(
        f"/api/lists/{lid}/owner", json={"user_id": eve_id}, headers=people["alice"]
    )
    assert (await assert_problem(resp, 422))["errors"][0]["field"] == "user_id"
    moved = await ok(await api.post(f"/api/lists/{lid}/owner", json={"user_id": bob_id},
                                    headers=people["alice"]))  # fmt: skip
    assert (moved["owner_id"], moved["role"]) == (bob_id, "editor")
    assert (await lists_of(api, people["bob"]))["Groceries"]["role"] == "owner"
    page = await ok(await api.get(f"/api/tasks?list={lid}", headers=people["bob"]))
    assert [t["id"] for t in page["items"]] == [task["id"]]
    # The former owner edits but no longer manages.
    await ok(await api.patch(f"/api/tasks/{task['id']}", json={"title": "Brown eggs"},
                             headers=people["alice"]))  # fmt: skip
    resp = await api.post(
        f"/api/lists/{lid}/invites", json={"role": "viewer"}, headers=people["alice"]
    )
    await assert_problem(resp, 403)
    await invite(api, people["bob"], lid, "viewer")
    members = await ok(await api.get(f"/api/lists/{lid}/members", headers=people["carol"]))
    assert next((m["user_id"], m["role"]) for m in members["items"]) == (bob_id, "owner")


async def test_deleting_an_owner_hands_each_shared_list_to_its_longest_standing_member(api, db):
    world = await shared_world(api)  # bob joined before carol
    people, lid, bob_id = world["people"], world["list"], world["bob_id"]
    alice = people["alice"]
    task = await add(api, alice, title="Eggs", list=lid)
    alone = (await ok(await api.post("/api/lists", json={"name": "Diary"}, headers=alice), 201))[
        "id"
    ]
    await add(api, alice, title="Secret", list=alone)
    resp = await api.delete("/api/auth/me", json={"password": PASSWORD}, headers=alice)
    assert resp.status == 204, await resp.text()
    shared = (await lists_of(api, people["bob"]))["Groceries"]
    assert (shared["id"], shared["owner_id"], shared["role"]) == (lid, bob_id, "owner")
    assert (await lists_of(api, people["carol"]))["Groceries"]["role"] == "viewer"
    page = await ok(await api.get(f"/api/tasks?list={lid}", headers=people["carol"]))
    assert [t["id"] for t in page["items"]] == [task["id"]]
    members = await ok(await api.get(f"/api/lists/{lid}/members", headers=people["bob"]))
    assert len(members["items"]) == 2  # bob (owner) and carol: alice is gone
    # The list nobody else saw went with the account, its task too.
    assert await db["task_lists"].find_one({"name": "Diary"}) is None
    assert await db["tasks"].find_one({"title": "Secret"}) is None


# --- Polling: ETag / 304 --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/lists", "/api/tasks?list={lid}", "/api/tasks"])
async def test_a_poll_is_a_304_until_another_member_changes_something(api, path):
    world = await shared_world(api)
    people, lid = world["people"], world["list"]
    url = path.format(lid=lid)
    first = await api.get(url, headers=people["bob"])
    assert first.status == 200
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    same = await api.get(url, headers={**people["bob"], "If-None-Match": tag})
    assert (same.status, await same.read(), same.headers["ETag"]) == (304, b"", tag)
    weak = await api.get(url, headers={**people["bob"], "If-None-Match": f'"x", W/{tag}'})
    assert weak.status == 304
    await add(api, people["alice"], title="Butter", list=lid)  # another member's change
    changed = await api.get(url, headers={**people["bob"], "If-None-Match": tag})
    assert changed.status == 200
    assert changed.headers["ETag"] != tag
    body = await changed.json()
    if "tasks" in url:
        assert [t["title"] for t in body["items"]] == ["Butter"]
    else:
        assert next(i for i in body["items"] if i["id"] == lid)["open_count"] == 1
