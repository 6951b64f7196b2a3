"""Every button's callback data, made and read in one place.

A button is a small typed value (a dataclass below); `data(button)` writes it and
`parse(text)` reads it back (`parse(data(b)) == b`). Every CallbackQueryHandler's pattern is
`claims(KindA, KindB, …)`: it takes exactly the data that parses as one of those kinds, so no
handler depends on being registered before another, and data no kind claims goes to the one
`Unclaimed` handler (a stale or foreign button: a polite answer).

The wire format is the one buttons already in users' chats carry, and stays readable (old
messages keep working); Telegram allows 64 bytes, ids are 24 hex characters:

    c:<op>:<task>                 an action on a task card: t l s i (move to today, later,
                                  someday, inbox), d (done), o (reopen), x (delete), k (show)
    c:<op>:<task>:<list>:<page>   the same on a card opened from a list page (Back returns)
    v:<list>:<page>               show a page of a list (<list>: built-in key or list id)
    vd:<list>:<page>:<task>       done, from a list page (the page is shown again)
    n                             does nothing (the page counter)
    ex                            try the example reminder (/start, /help)
    gv:<page>                     a group chat: a page of the group's list (the chat says
                                  which list, so the data names none)
    gd:<page>:<task>              a group chat: done, from the group's list
    r:<action>:<task>[:<occ>]     a reminder's message: done, stop, 10m, 1h, tomorrow; a
                                  repeating reminder's Done carries the occurrence it was sent
                                  for (epoch seconds), so it completes that one
    rd:<action>:<draft>           a confirmation card: save, change, cancel, o<n> (option n)
    tz:<zone>                     the time-zone picker: this IANA zone
    tz?                           the time-zone picker: "type a city or offset"
    lk:y:<code> / lk:n:<code>     linking accounts: Confirm / Cancel (a code ≤ 59 characters)
    sj:<code> / sx                a shared list's invitation: Join / Cancel
    nt:on / nt:off                /notify's switch
    cal:new / cal:off             /calendar: a new feed link / turn the feed off
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from models.task_list import BUILTIN_KEYS

MAX_BYTES = 64  # Telegram's limit on callback data

MOVE_OPS = "tlsi"
CARD_OPS = frozenset("tlsidoxk")

_ID = r"[0-9a-f]{24}"
_REF = rf"(?:{'|'.join(BUILTIN_KEYS)}|{_ID})"
_PAGE = r"\d{1,4}"


# --- The buttons -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class View:
    """A page of a list, as a button can name it."""

    ref: str  # a built-in key or a list id
    page: int = 0


@dataclass(frozen=True, slots=True)
class CardAction:
    op: str
    task_id: str
    back: View | None = None


@dataclass(frozen=True, slots=True)
class ShowList:
    view: View


@dataclass(frozen=True, slots=True)
class DoneFromList:
    view: View
    task_id: str


@dataclass(frozen=True, slots=True)
class Noop:
    pass


@dataclass(frozen=True, slots=True)
class Example:
    pass


@dataclass(frozen=True, slots=True)
class GroupPage:
    page: int


@dataclass(frozen=True, slots=True)
class GroupDone:
    page: int
    task_id: str


ReminderAction = Literal["done", "stop", "10m", "1h", "tomorrow"]


@dataclass(frozen=True, slots=True)
class ReminderPress:
    action: ReminderAction
    task_id: str
    occurrence: int | None = None  # epoch seconds; a repeating reminder's Done only


CardVerb = Literal["save", "change", "cancel", "option"]


@dataclass(frozen=True, slots=True)
class CardPress:
    """A button of a reminder's confirmation card (a stored draft)."""

    action: CardVerb
    draft_id: str
    option: int | None = None  # which reading, for "option" (0 to 9)


@dataclass(frozen=True, slots=True)
class PickZone:
    zone: str


@dataclass(frozen=True, slots=True)
class TypeZone:
    pass


@dataclass(frozen=True, slots=True)
class LinkPress:
    confirm: bool
    code: str


@dataclass(frozen=True, slots=True)
class JoinPress:
    code: str | None  # None: Cancel


@dataclass(frozen=True, slots=True)
class NotifySwitch:
    on: bool


@dataclass(frozen=True, slots=True)
class FeedPress:
    action: Literal["new", "off"]


Button = (
    CardAction | ShowList | DoneFromList | Noop | Example | GroupPage | GroupDone
    | ReminderPress | CardPress | PickZone | TypeZone | LinkPress | JoinPress | NotifySwitch
    | FeedPress
)  # fmt: skip
TASK_VIEWS = (CardAction, ShowList, DoneFromList, Noop, Example)


# --- Reading ---------------------------------------------------------------------------------

_Reader = Callable[["re.Match[str]"], Button | None]
_GRAMMAR: list[tuple[re.Pattern[str], _Reader]] = []


def _reads(regex: str) -> Callable[[_Reader], _Reader]:
    def register(reader: _Reader) -> _Reader:
        _GRAMMAR.append((re.compile(regex, re.DOTALL), reader))
        return reader

    return register


@_reads(rf"c:([{''.join(sorted(CARD_OPS))}]):({_ID})(?::({_REF}):({_PAGE}))?")
def _card(m: re.Match[str]) -> Button:
    back = View(m[3], int(m[4])) if m[3] is not None else None
    return CardAction(m[1], m[2], back)


