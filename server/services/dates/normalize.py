"""The text the date grammar reads: lower case, `ё` as `е`, number words as digits ("пару" →
2, "twenty three" → 23, "двадцатого" → "20-го"), weekday and month abbreviations and common
misspellings as the full word ("thrusday", "пятницк", "tmrw"), with a map from every
character back to the span of the original text it came from, so that the title is cut from
what the user typed.

Misspellings are matched with rapidfuzz against the small vocabulary of day and month names
only (never against ordinary words), for words of six letters or more that start with the
same letter: measured on the corpus this fixes "thrusday", "wednsday", "tommorow", "пятницк"
and touches no other word of it. A few real words that are one letter away from a day name
("завтрак", breakfast) are listed so they stay as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from server.services.dates.grammar import MONTHS, WEEKDAY, WEEKDAYS_PLURAL

CARDINALS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "couple": 2, "pair": 2, "few": 3,
    "один": 1, "одну": 1, "одна": 1, "одного": 1, "два": 2, "две": 2, "двух": 2, "три": 3,
    "трех": 3, "четыре": 4, "четырех": 4, "пять": 5, "пяти": 5, "шесть": 6, "шести": 6,
    "семь": 7, "семи": 7, "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9, "десять": 10,
    "десяти": 10, "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14,
    "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18,
    "девятнадцать": 19, "двадцать": 20,
    "двадцати": 20, "тридцать": 30, "тридцати": 30, "сорок": 40, "пятьдесят": 50,
    "пару": 2, "пара": 2, "пары": 2, "парочку": 2,
}  # fmt: skip
TENS = {20, 30, 40, 50}
EN_ORDINALS: dict[str, str] = {
    "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
    "sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
    "eleventh": "11th", "twelfth": "12th", "thirteenth": "13th", "fourteenth": "14th",
    "fifteenth": "15th", "sixteenth": "16th", "seventeenth": "17th", "eighteenth": "18th",
    "nineteenth": "19th", "twentieth": "20th", "thirtieth": "30th",
}  # fmt: skip
# Russian ordinal stems; the ending says the case ("первого апреля" → "1-го апреля").
RU_ORDINAL_STEMS: dict[str, int] = {
    "перв": 1, "втор": 2, "трет": 3, "четверт": 4, "пят": 5, "шест": 6, "седьм": 7,
    "восьм": 8, "девят": 9, "десят": 10, "одиннадцат": 11, "двенадцат": 12,
    "тринадцат": 13, "четырнадцат": 14, "пятнадцат": 15, "шестнадцат": 16,
    "семнадцат": 17, "восемнадцат": 18, "девятнадцат": 19, "двадцат": 20, "тридцат": 30,
}  # fmt: skip
RU_ORDINAL_ENDINGS: dict[str, str] = {
    "ого": "го", "его": "го", "ое": "е", "ее": "е", "ье": "е", "ую": "ю", "ью": "ю",
    "ый": "й", "ий": "й", "ой": "й", "ая": "я", "ья": "я", "ым": "м", "ом": "м",
}  # fmt: skip
_RU_ORDINAL = re.compile(
    "("
    + "|".join(sorted(RU_ORDINAL_STEMS, key=len, reverse=True))
    + ")("
    + "|".join(sorted(RU_ORDINAL_ENDINGS, key=len, reverse=True))
    + ")"
)

# Abbreviations that are only read as a day when they look like one: followed by "." or
# ",", or the whole text, or after a word that asks for a day ("every sat", "в пт").
DAY_ABBREVIATIONS: dict[str, str] = {
    "mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday",
    "thu": "thursday", "thur": "thursday", "thurs": "thursday", "fri": "friday",
    "sat": "saturday", "sun": "sunday",
    "пн": "понедельник", "вт": "вторник", "ср": "среду", "чт": "четверг", "пт": "пятницу",
    "сб": "субботу", "вс": "воскресенье",
}  # fmt: skip
DAY_CUES = frozenset(
    [
        "every",
        "each",
        "on",
        "next",
        "this",
        "by",
        "until",
        "till",
        "last",
        "first",
        "from",
        "starting",
        "в",
        "во",
        "по",
        "каждый",
        "каждую",
        "каждое",
        "до",
        "с",
        "со",
        "and",
        "и",
    ]
)
ALWAYS: dict[str, str] = {
    "tmrw": "tomorrow", "tmr": "tomorrow", "tmrow": "tomorrow", "tomorrows": "tomorrow",
    "2moro": "tomorrow", "tonite": "tonight", "oclock": "o'clock",
}  # fmt: skip
VOCABULARY = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mondays",
    "tuesdays",
    "wednesdays",
    "thursdays",
    "fridays",
    "saturdays",
    "sundays",
    "tomorrow",
    "tonight",
    "january",
    "february",
    "march",
    "april",
    "august",
    "september",
    "october",
    "november",
    "december",
    "понедельник",
    "вторник",
    "среда",
    "среду",
    "среды",
    "четверг",
    "пятница",
    "пятницу",
    "пятницы",
    "суббота",
    "субботу",
    "субботы",
    "воскресенье",
    "воскресенья",
    "понедельникам",
    "вторникам",
    "средам",
    "четвергам",
    "пятницам",
    "субботам",
    "воскресеньям",
    "завтра",
    "послезавтра",
    "сегодня",
    "января",
    "февраля",
    "марта",
    "апреля",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
KNOWN = frozenset(VOCABULARY) | frozenset(
    [
        "завтрак",
        "завтрака",
        "завтраку",
        "завтраком",
        "завтраке",
        "четверть",
        "четверти",
        "четвертью",
        "сегодняшний",
        "mondayish",
        "thursdays",
    ]
)
FUZZY_CUTOFF = 85.0
# Words the grammar already reads (every case of a day or month name): never "corrected".
_EXACT = re.compile("(?:" + WEEKDAY + "|" + WEEKDAYS_PLURAL + "|" + "|".join(MONTHS) + ")")
_TOKEN = re.compile(r"\d+|[^\W\d_]+|\s+|.", re.S)


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    starts: tuple[int, ...]  # per character of `text`: where its source starts in the input
    ends: tuple[int, ...]  # ... and where it ends

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The input's span that `text[start:end]` came from."""
        return self.starts[start], self.ends[max(start, end - 1)]


