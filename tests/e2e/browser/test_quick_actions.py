"""The Mini App as quick as a to-do app: it opens on Today; complete with Undo, move from the
row, counts that follow, times as people say them, repeats in words; and the states that
were wrong (offline, dark checkboxes, a built-in list's name, an empty password, the title
and Cancel inside Telegram). Taps are counted from the opened app to each goal."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientSession
from playwright.async_api import Locator, Page

from tests.e2e.browser.helpers import (
    EN_USER,
    LIGHT_THEME,
    computed,
    mini_app_url,
    rgb,
    sign_init_data,
    webapp_script,
)
from tests.e2e.browser.seed import TEXTS, ZONES, morning, seed_account
from tests.helpers import PASSWORD

pytestmark = pytest.mark.timeout(120)


class Taps:
    """Every tap the person makes, counted (typing is not a tap)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0

    async def tap(self, target: str | Locator) -> None:
        self.count += 1
        await (self.page.locator(target) if isinstance(target, str) else target).click()

    async def main_button(self) -> None:
        """Telegram's MainButton (drawn by Telegram, stood in for by the test's WebApp)."""
        self.count += 1
        await self.page.evaluate("window.__tg.press('main')")


async def api_get(base_url: str, token: str, path: str) -> Any:
    async with ClientSession(base_url) as http:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(path, headers=headers) as response:
            assert response.status == 200
            return await response.json()


