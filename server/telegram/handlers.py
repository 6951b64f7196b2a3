"""Command handlers: each turns the update into a service call and the result into a reply."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from server.services.tasks import Tasks
from server.services.users import TelegramProfile, Users
from server.telegram.i18n import Lang, language, tr
from server.telegram.task_handlers import assistant_intro
from server.telegram.types import BotApp

log = logging.getLogger(__name__)

MINI_APP_URL = "mini_app_url"  # bot_data key: the Mini App's address, or None without PUBLIC_URL


def profile_of(update: Update) -> TelegramProfile | None:
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


class AccountCommands:
    """/start (the user and their four lists), /help, /me."""

    def __init__(self, users: Users, tasks: Tasks, mini_app_url: str | None) -> None:
        self._users = users
        self._tasks = tasks
        self._mini_app_url = mini_app_url  # None without PUBLIC_URL

    def add_to(self, application: BotApp) -> None:
        application.add_handler(CommandHandler("start", self.start))
        application.add_handler(CommandHandler("help", self.help))
        application.add_handler(CommandHandler("me", self.me))
        application.add_error_handler(on_error)

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        profile = profile_of(update)
        if profile is None or update.effective_message is None:
            return
        user, created = await self._users.ensure_telegram_user(profile)
        assert user.id is not None
        await self._tasks.lists.ensure_builtins(user.id)  # Inbox, Today, Later, Someday
        lang = language(user.language, profile.language_code)
        name = user.first_name or user.telegram_username or str(profile.telegram_id)
        if created:
            greeting = tr(
                lang, "Hello, {name}! You are registered. Send /help to see what I can do.",
                name=name,
            )  # fmt: skip
        else:
            greeting = tr(lang, "Welcome back, {name}! Send /help to see what I can do.", name=name)
        await update.effective_message.reply_text(greeting + "\n\n" + assistant_intro(lang))

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is None:
            return
        lang = telegram_language(update)
        reply = tr(
            lang,
            "I am your assistant. Send me any text and it becomes a task in Inbox.\n"
            "/inbox, /today, /later, /someday: a list, with buttons to move and finish tasks\n"
            "/lists: all your lists\n"
            "/find <words>: search your tasks (typos are fine)\n"
            "/new <title>: add a task\n"
            "/start: register and say hello\n"
            "/me: your account as I know it\n"
            "/help: this message",
        )
        if self._mini_app_url is not None:
            reply += "\n\n" + tr(
                lang,
                "Your lists are also in the app: tap the “Tasks” button next to the message "
                "field, or open {url} in a browser.",
                url=self._mini_app_url,
            )
        await update.effective_message.reply_text(reply)

    async def me(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        profile = profile_of(update)
        if profile is None or update.effective_message is None:
            return
        user = await self._users.find_by_telegram_id(profile.telegram_id)
        if user is None:
            await update.effective_message.reply_text(
                tr(telegram_language(update), "I don't know you yet. Send /start first.")
            )
            return
        lang = language(user.language, profile.language_code)
        await update.effective_message.reply_text(
            tr(
                lang,
                "Your account\n"
                "ID: {id}\n"
                "Telegram ID: {telegram_id}\n"
                "Username: {username}\n"
                "Password sign-in: {password}\n"
                "Since: {created}",
                id=user.id,
                telegram_id=user.telegram_id,
                username=user.username or tr(lang, "none"),
                password=tr(lang, "yes") if user.has_password else tr(lang, "no"),
                created=user.created_at.strftime("%Y-%m-%d"),
            )
        )


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the update id and apologise; never let a handler error reach the app."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("handler failed for update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        lang = telegram_language(update)
        try:
            await context.bot.send_message(
                update.effective_chat.id,
                tr(lang, "Sorry, something went wrong. Please try again later."),
            )
        except Exception:
            log.warning("could not send the apology for update %s", update_id, exc_info=True)
