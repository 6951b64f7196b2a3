"""The Mini App on the one capture path (docs/capture.md): a reading chosen among the
server's is saved as the server gave it (a repeat without a due time), and the editor's
"Stop repeating" clears a task's repeat and keeps its time."""

from __future__ import annotations

import pytest

from tests.e2e.browser.seed import seed_account
from tests.e2e.browser.test_quick_actions import api_get, open_signed_in, row

pytestmark = pytest.mark.timeout(120)


async def test_stop_repeating_in_the_editor(base_url, open_page):
    seeded = await seed_account(base_url, "stopper", "en")
    watched = await open_signed_in(open_page, base_url, "stopper", pin=False)
    page = watched.page
    before = next(t for t in (await api_get(base_url, seeded.token, "/api/tasks"))["items"]
                  if t["title"] == "Stand-up with the team")  # fmt: skip
    assert before["repeat"]
    await page.click("#task-rows .task-open >> text=Stand-up with the team")
    await page.click("#stop-repeating")
    await row(page, "Stand-up with the team").wait_for()
    after = await api_get(base_url, seeded.token, f"/api/tasks/{before['id']}")
    assert (after["repeat"], after["remind_at"], after["done"]) == (
        None, before["remind_at"], False)  # fmt: skip
    # A task that does not repeat has no such button.
    await page.click("#task-rows .task-open >> text=Call the dentist")
    await page.wait_for_selector("#task-form")
    assert await page.locator("#stop-repeating").count() == 0
    assert watched.page_errors == []


async def test_a_chosen_repeat_reading_is_saved_as_the_server_reads_it(base_url, open_page):
    seeded = await seed_account(base_url, "chooser", "en", tasks=False)
    watched = await open_signed_in(open_page, base_url, "chooser", pin=False)
    page = watched.page
    await page.click("#primary")
    await page.fill("input[name=text]", "every day at 7 stretch")
    options = page.locator("#time-choices button.choice")
    await options.first.wait_for()
    await options.first.click()
    await page.click("#task-form button[type=submit]")
    await page.wait_for_selector("#task-form", state="detached")
    [task] = (await api_get(base_url, seeded.token, "/api/tasks"))["items"]
    assert task["title"] == "stretch"
    assert task["repeat"] in ("FREQ=DAILY;BYHOUR=7;BYMINUTE=0", "FREQ=DAILY;BYHOUR=19;BYMINUTE=0")
    assert task["remind_at"] is not None
    assert task["due"] is None  # as the bot saves it
    assert watched.page_errors == []
