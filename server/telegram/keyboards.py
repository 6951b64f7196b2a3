"""Inline keyboards of the task views, and the callback data their buttons carry.

Callback data (Telegram allows 64 bytes; ids are 24 hex characters):

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from models import Task
from models.task_list import BUILTIN_KEYS, BuiltinKey
from server.services.tasks.views import TaskView
from server.telegram.i18n import Lang, tr

PAGE_SIZE = 10
BUTTON_TITLE_LENGTH = 40
MOVES: dict[str, BuiltinKey] = {"t": "today", "l": "later", "s": "someday", "i": "inbox"}
OP_OF_KEY = {key: op for op, key in MOVES.items()}
MOVE_ORDER: tuple[BuiltinKey, ...] = ("today", "later", "someday", "inbox")
CARD_OPS = frozenset("tlsidoxk")
NOOP = "n"
EXAMPLE = "ex"

_ID = r"[0-9a-f]{24}"
_REF = rf"(?:{'|'.join(BUILTIN_KEYS)}|{_ID})"
_PAGE = r"\d{1,4}"
_CARD = re.compile(rf"c:([{''.join(sorted(CARD_OPS))}]):({_ID})(?::({_REF}):({_PAGE}))?")
_VIEW = re.compile(rf"v:({_REF}):({_PAGE})")
_VIEW_DONE = re.compile(rf"vd:({_REF}):({_PAGE}):({_ID})")
GROUP_PATTERN = re.compile(r"^g[vd]:")  # the group list's buttons (their handler's pattern)
_GROUP_VIEW = re.compile(rf"gv:({_PAGE})")
_GROUP_DONE = re.compile(rf"gd:({_PAGE}):({_ID})")


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


Action = CardAction | ShowList | DoneFromList | Noop | Example


@dataclass(frozen=True, slots=True)
class GroupPage:
    page: int


@dataclass(frozen=True, slots=True)
class GroupDone:
    page: int
    task_id: str


def parse_group(data: str | None) -> GroupPage | GroupDone | None:
    """A group list's button; None for anything else."""
    if data is None:
        return None
    if match := _GROUP_VIEW.fullmatch(data):
        return GroupPage(int(match[1]))
    if match := _GROUP_DONE.fullmatch(data):
        return GroupDone(int(match[1]), match[2])
    return None


def parse(data: str | None) -> Action | None:
    """The action a button stands for; None for data this bot never made."""
    if data is None:
        return None
    if data == NOOP:
        return Noop()
    if data == EXAMPLE:
        return Example()
    if match := _CARD.fullmatch(data):
        op, task_id, ref, page = match.groups()
        back = View(ref, int(page)) if ref is not None else None
        return CardAction(op, task_id, back)
    if match := _VIEW.fullmatch(data):
        return ShowList(View(match[1], int(match[2])))
    if match := _VIEW_DONE.fullmatch(data):
        return DoneFromList(View(match[1], int(match[2])), match[3])
    return None


def card_data(op: str, task_id: str, back: View | None = None) -> str:
    suffix = f":{back.ref}:{back.page}" if back is not None else ""
    return f"c:{op}:{task_id}{suffix}"


def view_data(view: View) -> str:
    return f"v:{view.ref}:{view.page}"


def short(title: str, length: int) -> str:
    return title if len(title) <= length else title[: length - 1].rstrip() + "…"


def move_label(lang: Lang, key: BuiltinKey) -> str:
    labels = {
        "inbox": tr(lang, "📥 Inbox"),
        "today": tr(lang, "☀️ Today"),
        "later": tr(lang, "🕓 Later"),
        "someday": tr(lang, "💭 Someday"),
    }
    return labels[key]


