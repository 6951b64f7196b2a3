"""Joining a shared list from Telegram: `/start join_<code>` (the invite's t.me link) shows
what the invite is to (the list, its owner, the role) with Join / Cancel; Join makes the user
a member, and the list is in /lists from then on. The rules are the sharing service's."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from server.services.common.errors import Conflict, NotFound
from server.services.sharing.service import CODE_MAX_LENGTH
from server.telegram import callbacks as cb
from server.telegram.callbacks import JoinPress
from server.telegram.context import BotContext
from server.telegram.i18n import N_, Lang, tr
from server.telegram.types import BotApp

JOIN_PREFIX = "join_"
ROLE_NAMES = {"editor": N_("an editor"), "viewer": N_("a viewer (read only)")}


def gone_text(lang: Lang) -> str:
    return tr(
        lang,
        "This invitation does not work: it has expired, was already used or was revoked. "
        "Ask the list's owner for a new link.",
    )


class JoinCommands:
    def add_to(self, application: BotApp) -> None:
        """Before the account commands' /start (which would greet instead)."""
        application.add_handler(
            CommandHandler(
                "start", self.start_join, filters=filters.Regex(rf"^/start(@\w+)? {JOIN_PREFIX}")
            )
        )
        application.add_handler(CallbackQueryHandler(self.button, pattern=cb.claims(JoinPress)))

    async def _user_lang(self, context: BotContext) -> tuple[str, Lang] | None:
        user = await context.user()
        if user is None:
            return None
        assert user.id is not None
        await context.services.lists.ensure_builtins(user.id, just_read=True)
        return str(user.id), context.lang

    async def start_join(self, update: Update, context: BotContext) -> None:
        message = update.effective_message
        who = await self._user_lang(context)
        if message is None or who is None or not context.args:
            return
        _, lang = who
        code = context.args[0][len(JOIN_PREFIX) :]
        if len(code) > min(CODE_MAX_LENGTH, 60):
            await message.reply_text(gone_text(lang))
            return
        try:
            invite = await context.services.sharing.preview(code)
        except NotFound:
            await message.reply_text(gone_text(lang))
            return
        text = tr(
            lang,
            "{owner} invites you to the shared list “{list}” as {role}. Join it?",
            owner=invite.owner_name,
            list=invite.list_name,
            role=tr(lang, ROLE_NAMES[invite.role]),
        )
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(tr(lang, "Join"), callback_data=cb.data(JoinPress(code))),
                    InlineKeyboardButton(
                        tr(lang, "Cancel"), callback_data=cb.data(JoinPress(None))
                    ),
                ]
            ]
        )
        await message.reply_text(text, reply_markup=keyboard)

    async def button(self, update: Update, context: BotContext) -> None:
        query = update.callback_query
        who = await self._user_lang(context)
        if query is None or who is None:
            return
        user_id, lang = who
        press = cb.parse(query.data)
        assert isinstance(press, JoinPress)  # the handler's pattern
        code = press.code
        if code is None:
            text = tr(lang, "Not joined. The link stays valid until it expires.")
        else:
            try:
                joined = await context.services.sharing.accept(user_id, code)
                text = tr(
                    lang,
                    "You joined “{list}”. It is in /lists now, beside your own lists.",
                    list=joined.name,
                )
            except NotFound:
                text = gone_text(lang)
            except Conflict:
                text = tr(
                    lang,
                    "You can't join: the list is full, or you are in too many shared lists.",
                )
        # The same press twice: the message already says so (Telegram: "not modified").
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(text)
        await query.answer()
