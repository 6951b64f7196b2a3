"""Command handlers: each turns the update into a service call and the result into a reply."""

from __future__ import annotations

import logging
from typing import Any

from pymongo.errors import PyMongoError
from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, TypeHandler

from server.services.updates import mark_handled
from server.services.users import TelegramProfile, ensure_telegram_user, find_by_telegram_id
from server.telegram.texts import Lang, language, text

log = logging.getLogger(__name__)

MINI_APP_URL = "mini_app_url"  # bot_data key: the Mini App's address, or None without PUBLIC_URL


def _profile(update: Update) -> TelegramProfile | None:
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


def _lang(update: Update) -> Lang:
    return language(update.effective_user.language_code if update.effective_user else None)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    profile = _profile(update)
    if profile is None or update.effective_message is None:
        return
    user, created = await ensure_telegram_user(profile)
    lang = language(profile.language_code)
    name = user.first_name or user.telegram_username or str(profile.telegram_id)
    await update.effective_message.reply_text(
        text(lang, "welcome" if created else "welcome_back", name=name)
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is None:
        return
    lang = _lang(update)
    reply = text(lang, "help")
    if url := context.bot_data.get(MINI_APP_URL):
        reply += "\n\n" + text(lang, "help_app", url=url)
    await update.effective_message.reply_text(reply)


async def me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    profile = _profile(update)
    if profile is None or update.effective_message is None:
        return
    lang = language(profile.language_code)
    user = await find_by_telegram_id(profile.telegram_id)
    if user is None:
        await update.effective_message.reply_text(text(lang, "not_registered"))
        return
    await update.effective_message.reply_text(
        text(
            lang,
            "me",
            id=user.id,
            telegram_id=user.telegram_id,
            username=user.username or text(lang, "none"),
            password=text(lang, "yes" if user.password_hash else "no"),
            created=user.created_at.strftime("%Y-%m-%d"),
        )
    )


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the update id and apologise; never let a handler error reach the app."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("handler failed for update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        lang = _lang(update)
        try:
            await context.bot.send_message(update.effective_chat.id, text(lang, "error"))
        except Exception:
            log.warning("could not send the apology for update %s", update_id, exc_info=True)


IN_FLIGHT = "in_flight_updates"


def in_flight(bot_data: dict[str, Any]) -> set[int]:
    """Ids of the recorded updates this process is handling: their claims are kept alive."""
    return bot_data.setdefault(IN_FLIGHT, set())


async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Last of all handlers: the recorded update needs no replay (even if a handler failed:
    an update that breaks a handler must not be retried forever)."""
    in_flight(context.bot_data).discard(update.update_id)
    try:
        await mark_handled(update.update_id)
    except PyMongoError:
        log.warning("could not mark update %s handled; it may be handled again", update.update_id)


def add_handlers(application: Application, recorded_updates: bool) -> None:
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("me", me))
    if recorded_updates:
        application.add_handler(TypeHandler(Update, done), group=1)
    application.add_error_handler(on_error)
