"""The pure rules of the tasks service: cursors, RRULEs, titles from free text, search
normalisation and ranking, and the bot's callback data."""

from __future__ import annotations

import hashlib
import time

import pytest
from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st

from server.services.common.errors import InvalidInput
from server.services.dates.rrule import normalize_rrule
from server.services.tasks import search
from server.services.tasks.service import (
    NOTES_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    clean_title,
    decode_cursor,
    encode_cursor,
    title_and_notes,
)
from server.telegram import keyboards as kb

MILLIS = st.integers(min_value=0, max_value=10**13 - 1)
OIDS = st.binary(min_size=12, max_size=12).map(ObjectId)


@settings(max_examples=300, database=None, derandomize=True)
@given(millis=MILLIS, oid=OIDS)
def test_a_cursor_round_trips_to_its_order_key(millis: int, oid: ObjectId) -> None:
    key = f"{millis:013d}{oid}"
    cursor = encode_cursor(key)
    assert cursor.isascii()
    assert len(cursor) <= 64
    assert decode_cursor(cursor) == key


@settings(max_examples=300, database=None, derandomize=True)
@given(text=st.text(max_size=80) | st.binary(max_size=40).map(lambda b: b.hex()))
def test_anything_else_is_refused_as_a_cursor_naming_the_field(text: str) -> None:
    field = None
    try:
        key = decode_cursor(text)
    except InvalidInput as exc:
        field = exc.field
    if field is None:  # only a real cursor decodes, and then to its one spelling
        assert encode_cursor(key) == text
    else:
        assert field == "cursor"


@settings(max_examples=200, database=None, derandomize=True)
@given(first=st.tuples(MILLIS, OIDS), second=st.tuples(MILLIS, OIDS))
def test_order_keys_sort_like_created_then_id(first, second) -> None:
    key = lambda pair: f"{pair[0]:013d}{pair[1]}"  # noqa: E731
    assert (key(first) < key(second)) == (
        (first[0], first[1].binary) < (second[0], second[1].binary)
    )


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO"), ("rrule:freq=daily", "FREQ=DAILY"),
     (" BYDAY=MO,FR;FREQ=WEEKLY ", "FREQ=WEEKLY;BYDAY=MO,FR"),
     ("FREQ=DAILY;UNTIL=20300101T000000Z", "FREQ=DAILY;UNTIL=20300101T000000Z"),
     ("FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=-1FR"),
     ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29")],
)  # fmt: skip
def test_rrules_are_normalised(text: str, canonical: str) -> None:
    assert normalize_rrule(text) == canonical


@pytest.mark.parametrize(
    "text",
    ["", "every monday", "BYDAY=MO", "FREQ=FOO", "FREQ=MINUTELY", "FREQ=SECONDLY",
     "FREQ=DAILY;FREQ=WEEKLY", "FREQ=DAILY;COUNT=0", "FREQ=DAILY;INTERVAL=0",
     "FREQ=DAILY;COUNT=2;UNTIL=20300101", "FREQ=DAILY;FOO=1", "FREQ=WEEKLY;BYDAY=XX",
     "FREQ=DAILY;BYHOUR=25", "FREQ=DAILY\nRRULE:FREQ=WEEKLY", "FREQ=DAILY;UNTIL=soon",
     "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31", "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
     "FREQ=YEARLY;BYWEEKNO=60", "FREQ=DAILY;" + "BYHOUR=1;" * 100],
)  # fmt: skip
def test_unusable_rrules_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        normalize_rrule(text)


def test_a_title_from_free_text() -> None:
    assert title_and_notes("  Buy   milk  ") == ("Buy milk", "")
    assert title_and_notes("Call Bob\n\nabout the\tinvoice") == (
        "Call Bob", "Call Bob\nabout the invoice",
    )  # fmt: skip
    long = "word " * 200
    title, notes = title_and_notes(long)
    assert len(title) <= TITLE_MAX_LENGTH
    assert title.endswith("…")
    assert notes == long.strip()
    title, notes = title_and_notes("x" * 20_000)
    assert len(title) == TITLE_MAX_LENGTH
    assert len(notes) == NOTES_MAX_LENGTH
    assert title_and_notes("bell\x07 ring") == ("bell ring", "")
    with pytest.raises(InvalidInput):
        title_and_notes(" \n\t ")


