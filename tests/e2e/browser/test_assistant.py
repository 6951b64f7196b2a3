"""The assistant's screens in a real browser against the real routes: lists, tasks, search,
the natural-language add, settings and the account."""

from __future__ import annotations

import json
import re

import pytest
from aiohttp import ClientSession

from tests.e2e.browser.helpers import (
    DARK_THEME,
    RU_USER,
    computed,
    mini_app_url,
    rgb,
    sign_init_data,
    webapp_script,
)
from tests.helpers import PASSWORD

pytestmark = pytest.mark.timeout(120)

BUILT_IN = ["Inbox", "Today", "Later", "Someday"]


async def sign_up(page, base_url: str, username: str) -> None:
    await page.goto(base_url + "app/")
    await page.click("#sign-in ~ button.link")  # "New here? Create an account"
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.press("input[name=password]", "Enter")
    await page.wait_for_selector("#today #task-rows", state="attached")  # home is Today
    await to_lists(page)


async def to_lists(page) -> None:
    """From Today, the lists: one tap."""
    await page.click("#lists-button")
    await page.wait_for_selector("#lists .list-row")


async def list_counts(page) -> dict[str, str]:
    """Each list's badge; an empty list shows none ("0" here)."""
    counts = {}
    for row in await page.locator("#lists .list-row").all():
        badge = row.locator(".count")
        count = await badge.inner_text() if await badge.count() else "0"
        counts[await row.locator(".list-name").inner_text()] = count
    return counts


async def open_list(page, name: str) -> None:
    await page.locator("#lists .list-row", has_text=name).click()
    await page.wait_for_selector("#task-rows", state="attached")  # drawn, if empty


async def add_task(page, text: str, expect_title: str | None = None) -> None:
    """Type into the natural-language field and save; with `expect_title`, first wait for the
    preview of what the server understood to show that title."""
    await page.click("#primary")
    await page.fill("input[name=text]", text)
    if expect_title is not None:
        await page.wait_for_function(
            "(title) => document.querySelector('#understood dd')?.textContent === title",
            arg=expect_title,
        )
    await page.click("#task-form button[type=submit]")
    await page.wait_for_selector("#task-form", state="detached")


async def login_status(base_url: str, username: str, password: str) -> int:
    """A sign-in elsewhere (outside the page), as the status it gets."""
    async with ClientSession() as http:
        body = {"username": username, "password": password}
        async with http.post(base_url + "api/auth/login", json=body) as response:
            return response.status


async def back_home(page) -> None:
    """Back to the lists (Today, then the lists) one view at a time, each step waiting until
    the app has gone back."""
    while (depth := await page.evaluate("history.state.depth")) > 2:
        await page.click("#back")
        await page.wait_for_function("(d) => history.state.depth < d", arg=depth)
    await page.wait_for_selector("#lists .list-row")


