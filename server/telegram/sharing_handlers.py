"""Joining a shared list from Telegram: `/start join_<code>` (the invite's t.me link) shows
what the invite is to (the list, its owner, the role) with Join / Cancel; Join makes the user
a member, and the list is in /lists from then on. The rules are the sharing service's."""

from __future__ import annotations

import contextlib
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, filters

from server.services.common.errors import Conflict, NotFound
from server.services.registry import Services
from server.services.sharing.service import CODE_MAX_LENGTH
from server.telegram.i18n import N_, Lang, language, tr
from server.telegram.sender import profile_of
from server.telegram.types import BotApp

JOIN_PREFIX = "join_"
# Join: "sj:<code>", Cancel: "sx". Codes are URL-safe base64 (what t.me's start allows).
JOIN_BUTTON = re.compile(r"^s(?:j:([A-Za-z0-9_-]{1,60})|x)$")
ROLE_NAMES = {"editor": N_("an editor"), "viewer": N_("a viewer (read only)")}


def gone_text(lang: Lang) -> str:
    return tr(
        lang,
        "This invitation does not work: it has expired, was already used or was revoked. "
        "Ask the list's owner for a new link.",
    )


class JoinCommands:
    def __init__(self, services: Services) -> None:
        self._users = services.users
        self._lists = services.lists
        self._sharing = services.sharing

    def add_to(self, application: BotApp) -> None:
        """Before the account commands' /start (which would greet instead) and the task
        handlers' catch-all button handler."""
        application.add_handler(
            CommandHandler(
                "start", self.start_join, filters=filters.Regex(rf"^/start(@\w+)? {JOIN_PREFIX}")
            )
        )
        application.add_handler(CallbackQueryHandler(self.button, pattern=JOIN_BUTTON))

    async def _user_lang(self, update: Update) -> tuple[str, Lang] | None:
        profile = profile_of(update)
        if profile is None:
            return None
        user, _ = await self._users.ensure_telegram_user(profile)
        assert user.id is not None
        await self._lists.ensure_builtins(user.id, just_read=True)
        return str(user.id), language(user.language, profile.language_code)

    async def start_join(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        who = await self._user_lang(update)
        if message is None or who is None or not context.args:
            return
        _, lang = who
        code = context.args[0][len(JOIN_PREFIX) :]
        if len(code) > min(CODE_MAX_LENGTH, 60):
            await message.reply_text(gone_text(lang))
            return
        try:
            invite = await self._sharing.preview(code)
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
                    InlineKeyboardButton(tr(lang, "Join"), callback_data=f"sj:{code}"),
                    InlineKeyboardButton(tr(lang, "Cancel"), callback_data="sx"),
                ]
            ]
        )
        await message.reply_text(text, reply_markup=keyboard)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        who = await self._user_lang(update)
        if query is None or who is None:
            return
        user_id, lang = who
        match = JOIN_BUTTON.match(query.data or "")
        assert match is not None  # the handler's pattern
        code = match.group(1)
        if code is None:
            text = tr(lang, "Not joined. The link stays valid until it expires.")
        else:
            try:
                joined = await self._sharing.accept(user_id, code)
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