def test_titles_are_one_printable_line() -> None:
    assert clean_title("  ok  ") == "ok"
    for bad in ("", "  ", "a\nb", "tab\there", "x" * 501, "\ud800"):
        with pytest.raises(InvalidInput):
            clean_title(bad)


def test_normalisation_and_terms() -> None:
    assert search.normalize("ЁЛКА Café") == "елка cafe"
    assert search.index_terms("Купить молоко") == [
        "к", "ку", "куп", "упи", "пит", "ить", "м", "мо", "мол", "оло", "лок", "око",
    ]  # fmt: skip
    many = " ".join(hashlib.sha256(str(i).encode()).hexdigest()[:10] for i in range(3000))
    terms = search.index_terms("Заголовок", many)
    assert len(terms) == search.MAX_TERMS
    assert terms[:3] == ["з", "за", "заг"]  # the title's terms come first, never cut off
    assert search.prepare("Мо молоко!!").terms == ("мо", "мол", "оло", "лок", "око")
    assert search.prepare("?!").empty


TASKS = [("Купить молоко", ""), ("Prepare presentation", ""), ("Открыть окно", ""),
         ("Позвонить маме", "купить хлеба"), ("Present gifts", "")]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "best"),
    [("молок", "Купить молоко"), ("малоко", "Купить молоко"), ("prsentation",
     "Prepare presentation"), ("presentation", "Prepare presentation"),
     ("хлеб", "Позвонить маме"), ("окно", "Открыть окно")],
)  # fmt: skip
def test_ranking_puts_the_best_match_first(query: str, best: str) -> None:
    ranked = search.rank(search.prepare(query), TASKS, lambda task: task)
    assert ranked[0][0] == best
    assert ("Открыть окно", "") not in ranked or query == "окно"  # a shared trigram is noise


def test_callback_data_round_trips_and_fits_telegrams_64_bytes() -> None:
    task_id, list_id = "a" * 24, "b" * 24
    view = kb.View(list_id, 9999)
    for data, action in [
        (kb.card_data("d", task_id), kb.CardAction("d", task_id)),
        (kb.card_data("x", task_id, view), kb.CardAction("x", task_id, view)),
        (kb.view_data(kb.View("someday", 3)), kb.ShowList(kb.View("someday", 3))),
        (f"vd:{list_id}:9999:{task_id}", kb.DoneFromList(view, task_id)),
        ("n", kb.Noop()),
    ]:
        assert len(data.encode()) <= 64
        assert kb.parse(data) == action
    for junk in (None, "", "c:q:" + task_id, "c:d:" + "g" * 24, "v:elsewhere:0", "vd:inbox:0"):
        assert kb.parse(junk) is None


def test_search_work_is_bounded_whatever_the_notes_and_the_query() -> None:
    """Issue 22, item 4: notes of 5,000 distinct one-letter words and an 8-word query held
    the event loop for seconds (0.93 s of CPU here before the caps); now the words of the
    notes that are indexed and ranked, and the query's terms, are capped."""
    letters = [chr(c) for c in range(0x100, 0x3000) if chr(c).isalpha()][:5000]
    notes = " ".join(letters)
    assert len(search.note_words(notes)) == search.MAX_NOTE_WORDS
    assert len(search.index_terms("x", notes)) <= search.MAX_TERMS
    long_query = search.prepare(" ".join(f"слово{i}абвгд" for i in range(20)))
    assert len(long_query.words) == search.MAX_QUERY_WORDS
    assert len(long_query.terms) == search.MAX_QUERY_TERMS
    candidates = [(f"Task {i}", notes) for i in range(200)]
    started = time.process_time()
    search.rank(search.prepare("a ж з и й к л м"), candidates, lambda task: task)
    assert time.process_time() - started < 0.25  # CPU seconds; ~0.03-0.05 with the caps