async def test_lists_tasks_search_and_reload(base_url, open_page):
    watched = await open_page()
    page = watched.page
    await sign_up(page, base_url, "frank")
    assert await list_counts(page) == dict.fromkeys(BUILT_IN, "0")

    # Add from the home screen (to Inbox), then from the list itself.
    await add_task(page, "Buy milk")
    await page.wait_for_selector("#lists .list-row")
    assert (await list_counts(page))["Inbox"] == "1"
    await open_list(page, "Inbox")
    await add_task(page, "Call the plumber")
    await page.wait_for_selector("#task-rows .task >> text=Call the plumber")
    assert await page.locator("#task-rows .task-title").all_inner_texts() == [
        "Call the plumber",
        "Buy milk",
    ]  # no times: newest first

    # Complete one: it leaves the open tasks, with an Undo.
    await page.get_by_label("Mark “Buy milk” done").check()
    await page.wait_for_selector("#toast >> text=Completed: “Buy milk”")
    await page.wait_for_selector("#task-rows .task >> text=Buy milk", state="detached")

    # Move the other to Today through the editor.
    await page.click("#task-rows .task-open >> text=Call the plumber")
    await page.select_option("#task-form select[name=list]", label="Today")
    await page.click("#task-form button[type=submit]")
    await page.wait_for_selector("#task-form", state="detached")
    await back_home(page)
    counts = await list_counts(page)
    assert counts["Inbox"] == "0"
    assert counts["Today"] == "1"

    # Search as you type, with a typo.
    await page.fill("#search", "plumbr")
    await page.wait_for_selector("#results .task >> text=Call the plumber")
    assert "In Today" in await page.inner_text("#results .task")
    await page.fill("#search", "")
    await page.wait_for_selector("#lists .list-row")

    # A reload shows the same state (and the same screen).
    await open_list(page, "Today")
    await page.reload()
    await page.wait_for_selector("#task-rows .task >> text=Call the plumber")
    assert await page.inner_text("#title") == "Today"
    await page.click("#back")
    await page.wait_for_selector("#lists .list-row")
    assert (await list_counts(page))["Today"] == "1"
    await page.dblclick("#back")  # a quick double tap goes back once (home), not out of the app
    await page.wait_for_selector("#today #task-rows .task >> text=Call the plumber")
    assert await page.evaluate("history.state.depth") == 1
    await to_lists(page)
    await page.click("#lists .list-row >> text=Inbox")
    await page.click("#toggle-done")
    await page.wait_for_selector("#task-rows .task.done >> text=Buy milk")
    assert watched.console_errors == []
    assert watched.page_errors == []
    assert watched.failed_responses == []


async def test_add_shows_what_was_understood_before_saving(base_url, open_page):
    """Needs POST /api/tasks/parse (DESIGN.md): the preview, then the reminder saved with it."""
    watched = await open_page(timezone_id="Europe/Berlin")
    page = watched.page
    await sign_up(page, base_url, "olga")
    await add_task(page, "Buy milk tomorrow at 9", "Buy milk")
    await open_list(page, "Inbox")
    row = page.locator("#task-rows .task", has_text="Buy milk")
    assert await row.locator(".task-title").inner_text() == "Buy milk"
    # What the parser understood was saved, said as people say it.
    assert await row.locator(".task-meta").inner_text() == "Tomorrow 9 AM"

    # An unclear time is asked about, never dropped: "at 7" is morning or evening.
    await page.click("#primary")
    await page.fill("input[name=text]", "Call mom at 7")
    await page.wait_for_selector("#time-choices >> text=Which time?")
    await page.click("#task-form button[type=submit]")
    await page.wait_for_selector("#task-form [role=alert] >> text=Choose when to be reminded")
    await page.click("#time-choices button >> text=PM")
    await page.wait_for_selector("#time-choices button[aria-pressed=true] >> text=PM")
    await page.click("#task-form button[type=submit]")
    await page.wait_for_selector("#task-form", state="detached")
    row = page.locator("#task-rows .task", has_text="Call mom")
    assert " 7 PM" in await row.locator(".task-meta").inner_text()
    assert len(await page.locator("#task-rows .task").all()) == 2

    # A repeat with an unclear time: the chosen reading keeps the repeat (its own rule).
    await page.click("#primary")
    await page.fill("input[name=text]", "Take pills every day at 7")
    await page.wait_for_selector("#time-choices >> text=Which time?")
    await page.click("#time-choices button >> text=AM")
    await page.wait_for_selector("#time-choices button[aria-pressed=true] >> text=AM")
    # (title, reminder, repeat: the parser's due time is its reminder, said once)
    assert await page.inner_text("#understood dd >> nth=2") == "every day at 7 AM"
    await page.click("#task-form button[type=submit]")
    await page.wait_for_selector("#task-form", state="detached")
    row = page.locator("#task-rows .task", has_text="Take pills")
    assert (await row.locator(".task-meta").inner_text()).endswith(" 7 AM · ↻ every day at 7 AM")
    assert watched.failed_responses == []

    # In Russian, inside Telegram, with Telegram's MainButton.
    init_data = sign_init_data(RU_USER)
    watched = await open_page(init_script=webapp_script(init_data, RU_USER, DARK_THEME, "dark"))
    page = watched.page
    await page.goto(mini_app_url(base_url, init_data, DARK_THEME))
    await page.wait_for_selector("#today #task-rows", state="attached")
    await page.evaluate("window.__tg.press('main')")
    await page.fill("input[name=text]", "Позвонить маме завтра в 9")
    await page.wait_for_function(
        "() => document.querySelector('#understood dd')?.textContent === 'Позвонить маме'"
    )
    assert await page.inner_text("#understood dt >> nth=1") == "Напоминание"
    assert watched.failed_responses == []


