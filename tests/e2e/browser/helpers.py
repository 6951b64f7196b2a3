"""What the browser tests share: Telegram's launch of a Mini App, done the way Telegram does it
(and signed independently of the app's code), and small page helpers."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from playwright.async_api import Page

from tests.bot_helpers import BOT_TOKEN
from tests.kit.signing import sign_init_data_fields

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "docs" / "screenshots"

RU_USER = {"id": 777001, "first_name": "Мария", "username": "maria_k", "language_code": "ru"}
EN_USER = {"id": 777002, "first_name": "John", "username": "john_k", "language_code": "en"}

# Telegram's dark palette (as its clients send it in tgWebAppThemeParams).
DARK_THEME = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
    "section_bg_color": "#17212b",
    "destructive_text_color": "#ec3942",
}
LIGHT_THEME = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#3390ec",
    "button_color": "#3390ec",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#f4f4f5",
}


def sign_init_data(
    user: dict[str, Any], *, bot_token: str = BOT_TOKEN, auth_date: int | None = None
) -> str:
    """Init data as Telegram signs it: key = HMAC_SHA256("WebAppData", bot_token),
    hash = hex HMAC_SHA256(key, the fields but hash, sorted, `k=v` joined by newlines)."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
    }
    return urlencode(sign_init_data_fields(fields, bot_token), quote_via=quote)


def mini_app_url(base: str, init_data: str, theme: dict[str, str]) -> str:
    """/app/ with the launch parameters in the fragment, as Telegram opens a Mini App."""
    fragment = urlencode(
        {
            "tgWebAppData": init_data,
            "tgWebAppVersion": "8.0",
            "tgWebAppPlatform": "tdesktop",
            "tgWebAppThemeParams": json.dumps(theme),
        },
        quote_via=quote,
    )
    return f"{base}app/#{fragment}"


def webapp_script(init_data: str, user: dict[str, Any], theme: dict[str, str], scheme: str) -> str:
    """Stands in for telegram-web-app.js: a window.Telegram.WebApp that records what the page
    asks of Telegram (ready, expand, the main and back buttons) in window.__tg."""
    return f"""
(() => {{
  const calls = [];
  const handlers = {{ main: [], back: [] }};
  const button = (name) => ({{
    isVisible: false, text: '',
    setText(text) {{ calls.push(name + '.setText:' + text); this.text = text; return this; }},
    show() {{ calls.push(name + '.show'); this.isVisible = true; return this; }},
    hide() {{ calls.push(name + '.hide'); this.isVisible = false; return this; }},
    onClick(fn) {{ handlers[name].push(fn); return this; }},
    offClick(fn) {{ handlers[name] = handlers[name].filter((f) => f !== fn); return this; }},
  }});
  window.__tg = {{ calls, press: (name) => handlers[name].forEach((fn) => fn()) }};
  window.Telegram = {{ WebApp: {{
    initData: {json.dumps(init_data)},
    initDataUnsafe: {{ user: {json.dumps(user)} }},
    themeParams: {json.dumps(theme)},
    colorScheme: {json.dumps(scheme)},
    platform: 'tdesktop', version: '8.0',
    ready() {{ calls.push('ready'); }},
    expand() {{ calls.push('expand'); }},
    MainButton: button('main'),
    BackButton: button('back'),
    onEvent() {{}}, offEvent() {{}},
  }} }};
}})();
"""


# Telegram's mobile and desktop clients inject this proxy; the page posts its events to it.
BRIDGE_SCRIPT = """
window.__events = [];
window.TelegramWebviewProxy = {
  postEvent(type, data) { window.__events.push([type, JSON.parse(data)]); },
};
"""


async def computed(page: Page, selector: str, prop: str) -> str:
    return await page.eval_on_selector(
        selector, "(el, prop) => getComputedStyle(el).getPropertyValue(prop)", prop
    )


def rgb(hex_colour: str) -> str:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"


def screenshot_path(name: str, tmp_path: Path) -> Path:
    """docs/screenshots/ when UPDATE_SCREENSHOTS=1 (they are committed), else a temp folder."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS / name
    return tmp_path / name
