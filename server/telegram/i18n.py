"""The bot's texts through gettext: English source strings, one `.po` catalog per language
(`locales/<lang>/LC_MESSAGES/bot.po`), plural forms by each language's own rule.

Write texts as `tr(lang, "Hello, {name}!", name=...)` and `ntr(lang, "{n} task", "{n} tasks",
n)`; `make messages` extracts them into the catalogs, and a test fails while any lacks its
Russian translation. Catalogs are compiled to `.mo` at install (`make`); a missing or stale
`.mo` (a buildpack that never ran make) is compiled in memory from the `.po` at first use.
"""

from __future__ import annotations

import gettext
import io
import logging
from functools import cache
from pathlib import Path
from typing import Literal, get_args

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

Lang = Literal["en", "ru"]
LANGUAGES: tuple[Lang, ...] = get_args(Lang)
DOMAIN = "bot"
LOCALE_DIR = Path(__file__).parent / "locales"
# How Babel finds our texts: the message is the 2nd argument (the 1st is the language).
KEYWORDS = {"tr": (2,), "ntr": (2, 3), "N_": None}


def language(stored: str | None = None, language_code: str | None = None) -> Lang:
    """The user's stored choice first, else Telegram's `language_code`; English by default."""
    for code in (stored, language_code):
        if code:
            return "ru" if code.lower().startswith("ru") else "en"
    return "en"


def catalog_paths(lang: Lang) -> tuple[Path, Path]:
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


def compile_catalog(lang: Lang) -> bytes:
    po_path, _ = catalog_paths(lang)
    with po_path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def compile_all() -> None:
    """Write every `.mo` next to its `.po` (run at install by the Makefile)."""
    for lang in LANGUAGES:
        _, mo_path = catalog_paths(lang)
        mo_path.write_bytes(compile_catalog(lang))


@cache
def translations(lang: Lang) -> gettext.GNUTranslations:
    po_path, mo_path = catalog_paths(lang)
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        data = mo_path.read_bytes()
    else:
        log.info("compiling the %s bot texts from %s (no up-to-date .mo)", lang, po_path.name)
        data = compile_catalog(lang)
    return gettext.GNUTranslations(io.BytesIO(data))


def N_(message: str) -> str:
    """Mark a text for translation where it is defined (a table); translate it with `tr`
    where it is shown."""
    return message


def tr(lang: Lang, message: str, /, **values: object) -> str:
    text = translations(lang).gettext(message)
    return text.format(**values) if values else text


def ntr(lang: Lang, singular: str, plural: str, n: int, /, **values: object) -> str:
    """A text with a count: `{n}` is the count, and the form follows the language's rule
    (Russian has three: 1 задача, 2 задачи, 5 задач)."""
    return translations(lang).ngettext(singular, plural, n).format(n=n, **values)


if __name__ == "__main__":
    compile_all()