@_reads(rf"v:({_REF}):({_PAGE})")
def _view(m: re.Match[str]) -> Button:
    return ShowList(View(m[1], int(m[2])))


@_reads(rf"vd:({_REF}):({_PAGE}):({_ID})")
def _view_done(m: re.Match[str]) -> Button:
    return DoneFromList(View(m[1], int(m[2])), m[3])


@_reads("n")
def _noop(m: re.Match[str]) -> Button:
    return Noop()


@_reads("ex")
def _example(m: re.Match[str]) -> Button:
    return Example()


@_reads(rf"gv:({_PAGE})")
def _group_page(m: re.Match[str]) -> Button:
    return GroupPage(int(m[1]))


@_reads(rf"gd:({_PAGE}):({_ID})")
def _group_done(m: re.Match[str]) -> Button:
    return GroupDone(int(m[1]), m[2])


@_reads(rf"r:(done|stop|10m|1h|tomorrow):({_ID})(?::(\d{{1,11}}))?")
def _reminder(m: re.Match[str]) -> Button:
    action: ReminderAction = m[1]  # type: ignore[assignment]  # the regex's alternatives
    return ReminderPress(action, m[2], int(m[3]) if m[3] is not None else None)


@_reads(rf"rd:(save|change|cancel|o(\d)):({_ID})")
def _card_press(m: re.Match[str]) -> Button:
    if m[2] is not None:
        return CardPress("option", m[3], int(m[2]))
    action: CardVerb = m[1]  # type: ignore[assignment]  # the regex's alternatives
    return CardPress(action, m[3])


@_reads(r"tz:([A-Za-z0-9_+\-/]{1,60})")
def _zone(m: re.Match[str]) -> Button:
    return PickZone(m[1])


@_reads(r"tz\?")
def _type_zone(m: re.Match[str]) -> Button:
    return TypeZone()


@_reads(r"lk:([yn]):(.+)")
def _link(m: re.Match[str]) -> Button:
    return LinkPress(m[1] == "y", m[2])


@_reads(r"s(?:j:([A-Za-z0-9_-]{1,60})|x)")
def _join(m: re.Match[str]) -> Button:
    return JoinPress(m[1])


@_reads(r"nt:(on|off)")
def _notify(m: re.Match[str]) -> Button:
    return NotifySwitch(m[1] == "on")


@_reads(r"cal:(new|off)")
def _feed(m: re.Match[str]) -> Button:
    return FeedPress("new" if m[1] == "new" else "off")


def parse(data: object) -> Button | None:
    """The button this data stands for; None for data this bot never made (or no longer
    reads)."""
    if not isinstance(data, str) or len(data.encode()) > MAX_BYTES:
        return None
    for regex, reader in _GRAMMAR:
        if match := regex.fullmatch(data):
            return reader(match)
    return None


# --- Writing ---------------------------------------------------------------------------------


def data(button: Button) -> str:
    """The callback data of `button` (what `parse` reads back as an equal button)."""
    text = _write(button)
    assert len(text.encode()) <= MAX_BYTES, text  # every field above is bounded
    return text


def _write(button: Button) -> str:
    match button:
        case CardAction(op, task_id, back):
            return f"c:{op}:{task_id}" + (f":{back.ref}:{back.page}" if back else "")
        case ShowList(view):
            return f"v:{view.ref}:{view.page}"
        case DoneFromList(view, task_id):
            return f"vd:{view.ref}:{view.page}:{task_id}"
        case Noop():
            return "n"
        case Example():
            return "ex"
        case GroupPage(page):
            return f"gv:{page}"
        case GroupDone(page, task_id):
            return f"gd:{page}:{task_id}"
        case ReminderPress(action, task_id, occurrence):
            return f"r:{action}:{task_id}" + (f":{occurrence}" if occurrence is not None else "")
        case CardPress(action, draft_id, option):
            verb = f"o{option}" if action == "option" else action
            return f"rd:{verb}:{draft_id}"
        case PickZone(zone):
            return f"tz:{zone}"
        case TypeZone():
            return "tz?"
        case LinkPress(confirm, code):
            return f"lk:{'y' if confirm else 'n'}:{code}"
        case JoinPress(code):
            return f"sj:{code}" if code is not None else "sx"
        case NotifySwitch(on):
            return f"nt:{'on' if on else 'off'}"
        case FeedPress(action):
            return f"cal:{action}"
    raise TypeError(button)  # pragma: no cover — the match is exhaustive (mypy checks)


# --- Handler patterns ------------------------------------------------------------------------


class Claim:
    """A CallbackQueryHandler's pattern: the data that parses as one of `kinds`."""

    def __init__(self, *kinds: type[Button]) -> None:
        self.kinds = kinds

    def __call__(self, data: object) -> bool:
        return isinstance(parse(data), self.kinds)

    def __repr__(self) -> str:
        return f"claims({', '.join(kind.__name__ for kind in self.kinds)})"


def claims(*kinds: type[Button]) -> Claim:
    return Claim(*kinds)


class Unclaimed:
    """The pattern of the one handler of data no kind claims: a stale button of an older
    version, or data the bot never made. It does not depend on where it is registered."""

    def __call__(self, data: object) -> bool:
        return parse(data) is None

    def __repr__(self) -> str:
        return "unclaimed"


UNCLAIMED = Unclaimed()
