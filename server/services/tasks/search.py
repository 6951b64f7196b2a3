"""Typo-tolerant search, the pure part: normalising text, the terms a task is indexed by,
the terms a query looks for, and ranking candidates with rapidfuzz.

A task is indexed by, for each distinct word of its title and notes, the word's first letter,
its first two letters, and its trigrams ("молоко" → м, мо, мол, оло, лок, око). A query word
of three or more letters looks for its trigrams; a shorter one for itself (a word prefix). The
database returns the tasks sharing terms with the query (a bounded set); rapidfuzz ranks them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rapidfuzz import fuzz

MAX_QUERY_WORDS = 8
MAX_TERMS = 1500  # per task; title words come first, so a long note cannot crowd them out
# Below this a candidate is noise (it shares a trigram, not a word): "окно" for "молоко".
MIN_SCORE = 72.0
NOTES_WEIGHT = 0.9  # a match in the notes ranks below the same match in the title

_WORD = re.compile(r"\w+")
T = TypeVar("T")


def normalize(text: str) -> str:
    """Case-folded, accents removed, Cyrillic yo as ye: what is compared."""
    folded = unicodedata.normalize("NFKD", text.casefold().replace("\u0451", "\u0435"))
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


def word_terms(word: str) -> list[str]:
    """The terms one normalised word is indexed by."""
    terms = [word[:1], word[:2]] if len(word) > 1 else [word]
    terms.extend(word[i : i + 3] for i in range(len(word) - 2))
    return terms


def index_terms(title: str, notes: str = "") -> list[str]:
    """The distinct terms of a task, title first, at most MAX_TERMS."""
    seen: dict[str, None] = {}
    for word in (*words(title), *words(notes)):
        for term in word_terms(word):
            seen.setdefault(term, None)
            if len(seen) >= MAX_TERMS:
                return list(seen)
    return list(seen)


@dataclass(frozen=True, slots=True)
class Query:
    """A search query, prepared: its normalised words, and the terms a candidate must share
    with it (at least one; having all of them means an exact or prefix match)."""

    words: tuple[str, ...]
    terms: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.words


def prepare(text: str) -> Query:
    found = list(dict.fromkeys(words(text)))[:MAX_QUERY_WORDS]
    terms: dict[str, None] = {}
    for word in found:
        if len(word) < 3:
            terms.setdefault(word, None)  # matches the 1- and 2-letter prefixes indexed
        else:
            for i in range(len(word) - 2):
                terms.setdefault(word[i : i + 3], None)
    return Query(words=tuple(found), terms=tuple(terms))


def _word_score(query_word: str, word: str) -> float:
    if word.startswith(query_word):
        return 100.0
    score = fuzz.ratio(query_word, word)
    if len(word) > len(query_word):
        # The beginning of a longer word, mistyped: "презинт" against "презентация".
        score = max(score, 0.97 * fuzz.ratio(query_word, word[: len(query_word)]))
    return score


def _best(query_word: str, candidates: Iterable[str]) -> float:
    best = 0.0
    for word in candidates:
        score = _word_score(query_word, word)
        if score > best:
            best = score
            if best == 100.0:
                break
    return best


def score(query: Query, title: str, notes: str = "") -> float:
    """0-100: how well the task matches; every query word counts (the mean of each word's
    best match in the title, or in the notes at NOTES_WEIGHT)."""
    if query.empty:
        return 0.0
    title_words = set(words(title))
    note_words = set(words(notes)) - title_words if notes else set()
    total = 0.0
    for query_word in query.words:
        best = _best(query_word, title_words)
        if best < 100.0 and note_words:
            best = max(best, NOTES_WEIGHT * _best(query_word, note_words))
        total += best
    return total / len(query.words)


def rank(query: Query, candidates: Sequence[T], text: Callable[[T], tuple[str, str]]) -> list[T]:
    """The candidates that match, best first; equal scores keep the candidates' order."""
    scored = [(score(query, *text(candidate)), i) for i, candidate in enumerate(candidates)]
    scored = [(s, i) for s, i in scored if s >= MIN_SCORE]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [candidates[i] for _, i in scored]