async def test_without_the_parser_the_words_are_the_title(base_url, open_page):
    """A server without the parse route (404): the page says so once, asks no more, and
    saves what was typed as the title."""
    watched = await open_page()
    page = watched.page
    await page.route(
        "**/api/tasks/parse",
        lambda route: route.fulfill(
            status=404,
            content_type="application/problem+json",
            body=json.dumps({"type": "about:blank", "title": "Not Found", "status": 404}),
        ),
    )
    await sign_up(page, base_url, "peter")
    await page.click("#primary")
    await page.fill("input[name=text]", "Pay rent on Friday")
    await page.wait_for_selector("#understood >> text=it is saved as the title")
    await page.fill("input[name=text]", "Pay the rent on Friday")
    await page.click("#task-form button[type=submit]")
    await page.wait_for_selector("#task-form", state="detached")
    await open_list(page, "Inbox")
    titles = await page.locator("#task-rows .task-title").all_inner_texts()
    assert titles == ["Pay the rent on Friday"]
    assert len(watched.api_calls("/api/tasks/parse", method="POST")) == 1
    assert watched.console_errors == []
    assert watched.page_errors == []


async def test_a_device_zone_the_server_refuses_falls_back_to_the_account_zone(base_url, open_page):
    """The device names a zone the server's time-zone data lacks (422 naming `timezone`):
    the text is read again without it (in the account's zone), not left unread."""
    watched = await open_page(timezone_id="Europe/Berlin")
    page = watched.page

    async def refuse_the_zone(route) -> None:
        if "timezone" in (route.request.post_data_json or {}):
            await route.fulfill(
                status=422,
                content_type="application/problem+json",
                body=json.dumps({"type": "about:blank", "title": "Unprocessable Content",
                                 "status": 422, "errors": [{"field": "timezone"}]}),
            )  # fmt: skip
        else:
            await route.continue_()

    await page.route("**/api/tasks/parse", refuse_the_zone)
    await sign_up(page, base_url, "quinn")
    await page.click("#primary")
    await page.fill("input[name=text]", "Water plants tomorrow at 9")
    await page.wait_for_function(
        "() => document.querySelector('#understood dd')?.textContent === 'Water plants'"
    )
    assert ("POST", "/api/tasks/parse", 422) in watched.failed_responses  # it was refused
    assert watched.page_errors == []


async def test_own_lists_rename_and_delete(base_url, open_page):
    watched = await open_page()
    page = watched.page
    await sign_up(page, base_url, "grace")
    await page.click("#new-list-button")
    await page.fill("#new-list input", "Garden")
    await page.press("#new-list input", "Enter")
    await page.wait_for_selector("#lists .list-row >> text=Garden")
    await page.fill("#new-list input", "garden")
    await page.press("#new-list input", "Enter")
    alert = page.locator("#lists ~ [role=alert]")
    await alert.filter(has_text="You already have a list with this name.").wait_for()  # the 409
    await open_list(page, "Garden")
    await add_task(page, "Plant tulips")
    await page.click(".list-actions >> text=Rename")
    await page.fill(".list-actions input", "Yard")
    await page.press(".list-actions input", "Enter")
    await page.wait_for_function("() => document.querySelector('#title').textContent === 'Yard'")
    await page.click(".list-actions >> text=Delete")
    await page.click(".list-actions button.danger")  # confirm
    await page.wait_for_selector("#lists .list-row")
    counts = await list_counts(page)
    assert "Yard" not in counts
    assert counts["Inbox"] == "1"  # its task moved to Inbox
    assert watched.page_errors == []


