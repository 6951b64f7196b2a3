"""The page in an ordinary browser: sign-up, sign-in, problems as sentences, staying signed in
across a reload, refreshing before expiry, a clean sign-out, and the CSP at work."""

from __future__ import annotations

import json

import pytest
from aiohttp import ClientSession

from tests.helpers import PASSWORD

pytestmark = pytest.mark.timeout(90)


async def test_the_page_loads_clean_and_in_english(base_url, open_page):
    watched = await open_page()
    page = watched.page
    await page.goto(base_url + "app/")
    await page.wait_for_selector("#sign-in")
    assert await page.get_attribute("html", "lang") == "en"
    assert await page.inner_text("#sign-in button[type=submit]") == "Sign in"
    assert await page.is_visible("#tg-login")  # the bot is configured
    assert watched.console_errors == []
    assert watched.page_errors == []


async def test_a_russian_browser_gets_russian(base_url, open_page):
    watched = await open_page(locale="ru-RU")
    await watched.page.goto(base_url + "app/")
    await watched.page.wait_for_selector("#sign-in")
    assert await watched.page.get_attribute("html", "lang") == "ru"
    assert await watched.page.inner_text("#sign-in button[type=submit]") == "Войти"
    assert await watched.page.inner_text("#tg-login") == "Войти через Telegram"


async def test_no_telegram_login_without_a_bot(make_client, open_page):
    client = await make_client()
    watched = await open_page()
    await watched.page.goto(str(client.make_url("/app/")))
    await watched.page.wait_for_selector("#sign-in")
    assert not await watched.page.is_visible("#tg-login")


async def submit(page, username: str, password: str) -> None:
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.press("input[name=password]", "Enter")


async def test_problems_are_shown_as_sentences(base_url, open_page):
    page = (await open_page()).page
    await page.goto(base_url + "app/")
    await page.click("text=New here? Create an account")
    await submit(page, "alice", "short")
    alert = page.locator("#sign-in [role=alert]")
    await alert.wait_for()
    assert await alert.inner_text() == "Password: too short (at least 8 characters)."
    await submit(page, "al ice!", PASSWORD)
    await page.wait_for_function(
        "() => document.querySelector('#sign-in [role=alert]').textContent.includes('not allowed')"
    )
    assert await alert.inner_text() == "Username: contains characters that are not allowed."

    await page.click("text=Already have an account? Sign in")
    await submit(page, "nobody", "wrong password")
    await page.locator("#sign-in [role=alert]").wait_for()
    assert await page.inner_text("#sign-in [role=alert]") == "Incorrect username or password."


async def test_username_taken_in_russian(base_url, open_page):
    async with ClientSession() as http:
        response = await http.post(
            base_url + "api/auth/register", json={"username": "taken", "password": PASSWORD}
        )
        assert response.status == 201
    page = (await open_page(locale="ru-RU")).page
    await page.goto(base_url + "app/")
    await page.click("text=Впервые здесь? Создайте аккаунт")
    await submit(page, "taken", PASSWORD)
    await page.locator("#sign-in [role=alert]").wait_for()
    assert await page.inner_text("#sign-in [role=alert]") == (
        "Это имя пользователя занято. Выберите другое."
    )


async def test_sign_up_reload_and_sign_out(base_url, open_page):
    watched = await open_page()
    page = watched.page
    pairs: list[dict] = []

    async def remember(response):
        if response.url.endswith(("/api/auth/register", "/api/auth/refresh")) and response.ok:
            pairs.append(json.loads(await response.text()))

    page.on("response", remember)
    await page.goto(base_url + "app/")
    await page.click("text=New here? Create an account")
    await submit(page, "carol", PASSWORD)
    await page.wait_for_selector("#settings-button:visible")
    assert len(pairs) == 1
    # While the page runs, the refresh token is nowhere in storage.
    assert pairs[0]["refresh_token"] not in await page.evaluate("JSON.stringify(sessionStorage)")
    assert await page.evaluate("localStorage.length") == 0

    async with page.expect_response("**/api/auth/refresh") as refreshed:
        await page.reload()
    assert (await refreshed.value).status == 200
    await page.wait_for_selector("#settings-button:visible")  # still signed in
    assert not await page.is_visible("#sign-in")
    assert len(pairs) == 2  # the reload spent the old refresh token for a new one
    assert "assistant.refresh" not in await page.evaluate("Object.keys(sessionStorage)")

    await page.click("#settings-button")
    await page.click("#sign-out")
    await page.wait_for_selector("#sign-in")
    async with ClientSession() as http:
        response = await http.post(
            base_url + "api/auth/refresh", json={"refresh_token": pairs[-1]["refresh_token"]}
        )
        assert response.status == 401  # the session ended on the server, not just here
    await page.reload()
    await page.wait_for_selector("#sign-in")  # and nothing signs it back in
    assert watched.page_errors == []
    # The tokens never travel in a URL.
    for _, url, _ in watched.requests:
        assert all(p["access_token"] not in url and p["refresh_token"] not in url for p in pairs)


