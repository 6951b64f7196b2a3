"""The parser's corpus (phrases.txt): loading it and judging the parser's reading of each row.
Shared by the corpus test (test_corpus.py) and the report (report.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from server.services.dates.parse import Parsed, parse

DATA = Path(__file__).with_name("phrases.txt")

# The templates recurrent's tests wrap each of their expressions in, with the title left.
RECURRENT_TEMPLATES: list[tuple[str, str]] = [
    ("im available {}", "im available"),
    ("{} would work best for me", "would work best for me"),
    ("remind me to move car {} would work best for me", "move car would work best for me"),
]

# rutimeparser's tests put each phrase in these messages (and upper case), with the title left.
RUTIMEPARSER_TEMPLATES: list[tuple[str, str]] = [
    ("Я приеду {}", "Я приеду"),
    ("Вызови такси {}. Мне нужно будет съездить в ленту",
     "Вызови такси. Мне нужно будет съездить в ленту"),
    ("Напомни мне {} купить билеты", "купить билеты"),
    ("Что у меня запланировано {}?", "Что у меня запланировано"),
    ("Напомни {} купить 10 яиц и 2 литра молока.", "купить 10 яиц и 2 литра молока"),
]  # fmt: skip

OUTCOMES = ("right", "asked", "wrong", "asked-wrong", "missed", "crash")


@dataclass(frozen=True, slots=True)
class Row:
    lang: str
    category: str
    phrase: str
    expected: str
    title: str | None  # None: the title is not checked
    source: str
    now: datetime  # aware
    zone: ZoneInfo
    holdout: bool = False  # added after the parser was built: measured before any change for it

    @property
    def kind(self) -> str:
        return self.expected.split()[0]


def load(path: Path = DATA) -> list[Row]:
    rows: list[Row] = []
    section: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            section = dict(re.findall(r"(\w+)=(\S+)", line))
            continue
        cells = [c.strip() for c in re.split(r"\s\|(?=\s|$)", raw)]
        category, phrase, expected = cells[0], cells[1], cells[2]
        title = cells[3] if len(cells) > 3 else None
        zone = ZoneInfo(section["zone"])
        now = datetime.fromisoformat(section["now"]).replace(tzinfo=zone)
        if expected == "N" and title is None:
            title = phrase
        held = section.get("holdout") == "yes"
        row = Row(
            section["lang"], category, phrase, expected, title, section["src"], now, zone, held
        )
        rows.append(row)
        templates = {"recurrent": RECURRENT_TEMPLATES, "rutimeparser": RUTIMEPARSER_TEMPLATES}
        if section.get("embed") == "rutimeparser":
            rows.append(Row(row.lang, category, phrase.upper(), expected, None,
                            row.source + " (upper case)", now, zone, held))  # fmt: skip
        if expected != "N" and section.get("embed") in templates:
            for template, left in templates[section["embed"]]:
                rows.append(
                    Row(row.lang, "message", template.format(phrase), expected, left,
                        row.source + " (embedded)", now, zone, held)
                )  # fmt: skip
    return rows


# ------------------------------------------------------------------------------- judging


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _parts(rule: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in rule.split(";") if "=" in p)


def _set(value: str) -> set[str]:
    return {v.lstrip("+") for v in value.split(",")}


def _rule_matches(row: Row, rule: str | None, when: datetime | None) -> bool:
    if rule is None:
        return False
    tokens = row.expected.split()[1:]
    want = _parts(tokens[0])
    extra = dict(t.split("=", 1) for t in tokens[1:])
    got = _parts(rule)
    for key, value in want.items():
        if key in ("BYDAY", "BYMONTHDAY"):
            if _set(got.get(key, "")) != _set(value):
                return False
        elif got.get(key, "1" if key == "INTERVAL" else None) != value:
            return False
    for key in ("COUNT", "BYSETPOS"):
        if key not in want and key in got:
            return False
    if "INTERVAL" not in want and got.get("INTERVAL", "1") != "1":
        return False
    if ("UNTIL" in got) != ("until" in extra):
        return False
    if "until" in extra:
        until = rrulestr(rule, dtstart=row.now.astimezone(UTC))._until  # type: ignore[union-attr]
        if until is None or until.astimezone(row.zone).date() != _day(extra["until"]):
            return False
    return "first" not in extra or (
        when is not None and when.astimezone(row.zone).date() == _day(extra["first"])
    )


def matches(row: Row, when: datetime | None, repeat: str | None) -> bool:
    """Whether one reading (an instant, and the repeat it stands for) is the expected one."""
    kind = row.kind
    if kind == "R":
        return _rule_matches(row, repeat, when)
    if when is None or repeat is not None:
        return False
    local = when.astimezone(row.zone)
    if kind == "D":
        return local.date() == _day(row.expected.split()[1])
    if kind == "T":
        _, day, hm = row.expected.split()
        return local.date() == _day(day) and local.strftime("%H:%M") == hm
    return False


def judge(row: Row, parsed: Parsed) -> str:
    understood = parsed.when is not None or parsed.clarify is not None
    if row.kind == "N":
        return "wrong" if understood else "right"
    if parsed.clarify is not None:
        options = parsed.clarify.options
        repeats = parsed.clarify.repeats or (None,) * len(options)
        if not options:
            return "missed"
        if any(matches(row, o, r) for o, r in zip(options, repeats, strict=False)):
            return "asked"
        return "asked-wrong"
    if parsed.when is None:
        return "missed"
    return "right" if matches(row, parsed.when, parsed.repeat) else "wrong"


def _clean(text: str) -> str:
    text = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s+", " ", text))
    return text.strip(" .,;:!?").casefold()


def title_right(row: Row, parsed: Parsed) -> bool | None:
    if row.title is None:
        return None
    return _clean(parsed.title) == _clean(row.title)


@dataclass(frozen=True, slots=True)
class Result:
    row: Row
    outcome: str
    title_ok: bool | None
    seconds: float
    parsed: Parsed | None


def run(
    rows: list[Row], parser: Callable[[str, datetime, ZoneInfo], Parsed] = parse
) -> Iterator[Result]:
    for row in rows:
        started = time.perf_counter()
        try:
            parsed = parser(row.phrase, row.now, row.zone)
        except Exception:  # counted, never hidden: a crash is an outcome of its own
            yield Result(row, "crash", False if row.title is not None else None,
                         time.perf_counter() - started, None)  # fmt: skip
            continue
        elapsed = time.perf_counter() - started
        yield Result(row, judge(row, parsed), title_right(row, parsed), elapsed, parsed)
