"""The page opened as a Telegram Mini App: launch parameters in the URL fragment, real init
data signed with the test bot's token, and Telegram's script stood in for by an init script
(or absent: then the page talks to Telegram through the documented event bridge)."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.e2e.browser.helpers import (
    BRIDGE_SCRIPT,
    DARK_THEME,
    EN_USER,
    LIGHT_THEME,
    RU_USER,
    computed,
    mini_app_url,
    rgb,
    sign_init_data,
    webapp_script,
)

pytestmark = pytest.mark.timeout(90)


async def open_mini_app(open_page, base_url, user=RU_USER, theme=DARK_THEME, scheme="dark", **kw):
    init_data = sign_init_data(user)
    watched = await open_page(init_script=webapp_script(init_data, user, theme, scheme), **kw)
    await watched.page.goto(mini_app_url(base_url, init_data, theme))
    return watched, init_data


async def test_signs_in_with_init_data_in_the_users_language_and_theme(base_url, open_page):
    watched, init_data = await open_mini_app(open_page, base_url)  # browser locale: en-US
    page = watched.page
    await page.wait_for_selector("#settings-button:visible")
    assert await page.get_attribute("html", "lang") == "ru"
    assert await page.inner_text("#title") == "Сегодня"  # it opens on Today
    # Every call carries the init data as `tma`; no token pair is asked for.
    [me] = watched.api_calls("/api/auth/me")
    assert me[2]["authorization"] == f"tma {init_data}"
    assert not watched.api_calls("/api/auth/telegram", method="POST")
    assert not await page.is_visible("#sign-in")
    calls = await page.evaluate("window.__tg.calls")
    assert "ready" in calls
    assert "expand" in calls
    assert "main.setText:Новая задача" in calls  # the main action is Telegram's MainButton
    assert not await page.is_visible("#primary-bar")
    # Telegram's dark palette is the page's.
    assert await page.get_attribute("html", "data-theme") == "dark"
    assert await computed(page, "body", "background-color") == rgb(DARK_THEME["bg_color"])
    assert await computed(page, "body", "color") == rgb(DARK_THEME["text_color"])
    assert watched.page_errors == []


async def test_light_theme_and_english(base_url, open_page):
    watched, _ = await open_mini_app(
        open_page, base_url, user=EN_USER, theme=LIGHT_THEME, scheme="light", locale="ru-RU"
    )
    page = watched.page
    await page.wait_for_selector("#settings-button:visible")
    assert await page.get_attribute("html", "lang") == "en"  # Telegram's language, not the OS's
    assert await page.get_attribute("html", "data-theme") == "light"
    assert await computed(page, "body", "background-color") == rgb(LIGHT_THEME["bg_color"])


async def test_back_button_is_telegrams(base_url, open_page):
    watched, _ = await open_mini_app(open_page, base_url)
    page = watched.page
    await page.click("#settings-button")
    await page.wait_for_selector("#settings-form")
    assert await page.inner_text("#title") == "Настройки"
    assert not await page.is_visible("#back")  # Telegram draws its own
    assert (await page.evaluate("window.__tg.calls"))[-1] != "back.hide"
    assert "back.show" in await page.evaluate("window.__tg.calls")
    await page.evaluate("window.__tg.press('back')")
    await page.wait_for_function("() => document.querySelector('#title').textContent === 'Сегодня'")
    assert (await page.evaluate("window.__tg.calls")).count("back.hide") >= 1
    assert not await page.is_visible("#sign-out")  # nothing to sign out of inside Telegram


async def test_without_telegrams_script_the_fragment_and_the_bridge_suffice(base_url, open_page):
    init_data = sign_init_data(RU_USER)
    watched = await open_page(init_script=BRIDGE_SCRIPT)
    page = watched.page
    await page.goto(mini_app_url(base_url, init_data, DARK_THEME))
    await page.wait_for_selector("#settings-button:visible")
    assert await page.get_attribute("html", "lang") == "ru"
    events = dict(await page.evaluate("window.__events.map(([t, d]) => [t, d])"))
    assert "web_app_ready" in events
    assert "web_app_expand" in events
    assert events["web_app_setup_main_button"]["text"] == "Новая задача"
    assert events["web_app_setup_main_button"]["is_visible"] is True
    assert await computed(page, "body", "background-color") == rgb(DARK_THEME["bg_color"])
    # The init data left the address bar, and a reload inside Telegram still signs in.
    assert await page.evaluate("location.hash") == ""
    await page.reload()
    await page.wait_for_selector("#settings-button:visible")
    [first, second] = watched.api_calls("/api/auth/me")
    assert first[2]["authorization"] == second[2]["authorization"] == f"tma {init_data}"
    # Telegram pressing its back button reaches the page through Telegram.WebView.receiveEvent.
    await page.click("#settings-button")
    await page.wait_for_selector("#settings-form")
    await page.evaluate("window.Telegram.WebView.receiveEvent('back_button_pressed', null)")
    await page.wait_for_selector("#settings-form", state="detached")
    # ...and a theme change too.
    await page.evaluate(
        "window.Telegram.WebView.receiveEvent('theme_changed', "
        f"{{theme_params: {json.dumps({'bg_color': '#ffffff', 'text_color': '#000000'})}}})"
    )
    assert await computed(page, "body", "background-color") == "rgb(255, 255, 255)"
    assert await page.get_attribute("html", "data-theme") == "light"
    assert watched.page_errors == []


def tamper(init_data: str, **changes: str) -> str:
    fields = dict(parse_qsl(init_data))
    fields.update(changes)
    return urlencode(fields)


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda d: tamper(d, user=json.dumps({**RU_USER, "id": 1})), id="other-user"),
        pytest.param(lambda d: tamper(d, hash="0" * 64), id="bad-hash"),
        pytest.param(lambda _: sign_init_data(RU_USER, bot_token="1:another-bot"), id="other-bot"),
        pytest.param(
            lambda _: sign_init_data(RU_USER, auth_date=int(time.time()) - 3 * 86400), id="stale"
        ),
    ],
)
async def test_forged_or_stale_init_data_shows_open_again_and_no_data(base_url, open_page, forged):
    init_data = forged(sign_init_data(RU_USER))
    watched = await open_page(init_script=webapp_script(init_data, RU_USER, DARK_THEME, "dark"))
    page = watched.page
    await page.goto(mini_app_url(base_url, init_data, DARK_THEME))
    await page.wait_for_selector("#tg-invalid")
    assert await page.inner_text("#tg-invalid h2") == "Откройте приложение из Telegram ещё раз"
    assert "кнопкой меню бота" in await page.inner_text("#tg-invalid")
    assert not watched.api_calls("/api/lists")
    assert not watched.api_calls("/api/tasks")
    assert not await page.is_visible("#settings-button")
    assert "main.show" not in await page.evaluate("window.__tg.calls")
    assert watched.page_errors == []


async def test_unavailable_and_offline_are_shown_with_a_retry(base_url, open_page):
    watched, _ = await open_mini_app(open_page, base_url)
    page = watched.page
    await page.wait_for_selector("#settings-button:visible")

    problem = {
        "type": "urn:problem:database-unavailable",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The database is unavailable; try again shortly",
    }
    await page.route(
        "**/api/auth/me",
        lambda route: route.fulfill(
            status=503, content_type="application/problem+json", body=json.dumps(problem)
        ),
    )
    await page.reload()
    panel = page.locator("[role=alert]")
    await panel.wait_for()
    assert await panel.locator("h2").inner_text() == "Временно недоступно"
    await page.unroute("**/api/auth/me")
    await page.route("**/api/auth/me", lambda route: route.abort("internetdisconnected"))
    await page.get_by_role("button", name="Повторить").click()
    await page.wait_for_function(
        "() => document.querySelector('[role=alert] h2')?.textContent === 'Нет соединения'"
    )
    await page.unroute("**/api/auth/me")
    await page.get_by_role("button", name="Повторить").click()
    await page.wait_for_selector("#settings-button:visible")

    # Init data that grew too old while the app stayed open: "open it again", not a sign-in.
    refused = {**problem, "type": "urn:problem:invalid-init-data", "status": 401}
    await page.route(
        "**/api/lists",
        lambda route: route.fulfill(
            status=401, content_type="application/problem+json", body=json.dumps(refused)
        ),
    )
    await page.click("#settings-button")
    await page.evaluate("window.__tg.press('back')")
    await page.wait_for_selector("#tg-invalid")
    assert not await page.is_visible("#settings-button")
    assert watched.page_errors == []
