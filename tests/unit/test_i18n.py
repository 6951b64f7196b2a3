"""The bot's texts: every text in the code has a translation in every catalog, with the
same placeholders, and Russian plurals follow Russian's three forms."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from server.telegram import i18n

TELEGRAM_DIR = Path(i18n.__file__).parent


def _messages_in_code() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        TELEGRAM_DIR, keywords=i18n.KEYWORDS, comment_tags=()
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_text_in_the_code_is_in_the_catalog(lang: i18n.Lang) -> None:
    po_path, _ = i18n.catalog_paths(lang)
    with po_path.open("rb") as po:
        catalog = read_po(po, locale=lang)
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    missing = _messages_in_code() - ids
    assert not missing, f"run `make messages`: {sorted(missing)}"


def test_every_russian_text_is_translated_with_its_placeholders() -> None:
    po_path, _ = i18n.catalog_paths("ru")
    with po_path.open("rb") as po:
        catalog = read_po(po, locale="ru")
    code = _messages_in_code()
    checked = 0
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0] if message.id else ""
        if not key or key not in code:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms), f"untranslated: {key!r}"
        assert not message.fuzzy, f"fuzzy: {key!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = {name for text in ids for name in _placeholders(text)}
        for form in forms:
            assert set(_placeholders(form)) == wanted, (key, form)
        checked += 1
    assert checked == len(code)


def _placeholders(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def test_language_prefers_the_stored_choice() -> None:
    assert i18n.language("ru", "en-US") == "ru"
    assert i18n.language(None, "ru-RU") == "ru"
    assert i18n.language("en", "ru") == "en"
    assert i18n.language(None, None) == "en"
    assert i18n.language(None, "de") == "en"


def test_russian_plural_forms() -> None:
    # A catalog-independent check of the rule gettext applies (from the .po header).
    plural = i18n.translations("ru").plural
    assert [plural(n) for n in (1, 2, 5, 11, 21, 22, 25, 111, 0)] == [0, 1, 2, 2, 0, 1, 2, 2, 2]


def test_a_missing_mo_is_compiled_from_the_po() -> None:
    data = i18n.compile_catalog("ru")
    assert data[:4] in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")  # the .mo magic number
