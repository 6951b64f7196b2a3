"""Browser tests: the real app on a real port (embedded database, fake Bot API), driven by
Debian's Chromium through Playwright (its own browser download is unreachable here)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, make_mocked_request
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from config import load_settings
from server.app import create_app
from server.keys import SERVICES
from tests.bot_helpers import bot_settings
from tests.conftest import TEST_JWT_SECRET, AppFactory
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
ASSISTANT_MARK = "needs_assistant_api"


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail(
            f"Chromium not found at {path}: install Debian's package `chromium` "
            "(apt-get install -y chromium) or set CHROMIUM_PATH",
            pytrace=False,
        )
    return path


# --- Tests written for the assistant routes that another branch brings ------------------
# TEMPORARY (the lead removes this after merging the lists/tasks/accounts routes): items
# marked needs_assistant_api are skipped while the app's OpenAPI document has no /api/tasks.


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{ASSISTANT_MARK}: needs the lists/tasks/accounts routes of DESIGN.md"
    )


def _openapi_paths(tmp: Path) -> set[str]:
    """The paths of the app's own OpenAPI document, read without starting the app."""
    app = create_app(load_settings(_env_file=None, jwt_secret=TEST_JWT_SECRET, data_dir=tmp))
    try:
        [route] = [
            r
            for r in app.router.routes()
            if r.method == "GET" and r.resource and r.resource.canonical.endswith("openapi.json")
        ]
        response = asyncio.run(route.handler(make_mocked_request("GET", route.resource.canonical)))
        return set(json.loads(response.body)["paths"])
    finally:
        app[SERVICES].close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    marked = [item for item in items if item.get_closest_marker(ASSISTANT_MARK)]
    if not marked:
        return
    tmp = Path(config.rootpath) / ".pytest_cache" / "openapi-probe"
    if "/api/tasks" in _openapi_paths(tmp):
        return
    skip = pytest.mark.skip(reason="the app's OpenAPI document has no /api/tasks yet")
    for item in marked:
        item.add_marker(skip)


# --- The app and the browser ----------------------------------------------------------------


@pytest.fixture
async def make_server(
    make_client: AppFactory, fake_api: FakeBotAPI
) -> Callable[..., Awaitable[str]]:
    """Start the real app (bot in webhook mode against the fake Bot API); returns its root URL."""

    async def make(**overrides: Any) -> str:
        client: TestClient = await make_client(**bot_settings(fake_api, **overrides))
        return str(client.make_url("/"))

    return make


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


@dataclass
class Watched:
    """A page, and what its console and network said."""

    page: Page
    context: BrowserContext
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def api_calls(self, path: str, method: str = "GET") -> list[tuple[str, str, dict[str, str]]]:
        return [r for r in self.requests if r[0] == method and r[1].split("?")[0].endswith(path)]


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
        page.on(
            "console",
            lambda m: watched.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: watched.page_errors.append(str(e)))
        page.on(
            "request",
            lambda r: watched.requests.append((r.method, r.url, dict(r.headers))),
        )
        return watched

    yield open_page
    for context in contexts:
        await context.close()