def card_keyboard(
    task: Task, current: BuiltinKey | None, lang: Lang, back: View | None = None
) -> InlineKeyboardMarkup:
    """Buttons under one task: move to the other built-ins, done, delete (reopen when done)."""
    task_id = str(task.id)
    rows: list[list[InlineKeyboardButton]] = []
    if task.done:
        rows.append(
            [
                InlineKeyboardButton(
                    tr(lang, "↩️ Reopen"), callback_data=card_data("o", task_id, back)
                ),
                InlineKeyboardButton(
                    tr(lang, "🗑 Delete"), callback_data=card_data("x", task_id, back)
                ),
            ]
        )
    else:
        targets = [key for key in MOVE_ORDER if key != current][:3]
        rows.append(
            [
                InlineKeyboardButton(
                    move_label(lang, key), callback_data=card_data(OP_OF_KEY[key], task_id, back)
                )
                for key in targets
            ]
        )
        rows.append(
            [
                InlineKeyboardButton(
                    tr(lang, "✅ Done"), callback_data=card_data("d", task_id, back)
                ),
                InlineKeyboardButton(
                    tr(lang, "🗑 Delete"), callback_data=card_data("x", task_id, back)
                ),
            ]
        )
    if back is not None:
        rows.append([InlineKeyboardButton(tr(lang, "« Back"), callback_data=view_data(back))])
    return InlineKeyboardMarkup(rows)


def back_keyboard(lang: Lang, back: View | None) -> InlineKeyboardMarkup | None:
    if back is None:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(tr(lang, "« Back"), callback_data=view_data(back))]]
    )


def list_keyboard(
    tasks: list[Task] | list[TaskView], view: View, total: int, lang: Lang
) -> InlineKeyboardMarkup | None:
    """Per task: ✅ (done) and ↪ (its card: move, delete); ◀ ▶ when there is more than a page."""
    rows = [
        [
            InlineKeyboardButton(
                "✅ " + short(task.title, BUTTON_TITLE_LENGTH),
                callback_data=f"vd:{view.ref}:{view.page}:{task.id}",
            ),
            InlineKeyboardButton("↪", callback_data=card_data("k", str(task.id), view)),
        ]
        for task in tasks
    ]
    pages = max(1, -(-total // PAGE_SIZE))
    if pages > 1:
        previous = view_data(View(view.ref, view.page - 1)) if view.page > 0 else NOOP
        following = view_data(View(view.ref, view.page + 1)) if view.page + 1 < pages else NOOP
        rows.append(
            [
                InlineKeyboardButton("◀" if view.page > 0 else "·", callback_data=previous),
                InlineKeyboardButton(f"{view.page + 1}/{pages}", callback_data=NOOP),
                InlineKeyboardButton(
                    "▶" if view.page + 1 < pages else "·", callback_data=following
                ),
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


def tasks_keyboard(tasks: list[Task] | list[TaskView]) -> InlineKeyboardMarkup | None:
    """Search results: each task opens its card."""
    rows = [
        [
            InlineKeyboardButton(
                "↪ " + short(task.title, BUTTON_TITLE_LENGTH),
                callback_data=card_data("k", str(task.id)),
            )
        ]
        for task in tasks
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def lists_keyboard(entries: list[tuple[str, str, int]]) -> InlineKeyboardMarkup:
    """/lists: (ref, name, open count) per list; each opens its first page."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{short(name, BUTTON_TITLE_LENGTH)} · {count}",
                    callback_data=view_data(View(ref)),
                )
            ]
            for ref, name, count in entries
        ]
    )


def group_list_keyboard(
    tasks: list[TaskView], page: int, total: int
) -> InlineKeyboardMarkup | None:
    """A group's list: ✅ per task (done, for whoever presses), ◀ ▶ over pages. No card
    (moving to one's own Inbox would take the task out of the group) and no Delete (one
    press by anyone in a group is too easy a loss): both are in the private chat and app."""
    rows = [
        [
            InlineKeyboardButton(
                "✅ " + short(task.title, BUTTON_TITLE_LENGTH),
                callback_data=f"gd:{page}:{task.id}",
            )
        ]
        for task in tasks
    ]
    pages = max(1, -(-total // PAGE_SIZE))
    if pages > 1:
        rows.append(
            [
                InlineKeyboardButton(
                    "◀" if page > 0 else "·", callback_data=f"gv:{page - 1}" if page > 0 else NOOP
                ),
                InlineKeyboardButton(f"{page + 1}/{pages}", callback_data=NOOP),
                InlineKeyboardButton(
                    "▶" if page + 1 < pages else "·",
                    callback_data=f"gv:{page + 1}" if page + 1 < pages else NOOP,
                ),
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None
