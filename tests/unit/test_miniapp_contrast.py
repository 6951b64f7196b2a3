"""Both built-in palettes of the Mini App keep text readable: WCAG contrast of at least 4.5:1
for every text colour on every background it is drawn on."""

from __future__ import annotations

import re

import pytest

from server.miniapp.routes import STATIC_DIR

CSS = (STATIC_DIR / "app.css").read_text()
TEXT_ON = {  # text colour -> the backgrounds it appears on
    "--text": ["--bg", "--section-bg", "--secondary-bg"],
    "--hint": ["--bg", "--section-bg", "--secondary-bg"],
    "--link": ["--bg", "--section-bg"],
    "--destructive": ["--bg", "--section-bg"],
    "--ok": ["--bg", "--section-bg"],
    "--button-text": ["--button"],
}


def palette(selector: str) -> dict[str, str]:
    block = re.search(re.escape(selector) + r"\s*\{(.*?)\}", CSS, re.S)
    assert block, selector
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", block.group(1)))


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_contrast_is_at_least_4_5(theme):
    colours = palette(":root")
    if theme == "dark":
        colours.update(palette(':root[data-theme="dark"]'))
    for text, backgrounds in TEXT_ON.items():
        for background in backgrounds:
            ratio = contrast(colours[text], colours[background])
            assert ratio >= 4.5, (theme, text, background, round(ratio, 2))


def test_the_system_dark_preference_uses_the_same_dark_palette():
    dark = palette(':root[data-theme="dark"]')
    media = palette(":root:not([data-theme])")
    assert {k: v for k, v in dark.items() if k in media} == media
