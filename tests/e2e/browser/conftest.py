"""Browser tests: the real app on a real port (embedded database, fake Bot API), driven by
Debian's Chromium through Playwright (its own browser download is unreachable here)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    async_playwright,
)

from models.clock import utcnow
from server.keys import SERVICES
from tests.bot_helpers import bot_settings
from tests.conftest import AppFactory
from tests.fake_bot_api import FakeBotAPI

# Flags that work in this sandbox (no GPU, no network besides loopback, no first-run UI).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail(
            f"Chromium not found at {path}: install Debian's package `chromium` "
            "(apt-get install -y chromium) or set CHROMIUM_PATH",
            pytrace=False,
        )
    return path


# --- The app and the browser ----------------------------------------------------------------


@pytest.fixture
def servers() -> list[TestClient]:
    """The apps this test started (for `pin_clock`)."""
    return []


@pytest.fixture
async def make_server(
    make_client: AppFactory, fake_api: FakeBotAPI, servers: list[TestClient]
) -> Callable[..., Awaitable[str]]:
    """Start the real app (bot in webhook mode against the fake Bot API); returns its root URL."""

    async def make(**overrides: Any) -> str:
        client: TestClient = await make_client(**bot_settings(fake_api, **overrides))
        servers.append(client)
        return str(client.make_url("/"))

    return make


@pytest.fixture
def pin_clock(servers: list[TestClient]) -> Callable[[datetime], None]:
    """Set the server's clock (the tasks service's: Today, `when_text`, `overdue`, the parser)
    to `at`, from where it runs on with real time, so the server and a page whose clock is
    pinned to the same instant read "today" alike, and creation order stays strict."""

    def pin(at: datetime) -> None:
        started = utcnow()
        for client in servers:
            client.server.app[SERVICES].tasks.clock = lambda: at + (utcnow() - started)

    return pin


@pytest.fixture
async def base_url(make_server: Callable[..., Awaitable[str]]) -> str:
    return await make_server()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


# Chromium logs every HTTP error answer as a console error too; those are kept apart (as
# `failed_responses`, with their method and path), so `console_errors` holds what the page's
# own code and the CSP said, and each test states which refusals it expects.
HTTP_ERROR_LOG = "Failed to load resource: the server responded with a status of"


@dataclass
class Watched:
    """A page, and what its console and network said."""

    page: Page
    context: BrowserContext
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    failed_responses: list[tuple[str, str, int]] = field(default_factory=list)

    def api_calls(self, path: str, method: str = "GET") -> list[tuple[str, str, dict[str, str]]]:
        return [r for r in self.requests if r[0] == method and r[1].split("?")[0].endswith(path)]

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(HTTP_ERROR_LOG):
            self.console_errors.append(message.text)

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            path = urlsplit(response.url).path
            self.failed_responses.append((response.request.method, path, response.status))


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[Callable[..., Awaitable[Watched]]]:
    contexts: list[BrowserContext] = []

    async def open_page(
        *, init_script: str | None = None, viewport: tuple[int, int] = (1024, 768), **options: Any
    ) -> Watched:
        options.setdefault("locale", "en-US")
        context = await browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, **options
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        if init_script:
            await context.add_init_script(init_script)
        page = await context.new_page()
        watched = Watched(page, context)
        page.on("console", watched.on_console)
        page.on("response", watched.on_response)
        page.on("pageerror", lambda e: watched.page_errors.append(str(e)))
        page.on(
            "request",
            lambda r: watched.requests.append((r.method, r.url, dict(r.headers))),
        )
        return watched

    yield open_page
    for context in contexts:
        await context.close()
