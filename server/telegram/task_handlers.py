"""The assistant in the chat: quick capture, list views, search, and the buttons under
them. Thin: every decision about tasks is the tasks service's; this turns updates into its
calls and its answers into messages."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from models import Task, TaskList, User
from models.task_list import BuiltinKey
from server.services.common.errors import Forbidden, InvalidInput, ListNotFound, TaskNotFound
from server.services.dates.humanize import Humanizer, capital
from server.services.tasks.capture import capture as read_text
from server.services.tasks.lists import display_name
from server.services.tasks.service import NOTES_MAX_LENGTH, TaskDraft, Tasks, title_and_notes
from server.services.tasks.views import TaskView
from server.telegram import callbacks as cb
from server.telegram import keyboards as kb
from server.telegram.assistant import AssistantBot
from server.telegram.context import BotContext
from server.telegram.i18n import Lang, ntr, tr
from server.telegram.types import BotApp

log = logging.getLogger(__name__)

LINE_TITLE_LENGTH = 200  # a list page of 10 stays well within Telegram's 4,096 characters


# The reminder side (cards, the zone question), for texts that name a time: it keeps no
# state of its own, so one instance serves every update.
_CARDS = AssistantBot()


def assistant_intro(lang: Lang) -> str:
    """What the bot does, with examples to copy: /start and /help say it."""
    return tr(
        lang,
        "I keep your tasks and remind you of them. Just write to me:\n"
        "• “buy milk” — a task in Inbox\n"
        "• “buy milk tomorrow at 9” — a task with a reminder\n"
        "• “every weekday at 8 standup” — a repeating reminder\n"
        "\n"
        "Four lists: Inbox, Today, Later and Someday. Today fills itself: what is due or "
        "reminds today, plus what you put there.\n"
        "/today, /inbox, /later, /someday — a list; /lists — all of them\n"
        "/find milk — search (typos are fine); /new buy milk tomorrow 9 — add a task\n"
        "/timezone Tokyo — your time zone; /quiet 22:00-08:00 — quiet hours; "
        "/digest 08:30 — a morning list of Today",
    )


def example_text(lang: Lang) -> str:
    return tr(lang, "buy milk tomorrow at 9")


def example_keyboard(lang: Lang) -> InlineKeyboardMarkup:
    """A button that tries the headline feature: a reminder, from an example text."""
    label = tr(lang, "Try it: “{example}”", example=example_text(lang))
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=kb.EXAMPLE)]])


# --- Who is asking ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asker:
    user: User
    lang: Lang
    texts: Humanizer  # times and repeats for this user: their language, zone and now

    @property
    def user_id(self) -> Any:
        return self.user.id


async def _asker(update: Update, context: BotContext) -> Asker | None:
    """The user behind the update (created on first sight, like /start)."""
    user = await context.user()
    if user is None:
        return None
    lang = context.lang
    return Asker(
        user, lang, Humanizer.for_user(lang, user.timezone, context.services.tasks.clock())
    )


# --- What a plain text means ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaptureTask:
    title: str
    notes: str


Intent = CaptureTask  # more to come: a recogniser of "remind me …" goes before capture


def understand(message: Message, lang: Lang) -> Intent | None:
    """The one place that decides what a plain (non-command) message means. Today every text
    is a task for Inbox; a forwarded one keeps where it came from in the notes. A step that
    recognises other intents (reminders) belongs here, before the capture."""
    text = message.text or message.caption or ""
    if not text.strip():
        return None
    try:
        title, notes = title_and_notes(text)
    except InvalidInput:
        return None
    if message.forward_origin is not None:
        origin = _origin(message.forward_origin, lang)
        notes = f"{origin}\n\n{notes}" if notes else origin
    return CaptureTask(title, notes[:NOTES_MAX_LENGTH])


def _origin(origin: MessageOrigin, lang: Lang) -> str:
    when = origin.date.strftime("%Y-%m-%d %H:%M UTC")
    link = ""
    if isinstance(origin, MessageOriginUser):
        user = origin.sender_user
        who = user.full_name + (f" (@{user.username})" if user.username else "")
    elif isinstance(origin, MessageOriginHiddenUser):
        who = origin.sender_user_name
    elif isinstance(origin, MessageOriginChat):
        who = origin.sender_chat.title or origin.sender_chat.full_name or ""
    elif isinstance(origin, MessageOriginChannel):
        who = origin.chat.title or ""
        if origin.chat.username:
            link = f"\nhttps://t.me/{origin.chat.username}/{origin.message_id}"
    else:
        who = "?"
    return tr(lang, "Forwarded from {who}, {when}", who=who, when=when) + link


# --- Texts of the views ----------------------------------------------------------------------


async def _lists_by_id(tasks: Tasks, user_id: Any) -> dict[str, TaskList]:
    return {str(doc.id): doc for doc in await tasks.lists.all(user_id)}


def _schedule(task: Task | TaskView, texts: Humanizer) -> list[str]:
    """ "🕒 tomorrow 9 AM", "🔁 every weekday at 8 AM": what a task's time and repeat are."""
    parts = []
    if (when := texts.task_when(task.remind_at, task.due)) is not None:
        parts.append("🕒 " + when)
    if (repeat := texts.repeat(task.repeat)) is not None:
        parts.append("🔁 " + repeat)
    return parts


