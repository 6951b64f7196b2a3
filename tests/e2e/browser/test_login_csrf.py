"""Login CSRF in the Mini App (issue 22, item 8): a signed Telegram result in a link signs a
browser in only for a sign-in that page started; init data in a link does nothing in a plain
browser tab; and a signed-in browser always shows whose account it is."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Route

from tests.account_helpers import widget_fields
from tests.e2e.browser.helpers import DARK_THEME, RU_USER, mini_app_url, sign_init_data

pytestmark = pytest.mark.timeout(90)

WIDGET = "/api/auth/telegram/widget"


def auth_result(fields: dict[str, Any]) -> str:
    """#tgAuthResult as Telegram's login page writes it: base64 of the JSON fields."""
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()


async def test_a_telegram_sign_in_this_page_started_signs_in_and_names_the_account(
    base_url, open_page
):
    watched = await open_page()
    page = watched.page
    asked: list[str] = []

    async def telegram_login_page(route: Route) -> None:
        # Telegram's login page: the person agrees, and it sends them back with the result.
        query = parse_qs(urlsplit(route.request.url).query)
        asked.append(query["return_to"][0])
        result = auth_result(widget_fields(555001, username="wendy_tg"))
        await route.fulfill(
            status=302, headers={"Location": f"{query['return_to'][0]}#tgAuthResult={result}"}
        )

    await page.context.route("https://oauth.telegram.org/**", telegram_login_page)
    await page.goto(base_url + "app/")
    await page.click("#tg-login")
    await page.wait_for_selector("#settings-button:visible")
    assert await page.inner_text("#whoami") == "Signed in as @wendy_tg"
    assert len(watched.api_calls(WIDGET, "POST")) == 1
    [return_to] = asked
    assert "tg_state=" in return_to
    # Nothing of it stays in the address bar, and the state works once.
    assert urlsplit(page.url).query == ""
    assert urlsplit(page.url).fragment == ""
    assert await page.evaluate("sessionStorage.getItem('assistant.tg-login-state')") is None
    result = auth_result(widget_fields(555001, username="wendy_tg", last_name="again"))
    await page.goto(f"{return_to}#tgAuthResult={result}")
    await page.wait_for_selector("#sign-in [role=alert]")
    assert len(watched.api_calls(WIDGET, "POST")) == 1
    assert watched.page_errors == []


async def test_someone_elses_telegram_result_in_a_link_signs_nobody_in(base_url, open_page):
    watched = await open_page()
    page = watched.page
    mallory = auth_result(widget_fields(555002, username="mallory"))
    for url in (
        f"{base_url}app/#tgAuthResult={mallory}",
        f"{base_url}app/?tg_state=0123456789abcdef#tgAuthResult={mallory}",  # a made-up state
    ):
        await page.goto(url)
        alert = page.locator("#sign-in [role=alert]")
        await alert.wait_for()
        assert await alert.inner_text() == (
            "A Telegram sign-in this page did not start was ignored. To sign in with "
            "Telegram, use the button below."
        )
        assert "tgAuthResult" not in page.url
    assert watched.api_calls(WIDGET, "POST") == []
    assert not await page.is_visible("#settings-button")
    assert watched.page_errors == []


async def test_init_data_in_a_link_does_nothing_in_a_plain_browser_tab(base_url, open_page):
    watched = await open_page()  # no Telegram client around the page
    page = watched.page
    init_data = sign_init_data(RU_USER)
    await page.goto(mini_app_url(base_url, init_data, DARK_THEME))
    await page.wait_for_selector("#sign-in")
    assert "tgWebAppData" not in page.url
    assert await page.evaluate("sessionStorage.getItem('assistant.tg-launch')") is None
    tma_calls = [r for r in watched.requests if r[2].get("authorization", "").startswith("tma")]
    assert tma_calls == []
    assert not await page.is_visible("#settings-button")