def _fuzzy(word: str) -> str | None:
    if len(word) < 6 or word in KNOWN or not word.isalpha() or _EXACT.fullmatch(word):
        return None
    found = process.extractOne(word, VOCABULARY, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
    if found is None or found[0][0] != word[0]:
        return None
    return str(found[0])


def _ru_ordinal(word: str) -> str | None:
    m = _RU_ORDINAL.fullmatch(word)
    if m is None:
        return None
    return f"{RU_ORDINAL_STEMS[m[1]]}-{RU_ORDINAL_ENDINGS[m[2]]}"


def normalize(text: str) -> Normalized:
    tokens = [(m.start(), m.end(), m[0]) for m in _TOKEN.finditer(text)]
    words = [t for t in tokens if not t[2].isspace()]
    out: list[tuple[int, int, str, bool]] = []  # start, end, text, replaced
    skip_until = -1
    for i, (start, end, raw) in enumerate(tokens):
        if start < skip_until:
            continue
        word = raw.lower().replace("ё", "е")
        replacement: str | None = None
        if word in ALWAYS:
            replacement = ALWAYS[word]
        elif word in CARDINALS:
            value = CARDINALS[word]
            replacement = str(value)
            # "twenty three", "twenty-three", "двадцать пять": one number
            nxt = _next_word(tokens, i)
            if value in TENS and nxt is not None:
                j, n_word = nxt
                n_low = n_word.lower()
                unit = CARDINALS.get(n_low)
                ordinal = _ru_ordinal(n_low) or EN_ORDINALS.get(n_low)
                if unit is not None and unit < 10:
                    replacement, skip_until = str(value + unit), tokens[j][1]
                    end = tokens[j][1]
                elif (
                    ordinal is not None
                    and ordinal[0].isdigit()
                    and len(ordinal.split("-")[0].rstrip("stndrh")) == 1
                ):
                    digits = re.match(r"\d+", ordinal)
                    assert digits is not None
                    replacement = str(value + int(digits[0])) + ordinal[len(digits[0]) :]
                    skip_until, end = tokens[j][1], tokens[j][1]
        elif word in EN_ORDINALS:
            replacement = EN_ORDINALS[word]
        elif (ordinal := _ru_ordinal(word)) is not None:
            replacement = ordinal
        elif word in DAY_ABBREVIATIONS and _looks_like_day(tokens, words, i, word):
            replacement = DAY_ABBREVIATIONS[word]
            if i + 1 < len(tokens) and tokens[i + 1][2] == ".":  # "wed.": the dot is the word's
                skip_until = end = tokens[i + 1][1]
        elif (fixed := _fuzzy(word)) is not None:
            replacement = fixed
        if replacement is None:
            out.append((start, end, word, False))
        else:
            out.append((start, end, replacement, True))
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end, piece, replaced in out:
        for k, c in enumerate(piece):
            chars.append(c)
            if replaced or len(piece) != end - start:
                starts.append(start)
                ends.append(end)
            else:
                starts.append(start + k)
                ends.append(start + k + 1)
    return Normalized("".join(chars), tuple(starts), tuple(ends))


def _next_word(tokens: list[tuple[int, int, str]], i: int) -> tuple[int, str] | None:
    """The word after token i when only a space or a hyphen separates them."""
    j = i + 1
    if (j < len(tokens) and tokens[j][2] in ("-",)) or (j < len(tokens) and tokens[j][2].isspace()):
        j += 1
    if j < len(tokens) and tokens[j][2].isalpha():
        return j, tokens[j][2]
    return None


def _looks_like_day(
    tokens: list[tuple[int, int, str]], words: list[tuple[int, int, str]], i: int, word: str
) -> bool:
    if len(words) == 1 or (len(words) == 2 and words[1][2] == "."):
        return True
    after = tokens[i + 1][2] if i + 1 < len(tokens) else ""
    if after in (".", ","):
        return True
    k = i + 1
    while k < len(tokens) and tokens[k][2].isspace():
        k += 1
    nxt_word = tokens[k][2].lower() if k < len(tokens) else ""
    if k < len(tokens) and tokens[k][2].isdigit():
        # "пн 9:00", "sat 10am": a day before a time. In English only before a clock time
        # ("the sun 5 times" is no Sunday).
        nxt = tokens[k + 1][2].lower() if k + 1 < len(tokens) else ""
        if not word.isascii() or nxt in (":", "am", "pm", "a", "p"):
            return True
    k = i - 1
    while k >= 0 and tokens[k][2].isspace():
        k -= 1
    before = tokens[k][2].lower() if k >= 0 else ""
    if before in DAY_CUES or before in (",", "st", "nd", "rd", "th", "other", "last"):
        return True
    # "mon wed fri": next to another day's name
    return before in DAY_ABBREVIATIONS or nxt_word in DAY_ABBREVIATIONS
