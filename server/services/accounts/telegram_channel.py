"""What the account services need of the running bot, without knowing Telegram: the bot's
username (for `t.me/<bot>?start=…` links) and a way to send an account message to a user.
The Telegram adapter connects it once the bot runs (server/telegram/bot.py)."""

from __future__ import annotations

from typing import Protocol


class AccountMessenger(Protocol):
    async def send_reset_code(
        self, telegram_id: int, language: str | None, code: str, minutes: int
    ) -> None:
        """Send a password-reset code to the user's Telegram chat, in their language
        (`language`: the user's choice or Telegram's language_code)."""
        ...


class TelegramChannel:
    def __init__(self, configured: bool, username: str | None = None) -> None:
        self.configured = configured  # a bot token is set: links and codes are possible
        self.username = username  # TELEGRAM_BOT_USERNAME, or getMe's answer at start-up
        self.messenger: AccountMessenger | None = None

    def connect(self, username: str | None, messenger: AccountMessenger) -> None:
        self.username = self.username or username
        self.messenger = messenger

    def disconnect(self) -> None:
        self.messenger = None
