"""Typo-tolerant search, the pure part: normalising text, the terms a task is indexed by,
the terms a query looks for, and ranking candidates with rapidfuzz.

A task is indexed by, for each distinct word of its title and notes, the word's first letter,
its first two letters, and its trigrams ("молоко" → м, мо, мол, оло, лок, око). A query word
of three or more letters looks for its trigrams; a shorter one for itself (a word prefix). The
database returns the tasks sharing terms with the query (a bounded set); rapidfuzz ranks them.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rapidfuzz import fuzz, process

# Bounds that keep a search's cost independent of what users type (issue 22, item 4: notes
# of 5,000 distinct one-letter words made one search hold the event loop for 4 s).
MAX_QUERY_WORDS = 8
MAX_QUERY_TERMS = 24  # the query's terms looked up (each a posting read)
NOTES_CHARS = 1_000  # of a task's notes, indexed and ranked: the beginning is what is found
MAX_NOTE_WORDS = 100  # distinct words of those notes, indexed and ranked
MAX_TERMS = 600  # per task; title words come first, so a long note cannot crowd them out
# Below this a candidate is noise (it shares a trigram, not a word): "окно" for "молоко".
MIN_SCORE = 72.0
NOTES_WEIGHT = 0.9  # a match in the notes ranks below the same match in the title

_WORD = re.compile(r"\w+")
T = TypeVar("T")


def _marks() -> re.Pattern[str]:
    """Every combining mark, as one regex class of code-point ranges: removing them in C
    (a per-character Python loop made normalising the notes of 200 candidates most of a
    search's CPU). Built once at import."""
    ranges: list[tuple[int, int]] = []
    for c in range(sys.maxunicode + 1):
        if unicodedata.combining(chr(c)):
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1] = (ranges[-1][0], c)
            else:
                ranges.append((c, c))
    return re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in ranges) + "]")


_MARKS = _marks()


def normalize(text: str) -> str:
    """Case-folded, accents removed, Cyrillic yo as ye: what is compared."""
    folded = unicodedata.normalize("NFKD", text.casefold().replace("\u0451", "\u0435"))
    return folded if folded.isascii() else _MARKS.sub("", folded)


def words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


def note_words(notes: str) -> list[str]:
    """The words of the notes that count: the first MAX_NOTE_WORDS distinct ones of the first
    NOTES_CHARS characters (so indexing and ranking a task costs the same whatever its notes)."""
    return list(dict.fromkeys(words(notes[:NOTES_CHARS])))[:MAX_NOTE_WORDS]


def word_terms(word: str) -> list[str]:
    """The terms one normalised word is indexed by."""
    terms = [word[:1], word[:2]] if len(word) > 1 else [word]
    terms.extend(word[i : i + 3] for i in range(len(word) - 2))
    return terms


def index_terms(title: str, notes: str = "") -> list[str]:
    """The distinct terms of a task, title first, at most MAX_TERMS."""
    seen: dict[str, None] = {}
    for word in (*words(title), *note_words(notes)):
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
    return Query(words=tuple(found), terms=tuple(terms)[:MAX_QUERY_TERMS])


class _Words:
    """A text's distinct words, with their beginnings of each length asked (cached: every
    query word of that length compares with the same beginnings)."""

    __slots__ = ("_cut", "all", "set")

    def __init__(self, words: list[str]) -> None:
        self.all = words
        self.set = frozenset(words)
        self._cut: dict[int, tuple[list[str], frozenset[str]]] = {}

    def beginnings(self, n: int) -> tuple[list[str], frozenset[str]]:
        """The first `n` letters of each longer word."""
        found = self._cut.get(n)
        if found is None:
            cut = [word[:n] for word in self.all if len(word) > n]
            found = self._cut[n] = (cut, frozenset(cut))
        return found


def _best(query_word: str, words: _Words) -> float:
    """The best of the words against the query word: 100 for the word or a prefix of one,
    else the closest (rapidfuzz's C loop over the words), or the beginning of a longer word,
    mistyped ("презинт" against "презентация")."""
    if not words.all:
        return 0.0
    cut, cut_set = words.beginnings(len(query_word))
    if query_word in words.set or query_word in cut_set:
        return 100.0
    found = process.extractOne(query_word, words.all, scorer=fuzz.ratio)
    best = found[1] if found else 0.0
    if cut:
        found = process.extractOne(query_word, cut, scorer=fuzz.ratio)
        best = max(best, 0.97 * found[1]) if found else best
    return float(best)


def score(query: Query, title: str, notes: str = "") -> float:
    """0-100: how well the task matches; every query word counts (the mean of each word's
    best match in the title, or in the notes at NOTES_WEIGHT)."""
    if query.empty:
        return 0.0
    title_words = list(dict.fromkeys(words(title)))
    in_title = set(title_words)
    in_notes = _Words([w for w in note_words(notes) if w not in in_title] if notes else [])
    in_title_words = _Words(title_words)
    total = 0.0
    for query_word in query.words:
        best = _best(query_word, in_title_words)
        if best < 100.0 and in_notes.all:
            best = max(best, NOTES_WEIGHT * _best(query_word, in_notes))
        total += best
    return total / len(query.words)


def rank(query: Query, candidates: Sequence[T], text: Callable[[T], tuple[str, str]]) -> list[T]:
    """The candidates that match, best first; equal scores keep the candidates' order."""
    scored = [(score(query, *text(candidate)), i) for i, candidate in enumerate(candidates)]
    scored = [(s, i) for s, i in scored if s >= MIN_SCORE]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [candidates[i] for _, i in scored]
