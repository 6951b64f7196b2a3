"""Every screen (sign-in, Today, the lists, a list, the editor, settings) in English and
Russian, light and dark (the system's preference: the page follows it), on a phone (390 x 844)
and a desktop; and the first-run Today (its hint) on a phone. With UPDATE_SCREENSHOTS=1
(`make screenshots`) the pictures go to docs/screenshots/ as SCREEN-LANG-THEME-DEVICE.png;
otherwise to a temporary folder, and the test still checks what each screen must show."""

from __future__ import annotations

import shutil

import pytest
from playwright.async_api import Page

from tests.e2e.browser.helpers import screenshot_path
from tests.e2e.browser.seed import TEXTS, ZONES, morning, seed_account
from tests.helpers import PASSWORD

pytestmark = pytest.mark.timeout(240)

DEVICES = {"phone": (390, 844), "desktop": (1280, 800)}
LOCALES = {"en": "en-US", "ru": "ru-RU"}
# The names the README shows (one picture each), taken from the set.
ALIASES = {
    "light.png": "today-en-light-desktop.png",
    "dark.png": "today-ru-dark-phone.png",
    "phone-360.png": "list-en-light-phone.png",
}


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_every_screen(base_url, open_page, pin_clock, tmp_path, lang, theme):
    texts = TEXTS[lang]
    username = f"screens_{lang}_{theme}"
    pin_clock(morning(lang))  # the server's words and Today read the seeded day too
    await seed_account(base_url, username, lang)
    for device, viewport in DEVICES.items():
        watched = await open_page(
            viewport=viewport,
            color_scheme=theme,
            locale=LOCALES[lang],
            timezone_id=ZONES[lang],
            is_mobile=device == "phone",
        )
        page = watched.page
        await page.clock.set_fixed_time(morning(lang))

        async def shot(
            screen: str, page: Page = page, device: str = device, width: int = viewport[0]
        ) -> None:
            await page.evaluate("document.activeElement && document.activeElement.blur()")
            name = f"{screen}-{lang}-{theme}-{device}.png"
            await page.screenshot(path=screenshot_path(name, tmp_path))
            # Nothing wider than the screen.
            assert await page.evaluate("document.documentElement.scrollWidth") <= width

        await page.goto(base_url + "app/")
        await page.wait_for_selector("#sign-in")
        assert await page.inner_text("#app-name") == ("Assistant" if lang == "en" else "Ассистент")
        await shot("signin")

        await page.fill("input[name=username]", username)
        await page.fill("input[name=password]", PASSWORD)
        await page.press("input[name=password]", "Enter")
        await page.wait_for_selector("#today #task-rows .task")
        titles = await page.locator("#today .task-title").all_inner_texts()
        assert titles[-1] == texts["tasks"][3][1]  # the task without a time comes last
        assert titles[0] == texts["tasks"][2][1]  # yesterday's, overdue, first
        await shot("today")

        await page.click("#lists-button")
        await page.wait_for_selector("#lists .list-row")
        await shot("lists")

        await page.click(f"#lists .list-row >> text={texts['garden']}")
        await page.wait_for_selector("#task-rows .task")
        await shot("list")

        await page.click("#task-rows .task-open >> nth=1")
        await page.wait_for_selector("#task-form")
        await shot("editor")

        await page.click("#back")
        await page.wait_for_selector("#task-rows .task")
        await page.click("#back")
        await page.wait_for_selector("#lists .list-row")
        await page.click("#settings-button")
        await page.wait_for_selector("#settings-form")
        await shot("settings")
        assert watched.page_errors == []
        assert watched.console_errors == []

    # The first run: an empty Today with its hint, on a phone.
    await seed_account(base_url, f"new_{lang}_{theme}", lang, tasks=False)
    watched = await open_page(
        viewport=DEVICES["phone"],
        color_scheme=theme,
        locale=LOCALES[lang],
        timezone_id=ZONES[lang],
        is_mobile=True,
    )
    page = watched.page
    await page.goto(base_url + "app/")
    await page.fill("input[name=username]", f"new_{lang}_{theme}")
    await page.fill("input[name=password]", PASSWORD)
    await page.press("input[name=password]", "Enter")
    await page.wait_for_selector("#onboarding .example")
    await page.screenshot(path=screenshot_path(f"welcome-{lang}-{theme}-phone.png", tmp_path))

    if screenshot_path("x.png", tmp_path).parent != tmp_path:  # updating docs/screenshots
        for alias, source in ALIASES.items():
            folder = screenshot_path(source, tmp_path).parent
            if (folder / source).exists():
                shutil.copyfile(folder / source, folder / alias)
