"""The Mini App's switch for shared lists' change notifications: off by default, saved at
once when ticked, still on after a reload; in a real browser against the real app."""

from __future__ import annotations

import pytest

from tests.e2e.browser.test_assistant import sign_up

pytestmark = pytest.mark.timeout(120)


async def test_the_notifications_switch_is_off_by_default_and_saved_at_once(base_url, open_page):
    watched = await open_page()
    page = watched.page
    await sign_up(page, base_url, "notifyfan")
    await page.click("#settings-button")
    switch = page.locator("#notify-changes")
    await switch.wait_for()
    assert await switch.is_checked() is False
    assert "Message me in Telegram" in await page.locator("#notify").inner_text()
    await switch.check()
    await page.wait_for_selector("#notify .message.ok")
    await page.reload()  # the settings screen again (its address), the user read afresh
    await page.locator("#notify-changes").wait_for()
    assert await page.locator("#notify-changes").is_checked() is True
    assert watched.page_errors == []
    assert watched.failed_responses == []
