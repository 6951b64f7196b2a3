"""Shared lists in the Mini App, two people in two browser contexts: the owner's Share button
makes a link, the other opens it, signs in, confirms the list and its owner, and both see
each other among the members; a used link says so in words."""

from __future__ import annotations

import time

import pytest
from aiohttp import ClientSession

from tests.helpers import PASSWORD

pytestmark = pytest.mark.timeout(120)


async def sign_in(page, username: str) -> None:
    await page.wait_for_selector("#sign-in")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.press("input[name=password]", "Enter")


async def test_an_owner_shares_a_list_and_a_second_person_joins_it(base_url, open_page):
    async with ClientSession() as http:
        tokens = {}
        for name in ("alice", "bob", "carol"):
            resp = await http.post(
                base_url + "api/auth/register", json={"username": name, "password": PASSWORD}
            )
            assert resp.status == 201
            tokens[name] = (await resp.json())["access_token"]
        resp = await http.post(base_url + "api/lists", json={"name": "Groceries"},
                               headers={"Authorization": f"Bearer {tokens['alice']}"})  # fmt: skip
        assert resp.status == 201
        lid = (await resp.json())["id"]

    owner = await open_page()
    await owner.page.goto(base_url + "app/")
    await sign_in(owner.page, "alice")
    await owner.page.click("#lists-button")  # the app opens on Today; the lists, one tap away
    await owner.page.click(".list-row:has-text('Groceries')")
    await owner.page.click("#share")
    await owner.page.select_option("#share-role", "editor")
    await owner.page.click("#share-form button[type=submit]")
    web_url = await owner.page.locator("#share-web").input_value()
    assert "/app/#join=" in web_url
    assert (await owner.page.locator("#share-telegram").input_value()).startswith("https://t.me/")
    code = web_url.split("#join=", 1)[1]

    joiner = await open_page()  # another browser context: another person
    await joiner.page.goto(base_url + f"app/#join={code}")
    await sign_in(joiner.page, "bob")
    text = joiner.page.locator("#join-text")
    await text.wait_for()
    assert await text.inner_text() == (
        "alice invites you to the shared list “Groceries” as editor."
    )
    assert "#join" not in joiner.page.url  # the code left the address bar at once
    await joiner.page.click("#join-yes")
    await joiner.page.wait_for_selector("#member-rows")
    assert await joiner.page.inner_text("#title") == "Groceries"
    rows = await joiner.page.locator("#member-rows li").all_inner_texts()
    assert [r.split("\n")[0] for r in rows] == ["alice · owner", "bob (you) · editor"]
    # An editor may rename the list but not delete it; the owner may.
    assert await joiner.page.locator(".list-actions > button.danger").count() == 0
    assert await joiner.page.locator(".list-actions > button.secondary").count() == 1

    # The owner adds a task: the member's open list shows it without a reload (polling).
    async with ClientSession() as http:
        resp = await http.post(base_url + "api/tasks", json={"title": "Butter", "list": lid},
                               headers={"Authorization": f"Bearer {tokens['alice']}"})  # fmt: skip
        assert resp.status == 201
    changed = time.monotonic()
    await joiner.page.wait_for_selector("#task-rows .task-title:has-text('Butter')", timeout=5000)
    print(f"\nseen by the other member after {time.monotonic() - changed:.2f} s")

    await owner.page.reload()
    await owner.page.wait_for_selector("#member-rows")
    rows = await owner.page.locator("#member-rows li span").all_inner_texts()
    assert rows == ["alice (you) · owner", "bob · editor"]
    assert await owner.page.locator(".list-actions > button.danger").count() == 1

    # The link was single-use: a third person is told so, in words.
    third = await open_page(locale="ru-RU")
    await third.page.goto(base_url + f"app/#join={code}")
    await sign_in(third.page, "carol")
    gone = third.page.locator("#join-gone")
    await gone.wait_for()
    assert (await gone.inner_text()).startswith("Это приглашение не действует")
    for watched in (owner, joiner, third):
        assert watched.page_errors == []
        assert watched.console_errors == []


async def test_a_members_today_shows_the_shared_lists_task_with_its_name(base_url, open_page):
    """Today, the Mini App's home, holds the shared list's overdue task beside one's own,
    marked with the list's name; the list's untimed task is not there."""
    async with ClientSession() as http:
        auth = {}
        for name in ("dora", "emil"):
            resp = await http.post(
                base_url + "api/auth/register", json={"username": name, "password": PASSWORD}
            )
            assert resp.status == 201
            auth[name] = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
        resp = await http.post(
            base_url + "api/lists", json={"name": "Chores"}, headers=auth["dora"]
        )
        lid = (await resp.json())["id"]
        resp = await http.post(base_url + f"api/lists/{lid}/invites", json={"role": "viewer"},
                               headers=auth["dora"])  # fmt: skip
        code = (await resp.json())["code"]
        resp = await http.post(base_url + f"api/invites/{code}/accept", headers=auth["emil"])
        assert resp.status == 200
        for who, body in (
            ("dora", {"title": "Bins out", "list": lid, "due": "2000-01-01T18:00:00Z"}),
            ("dora", {"title": "Someday: paint", "list": lid}),  # no time: not in Today
            ("emil", {"title": "Own errand", "due": "2000-01-01T19:00:00Z"}),
        ):
            resp = await http.post(base_url + "api/tasks", json=body, headers=auth[who])
            assert resp.status == 201

    member = await open_page()
    await member.page.goto(base_url + "app/")
    await sign_in(member.page, "emil")
    await member.page.wait_for_selector("#today #task-rows")
    rows = await member.page.locator("#today #task-rows .task-open").all_inner_texts()
    assert [r.split("\n")[0] for r in rows] == ["Bins out", "Own errand"]
    assert "👥 Chores" in rows[0]
    assert "👥" not in rows[1]
    assert member.page_errors == []
    assert member.console_errors == []