async def test_edit_delete_and_offline_retry(base_url, open_page):
    watched = await open_page()
    page = watched.page
    await sign_up(page, base_url, "heidi")
    await open_list(page, "Inbox")
    await add_task(page, "Water plants")
    await page.click("#task-rows .task-open >> text=Water plants")
    await page.fill("#task-form input[name=title]", "Water the plants")
    await page.select_option("#task-form select[name=repeat]", "FREQ=WEEKLY")
    await page.click("#task-form button[type=submit]")
    row = page.locator("#task-rows .task", has_text="Water the plants")
    await row.wait_for()
    assert "every week" in await row.inner_text()

    await watched.context.set_offline(True)
    await page.click("#task-rows .task-open >> text=Water the plants")
    await page.wait_for_selector("[role=alert] >> text=No connection")
    await watched.context.set_offline(False)
    await page.get_by_role("button", name="Try again").click()
    await page.wait_for_selector("#task-form")
    await page.click("#delete-task")
    await page.click("#confirm-delete")
    await page.wait_for_selector("#tasks >> text=No open tasks here.")
    assert watched.page_errors == []


async def test_mini_app_shows_the_lists_in_russian(base_url, open_page):
    init_data = sign_init_data(RU_USER)
    watched = await open_page(
        init_script=webapp_script(init_data, RU_USER, DARK_THEME, "dark"), viewport=(390, 760)
    )
    page = watched.page
    await page.goto(mini_app_url(base_url, init_data, DARK_THEME))
    await to_lists(page)
    assert list((await list_counts(page)).keys())[:4] == [
        "Входящие",
        "Сегодня",
        "Позже",
        "Когда-нибудь",
    ]
    assert await page.locator("#lists .count").count() == 0  # no column of zeros
    # Telegram's MainButton adds a task; its text is Russian.
    await page.evaluate("window.__tg.press('main')")
    await page.fill("input[name=text]", "Позвонить маме завтра в 9")
    assert "main.setText:Сохранить" in await page.evaluate("window.__tg.calls")
    await page.evaluate("window.__tg.press('main'); window.__tg.press('main')")  # saved once
    await page.wait_for_selector("#lists .list-row")
    assert (await list_counts(page))["Входящие"] == "1"
    assert await page.get_attribute("#lists .count", "aria-label") == "1 открытая задача"
    assert await computed(page, "body", "background-color") == rgb(DARK_THEME["bg_color"])
    await open_list(page, "Входящие")
    await page.evaluate("window.__tg.press('main')")
    await page.fill("input[name=text]", "Купить хлеб")
    await page.evaluate("window.__tg.press('main')")
    await page.wait_for_selector("#task-rows .task >> text=Купить хлеб")
    called = page.locator("#task-rows .task", has_text="Позвонить маме")
    meta = await called.locator(".task-meta").inner_text()
    assert meta == "Завтра 09:00"  # the server's words in the page's language; the due said once
    assert watched.console_errors == []
    assert watched.page_errors == []
    assert watched.failed_responses == []


async def test_settings_language_and_time_zone(base_url, open_page):
    watched = await open_page(timezone_id="Asia/Novosibirsk")
    page = watched.page
    patches: list[dict] = []
    page.on(
        "request",
        lambda r: (
            patches.append(json.loads(r.post_data))
            if r.method == "PATCH" and r.url.endswith("/api/auth/me")
            else None
        ),
    )
    await sign_up(page, base_url, "ivan")
    await page.click("#settings-button")
    # The time zone starts as this device's (and the account took it on first sign-in).
    assert await page.input_value("input[name=timezone]") == "Asia/Novosibirsk"
    assert "Novosibirsk" in await page.inner_text("#zone-current")
    assert {"timezone": "Asia/Novosibirsk"} in patches
    await page.select_option("select[name=language]", "ru")
    # A search, not a raw text field: a few letters, then a tap on the city.
    await page.fill("#zone-search", "mosc")
    await page.click("#zone-results [data-zone='Europe/Moscow']")
    assert await page.input_value("input[name=timezone]") == "Europe/Moscow"
    await page.click("#settings-form button[type=submit]")
    await page.wait_for_function(
        "() => document.querySelector('#title').textContent === 'Настройки'"
    )
    await page.reload()
    await page.wait_for_selector("#settings-form")
    assert await page.get_attribute("html", "lang") == "ru"
    assert await page.input_value("input[name=timezone]") == "Europe/Moscow"
    assert watched.page_errors == []
    assert watched.failed_responses == []