async def test_the_access_token_is_refreshed_before_it_expires(make_server, open_page):
    base_url = await make_server(access_token_ttl=3)
    page = (await open_page()).page
    await page.goto(base_url + "app/")
    await page.click("text=New here? Create an account")
    async with page.expect_response("**/api/auth/refresh", timeout=8_000) as refreshed:
        await submit(page, "dave", PASSWORD)
        await page.wait_for_selector("#settings-button:visible")
    response = await refreshed.value
    assert response.status == 200
    assert (await response.json())["expires_in"] == 3
    # ...and again, on the new pair's schedule.
    async with page.expect_response("**/api/auth/refresh", timeout=8_000) as again:
        pass
    assert (await again.value).status == 200
    assert not await page.is_visible("#sign-in")


async def test_a_session_ended_elsewhere_shows_the_sign_in_with_a_reason(make_server, open_page):
    base_url = await make_server(access_token_ttl=2)
    page = (await open_page()).page
    await page.goto(base_url + "app/")
    await page.click("text=New here? Create an account")
    async with page.expect_response("**/api/auth/register") as registered:
        await submit(page, "erin", PASSWORD)
    pairs = [await (await registered.value).json()]
    await page.wait_for_selector("#settings-button:visible")
    async with ClientSession() as http:  # a thief used the refresh token: the family is revoked
        for _ in range(2):
            await http.post(
                base_url + "api/auth/refresh", json={"refresh_token": pairs[0]["refresh_token"]}
            )
    await page.wait_for_selector("#sign-in", timeout=8_000)
    assert await page.inner_text("#sign-in [role=alert]") == (
        "Your session has ended. Please sign in again."
    )


async def test_csp_blocks_an_injected_inline_script(base_url, open_page):
    watched = await open_page()
    page = watched.page
    await page.goto(base_url + "app/")
    await page.wait_for_selector("#sign-in")
    await page.evaluate(
        """() => {
          window.__violations = [];
          document.addEventListener('securitypolicyviolation',
            (e) => window.__violations.push(e.violatedDirective));
          const script = document.createElement('script');
          script.textContent = 'window.__pwned = true';
          document.body.append(script);
          const img = document.createElement('img');
          img.setAttribute('onerror', 'window.__pwned = true');
          img.src = 'data:,';
          document.body.append(img);
        }"""
    )
    await page.wait_for_function("() => window.__violations.length >= 2")
    assert await page.evaluate("window.__pwned") is None
    violations = await page.evaluate("window.__violations")
    assert all(v.startswith("script-src") for v in violations), violations
    assert any("Content Security Policy" in e for e in watched.console_errors)


async def test_the_api_docs_render_under_their_strict_csp(base_url, open_page):
    """Issue 22, item 12: Swagger UI works with no inline script allowed, and the CSP keeps
    other pages from framing it."""
    watched = await open_page()
    page = watched.page
    await page.goto(base_url + "api/docs")
    await page.wait_for_selector(".swagger-ui .info .title")
    assert await page.locator(".opblock").count() > 10  # the operations are listed
    assert watched.console_errors == []
    assert watched.page_errors == []
    # Framed by another page: the browser refuses to show it (set_content waits for the
    # frame's load too, which then is Chromium's error page).
    await page.set_content(f'<iframe id="f" src="{base_url}api/docs"></iframe>')
    [child] = page.main_frame.child_frames
    assert not child.url.startswith(base_url), child.url
    assert await page.frame_locator("#f").locator(".swagger-ui").count() == 0
