"""Unlinking Telegram from the account page in a browser (issue 22, item 3)."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession

from tests.e2e.browser.helpers import sign_init_data
from tests.helpers import PASSWORD

pytestmark = pytest.mark.timeout(90)

USER = {"id": 777010, "first_name": "Lina", "username": "lina_tg", "language_code": "en"}


async def test_a_linked_account_unlinks_telegram_from_the_account_page(base_url, open_page):
    # A Telegram account that got a username and a password (so it can do without Telegram).
    async with ClientSession(base_url) as http:
        signed = await http.post("/api/auth/telegram", json={"init_data": sign_init_data(USER)})
        assert signed.status == 200
        auth = {"Authorization": f"Bearer {(await signed.json())['access_token']}"}
        assert (await http.patch("/api/auth/me", json={"username": "lina"}, headers=auth)).ok
        body = {"new_password": PASSWORD, "init_data": sign_init_data(USER)}
        assert (await http.post("/api/auth/password", json=body, headers=auth)).status == 200

    watched = await open_page()
    page = watched.page
    await page.goto(base_url + "app/")
    await page.fill("input[name=username]", "lina")
    await page.fill("input[name=password]", PASSWORD)
    await page.press("input[name=password]", "Enter")
    await page.wait_for_selector("#settings-button:visible")
    assert await page.inner_text("#whoami") == "Signed in as lina (@lina_tg)"
    await page.click("#settings-button")
    await page.click("#open-account")
    await page.wait_for_selector("#telegram >> text=Linked to Telegram (@lina_tg).")

    await page.click("#unlink-telegram")

    await page.wait_for_selector("#link-telegram")  # not linked any more: "Link Telegram"
    assert watched.api_calls("/api/auth/telegram/link", "DELETE")
    async with ClientSession(base_url) as http:
        login = await http.post("/api/auth/login", json={"username": "lina", "password": PASSWORD})
        auth = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
        me = await (await http.get("/api/auth/me", headers=auth)).json()
        assert me["telegram_id"] is None
    assert watched.page_errors == []
    assert watched.failed_responses == []
