"""Account messages the services ask the bot to send (AccountMessenger), in the user's
language."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from server.telegram.i18n import language, ntr

log = logging.getLogger(__name__)


class TelegramAccountMessenger:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_reset_code(
        self, telegram_id: int, language_code: str | None, code: str, minutes: int
    ) -> None:
        lang = language(language_code)
        text = ntr(
            lang,
            "Your password reset code: <code>{code}</code>\n"
            "It works once, for {n} minute. If you did not ask for it, ignore this message: "
            "your password stays as it is.",
            "Your password reset code: <code>{code}</code>\n"
            "It works once, for {n} minutes. If you did not ask for it, ignore this message: "
            "your password stays as it is.",
            minutes,
            code=code,
        )
        try:
            await self._bot.send_message(telegram_id, text, parse_mode=ParseMode.HTML)
        except TelegramError as exc:  # blocked the bot, never started it, Telegram down
            log.warning("could not send a reset code over Telegram: %s", type(exc).__name__)
            raise
