"""What every handler receives: python-telegram-bot's context, typed for this bot.

`BotData` is the application's shared state (PTB's `bot_data`, a plain dict by default): the
services and the few settings the handlers need, set once when the application is built.
`BotContext` is the per-update context (PTB makes one per update and hands the same one to
every handler of that update): `context.services`, and `await context.user()` — the sender
as the services know them, looked up (or made, like /start) once per update however many
handlers ask. Handlers take nothing at construction; they read all this from the context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Self
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from models import User
from server.services.registry import Services
from server.services.tasks.capture import Capture
from server.telegram.i18n import Lang, language
from server.telegram.sender import profile_of, telegram_language
from server.telegram.types import BotApp

# The intake's "this update is handled" step, for a handler that ends an update early.
Finish = Callable[[Update, "BotContext"], Awaitable[None]]


class BotData:
    """The application's shared state. PTB makes it with no arguments; `build_application`
    fills it in before any update arrives."""

    def __init__(self) -> None:
        self._services: Services | None = None
        self.mini_app_url: str | None = None  # None without PUBLIC_URL
        self.public_url: str | None = None  # PUBLIC_URL without a trailing slash
        self.finish: Finish | None = None  # set by the webhook's intake

    @property
    def services(self) -> Services:
        assert self._services is not None, "build_application sets the services first"
        return self._services

    @services.setter
    def services(self, services: Services) -> None:
        self._services = services


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    def __init__(
        self, application: BotApp, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application, chat_id, user_id)
        self._update: Update | None = None
        self._user: User | None = None
        self._read: tuple[tuple[str, str], Capture] | None = None

    @classmethod
    def from_update(cls, update: object, application: BotApp) -> Self:
        context = super().from_update(update, application)
        if isinstance(update, Update):
            context._update = update
        return context

    @property
    def services(self) -> Services:
        return self.bot_data.services

    async def user(self) -> User | None:
        """The sender, made on first sight (like /start); None for channels, bots and updates
        without a sender. Looked up once per update."""
        if self._user is None and self._update is not None:
            profile = profile_of(self._update)
            if profile is not None:
                self._user, _ = await self.services.users.ensure_telegram_user(profile)
        return self._user

    def remember(self, user: User) -> None:
        """The sender's user as a handler changed it (a new time zone, say): later handlers
        of this update see the change."""
        self._user = user

    @property
    def lang(self) -> Lang:
        """The sender's language: their setting once `user()` has found them, else what their
        Telegram client says."""
        if self._update is None:
            return "en"
        if self._user is None:
            return telegram_language(self._update)
        sender = self._update.effective_user
        return language(self._user.language, sender.language_code if sender else None)

    def read(self, text: str, zone: ZoneInfo) -> Capture:
        """The text read in the zone, once per update: the typed-answer handler's reading is
        the confirmation card's too (services.drafts.capture, the one capture path)."""
        key = (text, zone.key)
        if self._read is None or self._read[0] != key:
            self._read = (key, self.services.drafts.capture(text, zone))
        return self._read[1]


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=BotData)


def bot_data(application: BotApp) -> BotData:
    data = application.bot_data
    assert isinstance(data, BotData), "the application is built with CONTEXT_TYPES"
    return data
