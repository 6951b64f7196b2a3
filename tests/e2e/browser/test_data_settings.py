"""The Mini App's settings: the calendar feed (on, new link, off) and "Download my data", in a
real browser against the real app."""

from __future__ import annotations

import json

import pytest
from aiohttp import ClientSession

from tests.e2e.browser.test_assistant import sign_up

pytestmark = pytest.mark.timeout(120)


async def status_of(base_url: str, url: str) -> tuple[int, str]:
    """Fetch a feed URL (made with the app's PUBLIC_URL) from the test server."""
    path = "cal/" + url.split("/cal/", 1)[1]
    async with ClientSession() as http, http.get(base_url + path) as response:
        return response.status, response.content_type


async def test_calendar_feed_and_export_from_settings(base_url, open_page, tmp_path):
    watched = await open_page()
    page = watched.page
    await sign_up(page, base_url, "feedfan")
    await page.click("#settings-button")
    await page.wait_for_selector("#feed-on")
    assert "null" not in await page.locator("#calendar-feed").inner_text()  # the parts absent
    # Whose account: said once, in the bar (#whoami), not again in the settings form.
    assert (await page.locator("body").inner_text()).count("Signed in as feedfan") == 1
    await page.click("#feed-on")
    first = await page.locator("#feed-url").input_value()
    assert "/cal/" in first
    assert first.endswith(".ics")
    assert await status_of(base_url, first) == (200, "text/calendar")
    assert await page.locator("#calendar-feed").inner_text() != ""

    await page.click("#feed-new")
    await page.wait_for_function("(old) => document.querySelector('#feed-url')?.value !== old",
                                 arg=first)  # fmt: skip
    second = await page.locator("#feed-url").input_value()
    assert (await status_of(base_url, first))[0] == 404
    assert (await status_of(base_url, second))[0] == 200

    await page.click("#feed-off")
    await page.wait_for_selector("#feed-on")
    assert "null" not in await page.locator("#calendar-feed").inner_text()
    assert (await status_of(base_url, second))[0] == 404

    async with page.expect_download() as info:
        await page.click("#export-data")
    download = await info.value
    assert download.suggested_filename.startswith("tasks-export-")
    saved = tmp_path / "export.json"
    await download.save_as(saved)
    document = json.loads(saved.read_text())
    assert document["schema_version"] == 1
    assert document["account"]["username"] == "feedfan"
    assert document["calendar_feed"]["enabled"] is False
    assert watched.page_errors == []
    assert watched.failed_responses == []
