"""Change notifications of shared lists in Telegram: the /notify switch (with buttons) and
the message a batch of another member's changes becomes ("Olya added «milk» and 9 more to
«Groceries»"). What is recorded, batched and when it is sent is the notices service's
(server/services/sharing/notices.py); this turns a due batch into text and Bot API errors
into what its loop understands, and runs the loop as a background task of the bot."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from server.services.sharing.notices import Change, DueNotice
from server.telegram import callbacks as cb
from server.telegram.background import BackgroundLoop, send_errors
from server.telegram.callbacks import NotifySwitch
from server.telegram.context import BotContext, bot_data
from server.telegram.i18n import Lang, language, ntr, tr
from server.telegram.types import BotApp

log = logging.getLogger(__name__)

ON_WORDS = frozenset({"on", "вкл", "да"})
OFF_WORDS = frozenset({"off", "выкл", "нет"})


def change_line(change: Change, who: str, list_name: str, lang: Lang) -> str:
    """One kind of change as a sentence. Russian says it impersonally ("добавлено"): the
    past tense there has a gender, and Telegram tells us nobody's."""
    values = {"who": who, "title": change.title, "list": list_name}
    more = change.count - 1
    if change.kind == "added":
        if not more:
            return tr(lang, "{who} added «{title}» to «{list}»", **values)
        return ntr(
            lang,
            "{who} added «{title}» and {n} more to «{list}»",
            "{who} added «{title}» and {n} more to «{list}»",
            more,
            **values,
        )
    if change.kind == "done":
        if not more:
            return tr(lang, "{who} completed «{title}» in «{list}»", **values)
        return ntr(
            lang,
            "{who} completed «{title}» and {n} more in «{list}»",
            "{who} completed «{title}» and {n} more in «{list}»",
            more,
            **values,
        )
    if change.kind == "edited":
        if not more:
            return tr(lang, "{who} changed «{title}» in «{list}»", **values)
        return ntr(
            lang,
            "{who} changed «{title}» and {n} more in «{list}»",
            "{who} changed «{title}» and {n} more in «{list}»",
            more,
            **values,
        )
    if change.kind == "deleted":
        if not more:
            return tr(lang, "{who} deleted «{title}» from «{list}»", **values)
        return ntr(
            lang,
            "{who} deleted «{title}» and {n} more from «{list}»",
            "{who} deleted «{title}» and {n} more from «{list}»",
            more,
            **values,
        )
    if not more:  # moved out of the list
        return tr(lang, "{who} moved «{title}» out of «{list}»", **values)
    return ntr(
        lang,
        "{who} moved «{title}» and {n} more out of «{list}»",
        "{who} moved «{title}» and {n} more out of «{list}»",
        more,
        **values,
    )


def notice_text(notice: DueNotice, lang: Lang) -> str:
    """A line per kind of change, in the order added, done, changed, deleted, moved out."""
    return "\n".join(change_line(c, notice.actor, notice.list_name, lang) for c in notice.changes)


class TelegramNoticeSender:
    """Sends a batch's message; Bot API errors become the loop's RetryLater,
    ChatUnreachable or SendFailed (as for reminders)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, notice: DueNotice) -> None:
        lang = language(notice.language, notice.language_code)
        with send_errors():  # a private chat: never "moved"
            await self._bot.send_message(notice.chat_id, notice_text(notice, lang))


def switch_keyboard(on: bool, lang: Lang) -> InlineKeyboardMarkup:
    label = tr(lang, "🔕 Turn off") if on else tr(lang, "🔔 Turn on")
    data = cb.data(NotifySwitch(not on))
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]])


def status_text(on: bool, lang: Lang) -> str:
    if on:
        return tr(
            lang,
            "🔔 Notifications are on: when someone else adds, completes, changes or deletes "
            "tasks in a shared list of yours, I send a message (a burst of changes is one "
            "message, about a minute after the first).",
        )
    return tr(
        lang,
        "🔕 Notifications about changes in shared lists are off. Turn them on to get a "
        "message when someone else changes tasks in a list you share.",
    )


class NoticeCommands:
    """/notify and its buttons."""

    def add_to(self, application: BotApp) -> None:
        application.add_handler(CommandHandler("notify", self.command))
        application.add_handler(CallbackQueryHandler(self.button, pattern=cb.claims(NotifySwitch)))

    async def _switch(self, context: BotContext, on: bool | None) -> tuple[bool, Lang] | None:
        """Set the switch (None: leave it); its state and the user's language."""
        user = await context.user()
        if user is None:
            return None
        assert user.id is not None
        if on is not None:
            user = await context.services.profiles.update(user.id, notify_changes=on)
            context.remember(user)
        return bool(user.notify_changes), context.lang

    async def command(self, update: Update, context: BotContext) -> None:
        """/notify shows the switch; /notify on | off sets it."""
        message = update.effective_message
        arg = " ".join(context.args or []).strip().lower()
        wanted = True if arg in ON_WORDS else False if arg in OFF_WORDS else None
        found = await self._switch(context, wanted)
        if message is None or found is None:
            return
        on, lang = found
        await message.reply_text(status_text(on, lang), reply_markup=switch_keyboard(on, lang))

    async def button(self, update: Update, context: BotContext) -> None:
        query = update.callback_query
        if query is None:
            return
        press = cb.parse(query.data)
        assert isinstance(press, NotifySwitch)  # the handler's pattern
        found = await self._switch(context, press.on)
        if found is None:
            return
        on, lang = found
        with contextlib.suppress(BadRequest):  # the same press twice: "not modified"
            await query.edit_message_text(
                status_text(on, lang), reply_markup=switch_keyboard(on, lang)
            )
        with contextlib.suppress(TelegramError):
            await query.answer()


class NoticeDelivery:
    """The sending loop of shared lists' change notifications (server/services/sharing/
    notices.py), a background task of the bot."""

    def __init__(self) -> None:
        self._loop = BackgroundLoop("change-notices")

    def start(
        self, application: BotApp, database_ready: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        notices = bot_data(application).services.notices
        sender = TelegramNoticeSender(application.bot)
        self._loop.start(lambda: notices.run(sender), database_ready)

    async def stop(self) -> None:
        await self._loop.stop()
