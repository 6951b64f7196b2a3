"""Inline keyboards of the task views. Their buttons' callback data is written and read by
`callbacks.py` (the one codec of every button); the names below are kept for the callers."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from models import Task
from models.task_list import BuiltinKey
from server.services.tasks.views import TaskView
from server.telegram import callbacks as cb
from server.telegram.callbacks import (
    CARD_OPS,
    CardAction,
    DoneFromList,
    Example,
    GroupDone,
    GroupPage,
    Noop,
    ShowList,
    View,
)
from server.telegram.i18n import Lang, tr

__all__ = [
    "CARD_OPS", "CardAction", "DoneFromList", "Example", "GroupDone", "GroupPage", "Noop",
    "ShowList", "View",
]  # fmt: skip

PAGE_SIZE = 10
BUTTON_TITLE_LENGTH = 40
MOVES: dict[str, BuiltinKey] = {"t": "today", "l": "later", "s": "someday", "i": "inbox"}
OP_OF_KEY = {key: op for op, key in MOVES.items()}
MOVE_ORDER: tuple[BuiltinKey, ...] = ("today", "later", "someday", "inbox")
NOOP = cb.data(Noop())
EXAMPLE = cb.data(Example())

Action = CardAction | ShowList | DoneFromList | Noop | Example


def parse(data: str | None) -> Action | None:
    """The task views' button this data stands for; None for any other data."""
    button = cb.parse(data)
    return button if isinstance(button, cb.TASK_VIEWS) else None


def card_data(op: str, task_id: str, back: View | None = None) -> str:
    return cb.data(CardAction(op, task_id, back))


def view_data(view: View) -> str:
    return cb.data(ShowList(view))


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
                callback_data=cb.data(DoneFromList(view, str(task.id))),
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
                callback_data=cb.data(GroupDone(page, str(task.id))),
            )
        ]
        for task in tasks
    ]
    pages = max(1, -(-total // PAGE_SIZE))
    if pages > 1:
        rows.append(
            [
                InlineKeyboardButton(
                    "◀" if page > 0 else "·",
                    callback_data=cb.data(GroupPage(page - 1)) if page > 0 else NOOP,
                ),
                InlineKeyboardButton(f"{page + 1}/{pages}", callback_data=NOOP),
                InlineKeyboardButton(
                    "▶" if page + 1 < pages else "·",
                    callback_data=cb.data(GroupPage(page + 1)) if page + 1 < pages else NOOP,
                ),
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None
