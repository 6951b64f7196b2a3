"""Who sent an update, as the services know people: a Telegram profile and a language."""

from __future__ import annotations

from telegram import Update

from server.services.accounts.users import TelegramProfile
from server.telegram.i18n import Lang, language


def profile_of(update: Update) -> TelegramProfile | None:
    """The sending person's profile; None for channels, bots and updates without a sender."""
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    return TelegramProfile(
        telegram_id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


def telegram_language(update: Update) -> Lang:
    """The language before we know the user: what their Telegram client says."""
    return language(None, update.effective_user.language_code if update.effective_user else None)