async def test_account_sessions_password_link_and_deletion(base_url, open_page):
    watched = await open_page()
    page = watched.page
    await sign_up(page, base_url, "judy")
    async with ClientSession() as http:  # a second session, elsewhere
        response = await http.post(
            base_url + "api/auth/login", json={"username": "judy", "password": PASSWORD}
        )
        elsewhere = await response.json()
    await page.click("#settings-button")
    await page.click("#open-account")
    sessions = page.locator("#sessions .session")
    await sessions.first.wait_for()
    assert await sessions.count() >= 2
    assert await page.locator("#sessions .badge").count() == 1  # "this device"
    await page.click("#end-others")
    await page.wait_for_selector("#sessions [role=status] >> text=Other sessions were ended.")
    async with ClientSession() as http:
        response = await http.post(
            base_url + "api/auth/refresh", json={"refresh_token": elsewhere["refresh_token"]}
        )
        assert response.status == 401

    # Change the password; this page stays signed in with the new pair.
    await page.fill("#password-form input[name=current_password]", "not the password")
    await page.fill("#password-form input[name=new_password]", "a brand new passphrase")
    await page.click("#password-form button[type=submit]")
    await page.wait_for_selector("#password-form [role=alert] >> text=The password is incorrect.")
    await page.fill("#password-form input[name=current_password]", PASSWORD)
    await page.fill("#password-form input[name=new_password]", "a brand new passphrase")
    await page.click("#password-form button[type=submit]")
    await page.wait_for_selector("#password-form [role=status] >> text=Password saved.")

    await page.click("#link-telegram")
    link = page.locator("#telegram a")
    await link.wait_for()
    assert re.fullmatch(r"https://t\.me/\w+\?start=link_[\w-]+", await link.get_attribute("href"))

    await page.fill("#delete-form input[name=password]", "a brand new passphrase")
    await page.click("#delete-form button[type=submit]")
    await page.wait_for_selector("#sign-in [role=alert] >> text=Your account was deleted.")
    assert await login_status(base_url, "judy", "a brand new passphrase") == 401
    assert watched.page_errors == []
    assert watched.failed_responses == [("POST", "/api/auth/password", 422)]  # the wrong one


async def test_mini_app_user_sets_a_password_then_deletes_the_account(base_url, open_page):
    """A Telegram-only account gets a username and a first password inside Telegram (then
    signs in with them anywhere), and is deleted from inside Telegram."""
    user = {**RU_USER, "id": 777003, "username": "sveta_k", "language_code": "en"}
    init_data = sign_init_data(user)
    watched = await open_page(init_script=webapp_script(init_data, user, DARK_THEME, "dark"))
    page = watched.page
    await page.goto(mini_app_url(base_url, init_data, DARK_THEME))
    await page.click("#settings-button")
    await page.click("#open-account")
    await page.wait_for_selector("#sessions >> text=No browser is signed in to this account.")
    await page.fill("#password-form input[name=username]", "sveta")
    await page.fill("#password-form input[name=new_password]", "a brand new passphrase")
    await page.click("#password-form button[type=submit]")
    await page.wait_for_selector("#password-form [role=status] >> text=Password saved.")
    assert await login_status(base_url, "sveta", "a brand new passphrase") == 200
    # Setting the password ended every older sign-in, this init data too (issue 22, item
    # 10): the page goes on with the session the answer opened, and says so.
    await page.evaluate("window.__tg.press('back')")
    await page.click("#open-account")
    await page.wait_for_selector("#sessions .session")
    assert await page.locator("#sessions .session").count() == 2  # this page's, the login's
    assert await page.locator("#sessions .session .badge").count() == 1  # "this device"

    await page.fill("#delete-form input[name=password]", "a brand new passphrase")
    await page.click("#delete-form button[type=submit]")
    await page.wait_for_selector("#deleted")
    assert await login_status(base_url, "sveta", "a brand new passphrase") == 401
    assert watched.page_errors == []
    assert watched.failed_responses == []
