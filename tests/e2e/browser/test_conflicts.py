"""Concurrent edits in the Mini App, two members in two browser contexts: the second member's
stale edit shows that someone else changed the task, with the task as it is now, and lets
them keep the other change or save theirs over it; a stale row is drawn again from the task
as it is now. The shared list's poll is conditional (If-None-Match, answered 304)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientSession
from playwright.async_api import expect

from tests.e2e.browser.test_sharing import sign_in
from tests.helpers import PASSWORD

pytestmark = pytest.mark.timeout(120)


async def call(http: ClientSession, base_url: str, token: str, method: str, path: str,
               body: Any = None, status: int = 200) -> Any:  # fmt: skip
    resp = await http.request(method, base_url + path, json=body,
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert resp.status == status, await resp.text()
    return await resp.json() if resp.status != 204 else None


async def shared_task(base_url: str) -> tuple[dict[str, str], dict[str, Any]]:
    """alice owns Groceries, bob edits it; a task Milk in it."""
    async with ClientSession() as http:
        tokens = {}
        for name in ("alice", "bob"):
            resp = await http.post(
                base_url + "api/auth/register", json={"username": name, "password": PASSWORD}
            )
            assert resp.status == 201
            tokens[name] = (await resp.json())["access_token"]
        lid = (await call(http, base_url, tokens["alice"], "POST", "api/lists",
                          {"name": "Groceries"}, 201))["id"]  # fmt: skip
        invite = await call(http, base_url, tokens["alice"], "POST", f"api/lists/{lid}/invites",
                            {"role": "editor"}, 201)  # fmt: skip
        await call(http, base_url, tokens["bob"], "POST", f"api/invites/{invite['code']}/accept")
        task = await call(http, base_url, tokens["alice"], "POST", "api/tasks",
                          {"title": "Milk", "list": lid}, 201)  # fmt: skip
    return tokens, task


async def test_a_members_stale_edit_shows_the_other_change_and_lets_them_choose(
    base_url, open_page
):
    tokens, task = await shared_task(base_url)
    alice = await open_page()
    bob = await open_page(locale="ru-RU")  # the conflict is said in both languages
    for who, name in ((alice, "alice"), (bob, "bob")):
        await who.page.goto(base_url + "app/")
        await sign_in(who.page, name)
        await who.page.click("#lists-button")
        await who.page.click(".list-row:has-text('Groceries')")
        await who.page.wait_for_selector("#task-rows .task-title:has-text('Milk')")

    # bob's open list polls with the ETag it got: unchanged, a 304 (no body).
    await bob.page.wait_for_event(
        "response",
        lambda r: r.status == 304 and "if-none-match" in r.request.headers,
        timeout=8000,
    )

    # Both open the editor of the same version; alice saves first.
    for who in (alice, bob):
        await who.page.click("#task-rows .task-open:has-text('Milk')")
        await who.page.wait_for_selector("#task-form")
    await alice.page.fill("input[name=title]", "Oat milk")
    await alice.page.click("#task-form button[type=submit]")
    await alice.page.wait_for_selector("#task-rows .task-title:has-text('Oat milk')")

    # bob's edit was based on the version before: he is told, and sees alice's.
    await bob.page.fill("input[name=title]", "Soy milk")
    await bob.page.click("#task-form button[type=submit]")
    panel = bob.page.locator("#conflict")
    await panel.wait_for()
    assert "Задачу изменил кто-то другой" in await panel.inner_text()
    assert "Oat milk" in await bob.page.inner_text("#conflict-current")
    # Keep theirs: the editor again, on the task as it is now; nothing of bob's was written.
    await bob.page.click("#conflict-keep")
    await expect(bob.page.locator("#task-form input[name=title]")).to_have_value("Oat milk")
    assert await bob.page.locator("#conflict").count() == 0

    # Again: bob changes the title while alice adds a note. Saving his over hers keeps both.
    await bob.page.fill("input[name=title]", "Soy milk")
    async with ClientSession() as http:
        await call(http, base_url, tokens["alice"], "PATCH", f"api/tasks/{task['id']}",
                   {"notes": "the green one"})  # fmt: skip
    await bob.page.click("#task-form button[type=submit]")
    await panel.wait_for()
    assert "the green one" in await bob.page.inner_text("#conflict-current")
    assert await bob.page.inner_text("#conflict-apply") == "Сохранить моё поверх"
    await bob.page.click("#conflict-apply")
    await bob.page.wait_for_selector("#task-rows .task-title:has-text('Soy milk')")
    async with ClientSession() as http:
        now = await call(http, base_url, tokens["bob"], "GET", f"api/tasks/{task['id']}")
    assert (now["title"], now["notes"]) == ("Soy milk", "the green one")

    # Every write of the editor carried If-Match with the version it showed.
    patches = bob.api_calls(f"/api/tasks/{task['id']}", "PATCH")
    assert [r[2].get("if-match") for r in patches] == ['"0"', '"1"', '"2"']
    assert bob.failed_responses == [("PATCH", f"/api/tasks/{task['id']}", 409)] * 2
    for watched in (alice, bob):
        assert watched.page_errors == []
        assert watched.console_errors == []


async def test_a_stale_row_is_drawn_again_from_the_task_as_it_is_now(base_url, open_page):
    tokens, task = await shared_task(base_url)
    bob = await open_page()
    await bob.page.goto(base_url + "app/")
    await sign_in(bob.page, "bob")
    # Search results are not polled: the row stays as drawn while alice renames the task.
    await bob.page.click("#lists-button")
    await bob.page.fill("#search", "milk")
    await bob.page.wait_for_selector("#results .task-title:has-text('Milk')")
    async with ClientSession() as http:
        await call(http, base_url, tokens["alice"], "PATCH", f"api/tasks/{task['id']}",
                   {"title": "Oat milk"})  # fmt: skip
    await bob.page.click("#results .task input[type=checkbox]")
    note = bob.page.locator("#row-conflict")
    await note.wait_for()
    assert (await note.inner_text()).startswith("Someone else changed this task")
    assert await bob.page.inner_text("#results .task-title") == "Oat milk"
    assert not await bob.page.locator("#results .task input[type=checkbox]").is_checked()
    async with ClientSession() as http:
        now = await call(http, base_url, tokens["bob"], "GET", f"api/tasks/{task['id']}")
    assert now["done"] is False  # the stale tick changed nothing
    # Ticked again, on the row as it is now: done.
    await bob.page.click("#results .task input[type=checkbox]")
    await bob.page.wait_for_selector("#toast:has-text('Oat milk')")
    assert bob.page_errors == []
    assert bob.console_errors == []


async def test_deleting_a_task_changed_meanwhile_asks_first(base_url, open_page):
    tokens, task = await shared_task(base_url)
    bob = await open_page()
    await bob.page.goto(base_url + "app/")
    await sign_in(bob.page, "bob")
    await bob.page.click("#lists-button")
    await bob.page.click(".list-row:has-text('Groceries')")
    await bob.page.click("#task-rows .task-open:has-text('Milk')")
    await bob.page.wait_for_selector("#task-form")
    async with ClientSession() as http:
        await call(http, base_url, tokens["alice"], "PATCH", f"api/tasks/{task['id']}",
                   {"notes": "the green one"})  # fmt: skip
    await bob.page.click("#delete-task")
    await bob.page.click("#confirm-delete")
    await bob.page.wait_for_selector("#conflict")
    assert "the green one" in await bob.page.inner_text("#conflict-current")
    assert await bob.page.inner_text("#conflict-keep") == "Keep the task"
    async with ClientSession() as http:  # not deleted yet
        await call(http, base_url, tokens["bob"], "GET", f"api/tasks/{task['id']}")
    await bob.page.click("#conflict-apply")  # Delete anyway
    await bob.page.wait_for_selector("#task-rows", state="attached")
    async with ClientSession() as http:
        await call(http, base_url, tokens["bob"], "GET", f"api/tasks/{task['id']}", status=404)
    assert bob.page_errors == []
    assert bob.console_errors == []