def _card_text(status: str, task: Task, texts: Humanizer) -> str:
    lines = [status, "", task.title]
    lines += [part[:2] + capital(part[2:]) for part in _schedule(task, texts)]
    return "\n".join(lines)


def _list_text(
    name: str, tasks: list[TaskView], total: int, view: kb.View, asker: Asker, today: bool,
    shared: dict[str, str] | None = None,
) -> str:  # fmt: skip
    lang = asker.lang
    if total == 0:
        if today:
            return tr(lang, "Nothing for today. Tasks with a time today show up here by "
                            "themselves; /inbox has the rest.")  # fmt: skip
        return tr(lang, "{list}: no open tasks.", list=name)
    head = name + ": " + ntr(lang, "{n} open task", "{n} open tasks", total)
    pages = -(-total // kb.PAGE_SIZE)
    if pages > 1:
        head += "\n" + tr(lang, "Page {page} of {pages}", page=view.page + 1, pages=pages)
    first = view.page * kb.PAGE_SIZE
    lines = []
    for i, task in enumerate(tasks):
        line = f"{first + i + 1}. {kb.short(task.title, LINE_TITLE_LENGTH)}"
        schedule = _schedule(task, asker.texts)
        if shared and task.list_id in shared:  # Today mixes lists: say a shared one's name
            schedule.append("👥 " + shared[task.list_id])
        lines.append(line + ("\n    " + "  ".join(schedule) if schedule else ""))
    return head + "\n\n" + "\n".join(lines)


async def _render_list(
    tasks: Tasks, asker: Asker, view: kb.View
) -> tuple[str, InlineKeyboardMarkup | None, kb.View]:
    task_list, items, total = await tasks.window(
        asker.user_id, view.ref, view.page * kb.PAGE_SIZE, kb.PAGE_SIZE
    )
    if not items and view.page > 0:  # the page emptied (tasks done elsewhere): show the last
        last = max(0, -(-total // kb.PAGE_SIZE) - 1)
        view = kb.View(view.ref, last)
        task_list, items, total = await tasks.window(
            asker.user_id, view.ref, last * kb.PAGE_SIZE, kb.PAGE_SIZE
        )
    name = display_name(task_list, asker.lang)
    today = task_list.key == "today"
    shared = await tasks.lists.shared_names(asker.user_id) if today and items else None
    text = _list_text(name, items, total, view, asker, today, shared)
    return text, kb.list_keyboard(items, view, total, asker.lang), view


# --- Commands and messages ---------------------------------------------------------------------


async def capture(update: Update, context: BotContext) -> None:
    """Any plain text (or a forwarded message): see what it means, usually a task for Inbox."""
    message = update.effective_message
    asker = await _asker(update, context)
    if message is None or asker is None:
        return
    intent = understand(message, asker.lang)
    if intent is None:
        await message.reply_text(tr(asker.lang, "I can only keep text as a task."))
        return
    await _add(context, message, asker, TaskDraft(title=intent.title, notes=intent.notes))


async def new_task(update: Update, context: BotContext) -> None:
    """/new <task>, with a time too: "/new buy milk tomorrow 9" saves it with a reminder at
    once (the command says "add"); an unclear time, or no time zone yet, asks first."""
    message = update.effective_message
    asker = await _asker(update, context)
    if message is None or asker is None:
        return
    text = " ".join(context.args or [])[:NOTES_MAX_LENGTH]
    if not text.strip():
        await message.reply_text(
            tr(asker.lang, "Send /new and the task, e.g. /new buy milk tomorrow at 9")
        )
        return
    read = read_text(text, asker.texts.now, asker.texts.zone)
    if read.has_time:
        if asker.user.timezone is None or read.reading is None or not read.parsed.title:
            await _CARDS.offer(asker.user, asker.lang, text, message, context, read)
            return
        await _add(context, message, asker, read.draft())
        return
    title, notes = title_and_notes(text)
    await _add(context, message, asker, TaskDraft(title=title, notes=notes))


async def _add(context: BotContext, message: Message, asker: Asker, draft: TaskDraft) -> None:
    tasks = context.services.tasks
    task = await tasks.create(asker.user_id, draft)
    inbox = await tasks.lists.builtin(asker.user_id, "inbox")
    status = tr(asker.lang, "Added to {list}.", list=display_name(inbox, asker.lang))
    if task.remind_at is not None:
        status += " " + tr(asker.lang, "I will remind you {when}.",
                           when=asker.texts.when(task.remind_at))  # fmt: skip
    await message.reply_text(
        _card_text(status, task, asker.texts),
        reply_markup=kb.card_keyboard(task, "inbox", asker.lang),
    )


def _show_list(key: BuiltinKey) -> Any:
    async def show(update: Update, context: BotContext) -> None:
        message = update.effective_message
        asker = await _asker(update, context)
        if message is None or asker is None:
            return
        text, markup, _ = await _render_list(context.services.tasks, asker, kb.View(key))
        await message.reply_text(text, reply_markup=markup)

    show.__name__ = f"show_{key}"
    return show


async def all_lists(update: Update, context: BotContext) -> None:
    message = update.effective_message
    asker = await _asker(update, context)
    if message is None or asker is None:
        return
    views = await context.services.tasks.lists.overview(asker.user_id, asker.lang)
    # 👥 marks a list other people see too (shared by the user, or with them).
    lines = [
        f"{'👥 ' if view.members_count > 1 else ''}{view.name}: {view.open_count}" for view in views
    ]
    entries = [(view.key or view.id, view.name, view.open_count) for view in views]
    await message.reply_text(
        tr(asker.lang, "Your lists (open tasks):") + "\n\n" + "\n".join(lines),
        reply_markup=kb.lists_keyboard(entries),
    )


async def find(update: Update, context: BotContext) -> None:
    message = update.effective_message
    asker = await _asker(update, context)
    if message is None or asker is None:
        return
    words = " ".join(context.args or []).strip()[:200]
    if not words:
        await message.reply_text(tr(asker.lang, "Send /find and some words, e.g. /find milk"))
        return
    found = await context.services.tasks.find(asker.user_id, words, limit=kb.PAGE_SIZE)
    if not found:
        await message.reply_text(tr(asker.lang, "Nothing found for “{words}”.", words=words))
        return
    head = ntr(asker.lang, "{n} task found for “{words}”:", "{n} tasks found for “{words}”:",
               len(found), words=words)  # fmt: skip
    lines = []
    for i, task in enumerate(found):
        schedule = _schedule(task, asker.texts)
        lines.append(f"{i + 1}. {kb.short(task.title, LINE_TITLE_LENGTH)}"
                     + ("\n    " + "  ".join(schedule) if schedule else ""))  # fmt: skip
    await message.reply_text(
        head + "\n\n" + "\n".join(lines), reply_markup=kb.tasks_keyboard(found)
    )


# --- Buttons ---------------------------------------------------------------------------------


async def on_button(update: Update, context: BotContext) -> None:
    """Every button press is answered (answerCallbackQuery), whatever happens, and the
    message it belongs to is edited in place. A press on a task that is gone, or a second
    press, gets a short notice."""
    query = update.callback_query
    if query is None:
        return
    notice: str | None = None
    try:
        notice = await _press(query, context, update)
    finally:
        try:
            await query.answer(notice)
        except TelegramError as exc:  # too late (> 15 s) or already answered: nothing to do
            log.info("callback query %s not answered: %s", query.id, exc)


async def _press(query: CallbackQuery, context: BotContext, update: Update) -> str | None:
    action = kb.parse(query.data)
    asker = await _asker(update, context)
    if asker is None or action is None:  # None: not the handler's pattern
        return None
    lang = asker.lang
    if isinstance(action, kb.Noop):
        return None
    if isinstance(action, kb.Example):
        if isinstance(query.message, Message):
            await _CARDS.offer(asker.user, lang, example_text(lang), query.message, context)
        return None
    tasks = context.services.tasks
    try:
        if isinstance(action, kb.ShowList):
            text, markup, _ = await _render_list(tasks, asker, action.view)
            await _edit(query, text, markup)
            return None
        if isinstance(action, kb.DoneFromList):
            notice = await _complete(tasks, asker, action.task_id)
            text, markup, _ = await _render_list(tasks, asker, action.view)
            await _edit(query, text, markup)
            return notice
        return await _card(tasks, asker, action, query)
    except ListNotFound:
        await _edit(query, tr(lang, "This list no longer exists."), None)
        return tr(lang, "This list no longer exists.")
    except Forbidden:  # a viewer of a shared list pressed Done, Move or Delete
        return tr(lang, "You can only view this shared list.")


async def _complete(tasks: Tasks, asker: Asker, task_id: str) -> str:
    try:
        task = await tasks.get(asker.user_id, task_id)
        if task.done:
            return tr(asker.lang, "Already done.")
        await tasks.complete(asker.user_id, task_id)
    except TaskNotFound:
        return tr(asker.lang, "This task no longer exists.")
    return tr(asker.lang, "Done ✓")


async def _card(
    tasks: Tasks, asker: Asker, action: kb.CardAction, query: CallbackQuery
) -> str | None:
    lang, back = asker.lang, action.back
    gone = tr(lang, "This task no longer exists.")
    try:
        task = await tasks.get(asker.user_id, action.task_id)
    except TaskNotFound:
        await _edit(query, gone, kb.back_keyboard(lang, back))
        return gone
    lists = await _lists_by_id(tasks, asker.user_id)
    current = lists.get(task.list_id)
    current_name = display_name(current, lang) if current else "?"
    notice: str | None = None
    try:
        if action.op == "x":
            await tasks.delete(asker.user_id, action.task_id)
            await _edit(query, _card_text(tr(lang, "Deleted."), task, asker.texts),
                        kb.back_keyboard(lang, back))  # fmt: skip
            return tr(lang, "Deleted.")
        if action.op in kb.MOVES:
            key = kb.MOVES[action.op]
            if current is not None and current.key == key:
                notice = tr(lang, "Already in {list}.", list=current_name)
            else:
                task = await tasks.move(asker.user_id, action.task_id, key)
                current = next(doc for doc in lists.values() if doc.key == key)
                current_name = display_name(current, lang)
                notice = tr(lang, "Moved to {list}.", list=current_name)
            status = notice
        elif action.op == "d":
            if task.done:
                notice = tr(lang, "Already done.")
            else:
                task = await tasks.complete(asker.user_id, action.task_id)
                notice = tr(lang, "Done ✓")
                if not task.done:  # a repeat: this occurrence is done, the task moved on
                    at = asker.texts.task_when(task.remind_at, task.due) or ""
                    notice += " · " + tr(lang, "next: {time}", time=at)
            status = notice if not task.done else tr(lang, "Done ✓")
        elif action.op == "o":
            if not task.done:
                notice = tr(lang, "Already open.")
            else:
                task = await tasks.reopen(asker.user_id, action.task_id)
                notice = tr(lang, "Reopened.")
            status = tr(lang, "Open, in {list}.", list=current_name)
        else:  # "k": just show it
            status = tr(lang, "Done ✓") if task.done else tr(lang, "In {list}.", list=current_name)
    except TaskNotFound:  # deleted between reading and changing it
        await _edit(query, gone, kb.back_keyboard(lang, back))
        return gone
    now_in = current.key if current is not None else None
    await _edit(
        query, _card_text(status, task, asker.texts), kb.card_keyboard(task, now_in, lang, back)
    )
    return notice


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        # "message is not modified" (the same press twice) or a message too old to edit.
        log.info("callback query %s: message not edited: %s", query.id, exc)


async def unknown_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    asker = await _asker(update, context)
    if message is None or asker is None:
        return
    command = (message.text or "").split(maxsplit=1)[0].split("@", 1)[0][:40]
    await message.reply_text(
        tr(asker.lang, "I don't know the command {command}. Here is what I can do:",
           command=command) + "\n\n" + assistant_intro(asker.lang),
        reply_markup=example_keyboard(asker.lang),
    )  # fmt: skip


async def not_text(update: Update, context: BotContext) -> None:
    """A sticker, photo, voice message, file…: say what the bot understands instead."""
    message = update.effective_message
    asker = await _asker(update, context)
    if message is None or asker is None:
        return
    if message.voice is not None or message.audio is not None or message.video_note is not None:
        reply = tr(asker.lang, "I can't listen to voice messages yet. Write the task as text, "
                               "e.g. “buy milk tomorrow at 9”.")  # fmt: skip
    elif message.sticker is not None:
        reply = tr(asker.lang, "Nice sticker! I keep tasks, though: write one as text, e.g. "
                               "“buy milk tomorrow at 9”.")  # fmt: skip
    else:
        reply = tr(asker.lang, "I keep only text. Add a caption to the photo or file, or write "
                               "the task as text, e.g. “buy milk tomorrow at 9”.")  # fmt: skip
    await message.reply_text(reply)


async def unknown_button(update: Update, context: BotContext) -> None:
    """A button whose data no handler claims (callbacks.UNCLAIMED): one from an older
    version of the bot, or data it never made. Answered, so the client's spinner stops."""
    query = update.callback_query
    if query is None:
        return
    await context.user()  # the user's own language, as for any other press
    try:
        await query.answer(tr(context.lang, "This button no longer works."))
    except TelegramError as exc:  # too late (> 15 s) or already answered
        log.info("callback query %s not answered: %s", query.id, exc)


class UnknownButtons:
    """Registered last, on purpose (a reader finds it at the end of bot.py); its pattern
    takes only data no other pattern claims, so its place does not change what it takes."""

    def add_to(self, application: BotApp) -> None:
        application.add_handler(CallbackQueryHandler(unknown_button, pattern=cb.UNCLAIMED))


class TaskCommands:
    """The task views: /inbox /today /later /someday /lists /find /new, their buttons, plain
    text as a task; and the replies to a command or a message nothing else took."""

    def add_to(self, application: BotApp) -> None:
        _add_task_handlers(application)


def _add_task_handlers(application: BotApp) -> None:
    for key in ("inbox", "today", "later", "someday"):
        application.add_handler(CommandHandler(key, _show_list(key)))
    application.add_handler(CommandHandler("lists", all_lists))
    application.add_handler(CommandHandler("find", find))
    application.add_handler(CommandHandler("new", new_task))
    application.add_handler(CallbackQueryHandler(on_button, pattern=cb.claims(*cb.TASK_VIEWS)))
    # After the commands: plain text, and forwarded messages (text or a caption).
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & ((filters.TEXT & ~filters.COMMAND) | filters.CAPTION),
            capture,
        )
    )
    # Last: whatever nothing above took. A command no handler knows…
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND,
                                           unknown_command))  # fmt: skip
    # …and messages without text (a photo with a caption was captured above).
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.CAPTION & ~filters.LOCATION
            & (filters.Sticker.ALL | filters.PHOTO | filters.VOICE | filters.AUDIO
               | filters.VIDEO | filters.VIDEO_NOTE | filters.Document.ALL | filters.ANIMATION
               | filters.CONTACT | filters.POLL),
            not_text,
        )
    )  # fmt: skip