async def open_signed_in(open_page, base_url, username, lang="en", *, pin=None, **options):
    """The app in a browser, signed in as `username`, on Today; with `pin` (the `pin_clock`
    fixture) the server's clock and the page's pinned to the seeded morning."""
    watched = await open_page(
        locale="en-US" if lang == "en" else "ru-RU", timezone_id=ZONES[lang], **options
    )
    page = watched.page
    if pin:
        pin(morning(lang))
        await page.clock.set_fixed_time(morning(lang))
    await page.goto(base_url + "app/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.press("input[name=password]", "Enter")
    await page.wait_for_selector("#today #task-rows", state="attached")
    return watched


def row(page: Page, title: str) -> Locator:
    return page.locator("#task-rows .task", has=page.locator(".task-title", has_text=title))


async def test_first_run_hint_and_a_reminder_saved_in_two_taps(base_url, open_page):
    """A new Telegram user: the app opens on an empty Today with examples; one tap fills the
    add form, one more saves the task with its reminder."""
    init_data = sign_init_data(EN_USER)
    watched = await open_page(
        init_script=webapp_script(init_data, EN_USER, LIGHT_THEME, "light"),
        timezone_id="Europe/London",
        viewport=(390, 844),
    )
    page = watched.page
    await page.goto(mini_app_url(base_url, init_data, LIGHT_THEME))
    hint = page.locator("#onboarding")
    await hint.wait_for()
    assert await page.inner_text("#title") == "Today"
    assert await hint.locator("h2").inner_text() == "Your day starts here"
    assert "Lists" in await hint.inner_text()
    taps = Taps(page)
    await taps.tap(hint.locator(".example", has_text="Buy milk tomorrow at 9"))
    await page.wait_for_function(
        "() => document.querySelector('#understood dd')?.textContent === 'Buy milk'"
    )
    await taps.main_button()  # Save
    await row(page, "Buy milk").wait_for()
    assert taps.count == 2
    assert await row(page, "Buy milk").locator(".task-meta").inner_text() == "Tomorrow 9 AM"
    assert not await page.is_visible("#onboarding")
    assert watched.page_errors == []
    assert watched.failed_responses == []


async def test_complete_with_undo_and_the_count_follows(base_url, open_page, pin_clock):
    seeded = await seed_account(base_url, "tick", "en")
    watched = await open_signed_in(open_page, base_url, "tick", pin=pin_clock)
    page = watched.page
    count = page.locator("#today .count-line")
    # Today fills itself: the Today list's four and Inbox's vitamin, due at 12:27 today.
    assert await count.inner_text() == "5 open tasks"
    taps = Taps(page)
    await taps.tap(row(page, "Call the dentist").locator("input[type=checkbox]"))
    await page.wait_for_selector("#toast >> text=Completed: “Call the dentist”")
    await row(page, "Call the dentist").wait_for(state="detached")
    await page.wait_for_function(
        "() => document.querySelector('#today .count-line').textContent === '4 open tasks'"
    )
    assert taps.count == 1
    today = await api_get(base_url, seeded.token, "/api/tasks?list=today&status=done")
    assert [t["title"] for t in today["items"]] == ["Call the dentist"]

    await page.click("#toast #undo")
    await row(page, "Call the dentist").wait_for()
    await page.wait_for_function(
        "() => document.querySelector('#today .count-line').textContent === '5 open tasks'"
    )
    today = await api_get(base_url, seeded.token, "/api/tasks?list=today&status=done")
    assert today["items"] == []
    # Back in its place: sorted by time, not at the end.
    titles = await page.locator("#today .task-title").all_inner_texts()
    assert titles.index("Call the dentist") == 3
    assert watched.page_errors == []
    assert watched.failed_responses == []


async def test_move_to_later_from_the_row_in_two_taps(base_url, open_page, pin_clock):
    seeded = await seed_account(base_url, "mover", "en")
    watched = await open_signed_in(open_page, base_url, "mover", pin=pin_clock)
    page = watched.page
    taps = Taps(page)
    await taps.tap(row(page, "Buy flowers").get_by_role("button", name="More for “Buy flowers"))
    await taps.tap(row(page, "Buy flowers").locator(".row-menu [data-list=later]"))
    await page.wait_for_selector("#toast >> text=Moved to Later")
    await row(page, "Buy flowers").wait_for(state="detached")
    assert taps.count == 2
    await page.wait_for_function(
        "() => document.querySelector('#today .count-line').textContent === '4 open tasks'"
    )
    later = await api_get(base_url, seeded.token, "/api/tasks?list=later")
    assert "Buy flowers for Anna" in [t["title"] for t in later["items"]]

    await page.click("#toast #undo")
    await row(page, "Buy flowers").wait_for()
    later = await api_get(base_url, seeded.token, "/api/tasks?list=later")
    assert "Buy flowers for Anna" not in [t["title"] for t in later["items"]]
    assert watched.page_errors == []


async def test_an_inbox_task_completed_in_two_taps_and_one_due_today_in_one(
    base_url, open_page, pin_clock
):
    """Today fills itself: Inbox's repeating task due today is ticked there (1 tap) and moves
    on to its next occurrence, staying on Today (Done on a repeating task completes this
    occurrence); one without today's date is two taps away (Inbox under Today, the tick)."""
    seeded = await seed_account(base_url, "inboxer", "en")
    watched = await open_signed_in(open_page, base_url, "inboxer", pin=pin_clock)
    page = watched.page
    taps = Taps(page)
    await taps.tap(row(page, "Take a vitamin").locator("input[type=checkbox]"))
    # every 2 hours at :27: the 12:27 occurrence is done, the next one is 14:27
    await page.wait_for_selector("#toast >> text=Completed: “Take a vitamin”")
    await row(page, "Take a vitamin").locator(".task-meta", has_text="Today 2:27 PM").wait_for()
    assert taps.count == 1
    taps = Taps(page)
    await taps.tap("#today-inbox .list-row")
    await taps.tap(row(page, "Buy milk").locator("input[type=checkbox]"))
    await page.wait_for_selector("#toast >> text=Completed: “Buy milk”")
    assert taps.count == 2
    inbox = seeded.lists["inbox"]
    done = await api_get(base_url, seeded.token, f"/api/tasks?list={inbox}&status=done")
    assert [t["title"] for t in done["items"]] == ["Buy milk"]
    still = await api_get(base_url, seeded.token, f"/api/tasks?list={inbox}")
    [vitamin] = [t for t in still["items"] if t["title"] == "Take a vitamin"]
    assert (vitamin["done"], vitamin["when_text"]) == (False, "today 2:27 PM")
    assert watched.page_errors == []


@pytest.mark.parametrize(
    ("lang", "today", "inbox"),
    [
        (
            "en",
            [
                "Yesterday 6 PM",
                "Today 10 AM · ↻ every weekday at 10 AM",
                "Today 12:27 PM · ↻ every 2 hours",
                "Today 2:30 PM",
                "",
            ],
            ["Today 12:27 PM · ↻ every 2 hours", "Tomorrow 9 AM"],
        ),
        (
            "ru",
            [
                "Вчера 18:00",
                "Сегодня 10:00 · ↻ по будням в 10:00",
                "Сегодня 12:27 · ↻ каждые 2 часа",
                "Сегодня 14:30",
                "",
            ],
            ["Сегодня 12:27 · ↻ каждые 2 часа", "Завтра 09:00"],
        ),
    ],
)
async def test_times_as_people_say_them_sorted_by_time(
    base_url, open_page, pin_clock, lang, today, inbox
):
    await seed_account(base_url, f"times_{lang}", lang)
    watched = await open_signed_in(open_page, base_url, f"times_{lang}", lang, pin=pin_clock)
    page = watched.page
    rows = page.locator("#today #task-rows .task")
    metas = [await r.locator(".task-meta").inner_text() for r in await rows.all()]
    assert metas == today
    # The overdue one says so in colour.
    assert "overdue" in (await rows.first.locator(".task-meta").get_attribute("class") or "")
    await page.click("#lists-button")
    await page.click(f"#lists .list-row >> text={'Inbox' if lang == 'en' else 'Входящие'}")
    await page.wait_for_selector("#task-rows .task")
    metas = await page.locator("#task-rows .task-meta").all_inner_texts()
    assert metas == inbox
    assert "FREQ=" not in await page.inner_text("body")
    # The editor: the rule in words too, the due time folded into the reminder.
    await page.click(f"#task-rows .task-open >> text={TEXTS[lang]['tasks'][5][1]}")
    await page.wait_for_selector("#task-form")
    repeat = await page.eval_on_selector(
        "select[name=repeat]", "(s) => s.options[s.selectedIndex].text"
    )
    assert "FREQ" not in repeat
    assert not await page.is_visible("input[name=due]")
    assert watched.page_errors == []


async def test_rows_say_the_servers_words_whatever_the_devices_clock(
    base_url, open_page, pin_clock
):
    """One formatter: the server's clock is on the seeded morning, the device's is not (the
    real date, years before): the rows still say "Today 10 AM", as the bot would, and Today
    holds what the server says is due today."""
    await seed_account(base_url, "oneclock", "en")
    pin_clock(morning("en"))
    watched = await open_signed_in(open_page, base_url, "oneclock")
    page = watched.page
    metas = await page.locator("#today #task-rows .task-meta").all_inner_texts()
    assert metas[:3] == [
        "Yesterday 6 PM",
        "Today 10 AM · ↻ every weekday at 10 AM",
        "Today 12:27 PM · ↻ every 2 hours",
    ]
    assert watched.page_errors == []


async def test_the_editor_reads_words(base_url, open_page):
    await seed_account(base_url, "words", "en")
    watched = await open_signed_in(open_page, base_url, "words")
    page = watched.page
    await page.click("#task-rows .task-open >> text=Buy flowers")
    await page.fill("input[name=when]", "tomorrow at 10")
    await page.wait_for_function(
        "() => document.querySelector('input[name=remind_at]').value.endsWith('T10:00')"
    )
    await page.click("#task-form button[type=submit]")
    await row(page, "Buy flowers").wait_for()
    meta = await row(page, "Buy flowers").locator(".task-meta").inner_text()
    assert meta == "Tomorrow 10 AM"
    assert watched.page_errors == []


async def test_offline_shows_one_panel_with_one_retry(base_url, open_page):
    await seed_account(base_url, "offline", "en", tasks=False)
    watched = await open_signed_in(open_page, base_url, "offline")
    page = watched.page
    await page.click("#lists-button")
    await page.wait_for_selector("#lists .list-row")
    await watched.context.set_offline(True)
    await page.click("#lists .list-row >> text=Inbox")
    await page.wait_for_selector("[role=alert] >> text=No connection")
    assert await page.locator("#main [role=alert]").count() == 1
    assert await page.get_by_role("button", name="Try again").count() == 1
    await watched.context.set_offline(False)
    await page.get_by_role("button", name="Try again").click()
    await page.wait_for_selector("#tasks >> text=No open tasks here.")
    assert await page.locator("#main [role=alert]").count() == 0
    assert await page.get_by_role("button", name="Try again").count() == 0


async def test_dark_mode_follows_the_system_and_checkboxes_read_clearly(base_url, open_page):
    await seed_account(base_url, "darkly", "en")
    watched = await open_signed_in(open_page, base_url, "darkly", color_scheme="dark")
    page = watched.page
    assert await computed(page, "body", "background-color") == rgb("#17212b")
    box = "#task-rows .task input[type=checkbox] >> nth=0"
    # A clear ring in the hint colour, fully opaque: not the dim grey of a disabled control.
    assert await computed(page, box, "border-top-color") == rgb("#a3adb8")
    assert await computed(page, box, "opacity") == "1"
    assert await computed(page, box, "appearance") == "none"
    await page.click(box)
    await page.wait_for_selector("#toast")
    await page.click("#toast #undo")
    await page.wait_for_selector("#toast >> text=Undone.")


@pytest.mark.parametrize(
    ("lang", "name", "said"),
    [
        ("en", "inbox", "“Inbox” is the name of a built-in list. Choose another name."),
        (
            "ru",
            "Входящие",
            "«Входящие» — так называется встроенный список. Выберите другое название.",
        ),
    ],
)
async def test_a_new_list_named_like_a_built_in_is_explained(base_url, open_page, lang, name, said):
    await seed_account(base_url, f"names_{lang}", lang, tasks=False)
    watched = await open_signed_in(open_page, base_url, f"names_{lang}", lang)
    page = watched.page
    await page.click("#lists-button")
    await page.click("#new-list-button")
    await page.fill("#new-list input", name)
    await page.press("#new-list input", "Enter")
    await page.wait_for_selector(f"#lists ~ [role=alert] >> text={said}")
    # A name of one's own lists keeps the plain message.
    own = TEXTS[lang]["garden"]
    await page.fill("#new-list input", own)
    await page.press("#new-list input", "Enter")
    taken = "You already have" if lang == "en" else "Список с таким названием уже есть"
    await page.wait_for_selector(f"#lists ~ [role=alert] >> text={taken}")


async def test_an_empty_password_is_required_not_too_short(base_url, open_page):
    watched = await open_page()
    page = watched.page
    await page.goto(base_url + "app/")
    assert await page.inner_text("#app-name") == "Assistant"  # sign-in names the app
    await page.fill("input[name=username]", "somebody")
    await page.press("input[name=password]", "Enter")
    await page.wait_for_selector("#sign-in [role=alert] >> text=Password: required.")
    assert "too short" not in await page.inner_text("#sign-in")
    assert not watched.api_calls("/api/auth/login", method="POST")  # nothing sent


async def test_an_empty_field_the_server_refuses_reads_required(base_url, open_page):
    """The server's own refusal of an empty value ("at least 1 character") reads the same."""
    watched = await open_page()
    page = watched.page
    await page.route(
        "**/api/auth/login",
        lambda route: route.fulfill(
            status=422,
            content_type="application/problem+json",
            body='{"type":"urn:problem:validation-error","title":"Unprocessable Content",'
            '"status":422,"detail":"Invalid fields: password","errors":[{"field":"password",'
            '"message":"String should have at least 1 character","type":"string_too_short"}]}',
        ),
    )
    await page.goto(base_url + "app/")
    await page.fill("input[name=username]", "somebody")
    await page.fill("input[name=password]", " ")  # not empty here; the server says it is
    await page.press("input[name=password]", "Enter")
    await page.wait_for_selector("#sign-in [role=alert] >> text=Password: required.")


async def test_inside_telegram_no_doubled_title_and_no_lone_cancel(base_url, open_page):
    init_data = sign_init_data(EN_USER)
    watched = await open_page(init_script=webapp_script(init_data, EN_USER, LIGHT_THEME, "light"))
    page = watched.page
    await page.goto(mini_app_url(base_url, init_data, LIGHT_THEME))
    await page.wait_for_selector("#today #task-rows", state="attached")
    assert await page.title() == "Assistant"  # Telegram's header names the app; we do not
    await page.evaluate("window.__tg.press('main')")  # New task
    await page.wait_for_selector("#task-form")
    assert not await page.is_visible("#bar")  # no title under Telegram's header
    assert not await page.is_visible("#task-form .page-cancel")  # Telegram's Back does it
    assert not await page.is_visible("#task-form .page-primary")
    calls = await page.evaluate("window.__tg.calls")
    assert calls[-2:] == ["main.setText:Save", "main.show"]
    assert "back.show" in calls
    await page.evaluate("window.__tg.press('back')")
    await page.wait_for_selector("#today")
    assert await page.is_visible("#bar")
    assert watched.page_errors == []


async def test_the_bots_account_link_opens_the_account_screen(base_url, open_page):
    """/me and /password in the bot open /app/#account (Telegram adds its launch parameters to
    the same fragment): the account screen, with Settings and Today behind it."""
    init_data = sign_init_data(EN_USER)
    watched = await open_page(init_script=webapp_script(init_data, EN_USER, LIGHT_THEME, "light"))
    page = watched.page
    url = mini_app_url(base_url, init_data, LIGHT_THEME).replace("app/#", "app/#account&")
    await page.goto(url)
    await page.wait_for_selector("#password-form")
    assert await page.inner_text("#title") == "Account"
    assert "tgWebAppData" not in page.url  # the credential left the address bar
    await page.evaluate("window.__tg.press('back')")
    await page.wait_for_selector("#settings-form")
    await page.evaluate("window.__tg.press('back')")
    await page.wait_for_selector("#today")
    assert watched.page_errors == []
