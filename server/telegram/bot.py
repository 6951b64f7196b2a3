"""The python-telegram-bot Application inside our aiohttp app: built, started and stopped
by the app's cleanup context; webhook mode, or polling for local development."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    MenuButtonWebApp,
    Update,
    WebAppInfo,
)
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from config import BotMode, Settings
from server.db.database import Database
from server.errors import StartupError
from server.keys import DATABASE, METRICS, SERVICES, SETTINGS
from server.services.registry import Services
from server.telegram.aiohttp_request import AiohttpRequest
from server.telegram.assistant import AssistantBot
from server.telegram.context import CONTEXT_TYPES, bot_data
from server.telegram.data_handlers import DataCommands
from server.telegram.group_handlers import GroupChats
from server.telegram.handlers import AccountCommands
from server.telegram.i18n import LANGUAGES, tr
from server.telegram.intake import UpdateIntake
from server.telegram.messenger import TelegramAccountMessenger
from server.telegram.notify_handlers import NoticeCommands, NoticeDelivery
from server.telegram.reminders import ReminderButtons, ReminderDelivery
from server.telegram.sharing_handlers import JoinCommands
from server.telegram.task_handlers import TaskCommands, UnknownButtons
from server.telegram.texts import COMMANDS, GROUP_COMMANDS, MENU_BUTTON
from server.telegram.types import BotApp, BotAppBuilder, Handlers

log = logging.getLogger(__name__)

BOT_APP = web.AppKey("telegram_application", Application)
INTAKE = web.AppKey("telegram_intake", UpdateIntake)  # set in webhook mode only
WEBHOOK_SECRET = web.AppKey("telegram_webhook_secret", bytes)  # set in webhook mode only
WEBHOOK_PATH = "/telegram/webhook"
MINI_APP_PATH = "/app/"
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]


def _token(settings: Settings) -> str:
    assert settings.telegram_bot_token is not None
    return settings.telegram_bot_token.get_secret_value()


def make_bot(settings: Settings) -> Bot:
    root = settings.bot_api_root
    return Bot(_token(settings), base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")


def handler_groups() -> list[Handlers]:
    """Every handler group, in the order they are added: within one PTB handler group the
    first handler whose filter matches takes a message, so for commands and texts the order
    matters (and is said here); button presses do not depend on it (callbacks.py)."""
    return [
        GroupChats(),  # first: in a group chat, /list, /add, /help… are the group list's
        JoinCommands(),  # /start join_<code>: before the plain /start
        AccountCommands(),
        # before the task handlers' capture of every plain text: texts that name a time
        ReminderButtons(),
        AssistantBot(),
        DataCommands(),
        NoticeCommands(),
        TaskCommands(),  # then plain text as a task, and the replies to what nothing took
        UnknownButtons(),  # last on purpose: data no other handler's pattern claims
    ]


def build_application(settings: Settings, services: Services) -> BotApp:
    root = settings.bot_api_root
    builder: BotAppBuilder = (
        Application.builder()
        .token(_token(settings))
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .context_types(CONTEXT_TYPES)  # handlers get a BotContext: context.services, .user()
        # Updates are handled concurrently (one slow reply must not delay everyone), but
        # boundedly: a burst then queues in memory, already recorded, and the event loop
        # keeps time for the webhook's acknowledgements (see bench/results.md).
        .concurrent_updates(settings.bot_concurrency)
        .request(AiohttpRequest())  # not httpx: see aiohttp_request.py
    )
    if settings.bot_mode is BotMode.WEBHOOK:
        builder = builder.updater(None)  # the webhook is our route, not PTB's own server
    application = builder.build()
    shared = bot_data(application)
    shared.services = services
    shared.mini_app_url = mini_app_url(settings)
    shared.public_url = str(settings.public_url).rstrip("/") if settings.public_url else None
    for handlers in handler_groups():
        handlers.add_to(application)
    return application


def webhook_url(settings: Settings) -> str:
    return str(settings.public_url).rstrip("/") + WEBHOOK_PATH


async def set_webhook(bot: Bot, settings: Settings) -> None:
    await bot.set_webhook(
        url=webhook_url(settings),
        secret_token=settings.webhook_secret,
        allowed_updates=ALLOWED_UPDATES,
    )


def mini_app_url(settings: Settings) -> str | None:
    """Where the Mini App is served, when the service has a public address."""
    if settings.public_url is None:
        return None
    return str(settings.public_url).rstrip("/") + MINI_APP_PATH


async def set_menu_button(bot: Bot, url: str) -> None:
    """The default menu button of every private chat with the bot opens the Mini App."""
    await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(MENU_BUTTON, WebAppInfo(url)))


async def set_commands(bot: Bot) -> None:
    for lang in LANGUAGES:  # English is the default for every other language
        await bot.set_my_commands(
            [BotCommand(name, tr(lang, description)) for name, description in COMMANDS],
            language_code=None if lang == "en" else lang,
        )
        # Group chats show the group list's commands (docs/bot.md, "In a group chat").
        await bot.set_my_commands(
            [BotCommand(name, tr(lang, description)) for name, description in GROUP_COMMANDS],
            scope=BotCommandScopeAllGroupChats(),
            language_code=None if lang == "en" else lang,
        )


async def _register_with_telegram(application: BotApp, settings: Settings) -> None:
    """setWebhook and setMyCommands. A refusal (flood control, a bad PUBLIC_URL) is logged,
    not fatal: the API keeps serving, and the webhook Telegram already has keeps working."""
    try:
        if settings.bot_mode is BotMode.WEBHOOK:
            await set_webhook(application.bot, settings)
        await set_commands(application.bot)
    except TelegramError as exc:
        log.error(
            "Telegram bot: could not register the webhook or commands (%s); "
            "retry with `python -m server set-webhook`",
            exc,
        )
    url = mini_app_url(settings)
    if url is None:
        return
    try:
        await set_menu_button(application.bot, url)
    except TelegramError as exc:
        # Telegram refuses a non-https URL, for one: the bot and the API work on without it.
        log.error("Telegram bot: could not set the menu button to the Mini App (%s)", exc)


async def _start_polling(application: BotApp) -> None:
    assert application.updater is not None
    await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)


async def _poll_when_ready(application: BotApp, database: Database) -> None:
    await database.wait_ready()
    try:
        await _start_polling(application)
    except TelegramError as exc:
        log.error("Telegram bot: could not start polling (%s)", exc)


async def telegram_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    mode = settings.bot_mode
    if mode is BotMode.OFF:
        log.info("Telegram bot: off (TELEGRAM_BOT_TOKEN is not set); the API runs alone")
        yield
        return
    if mode is BotMode.WEBHOOK:
        app[WEBHOOK_SECRET] = settings.webhook_secret.encode()  # derived once, not per update
    application = build_application(settings, app[SERVICES])
    # the reminders' and the change notices' sending loops, started once the bot is
    reminders, notices = ReminderDelivery(), NoticeDelivery()
    try:
        await application.initialize()
    except InvalidToken:
        # initialize() had opened the connection pool; a bot that failed to initialise is not
        # closed by shutdown(), so close the pool here (else "Unclosed connector" at exit).
        await application.bot.request.shutdown()
        raise StartupError("TELEGRAM_BOT_TOKEN was refused by the Bot API") from None
    except asyncio.CancelledError:  # a signal during start-up: close the pool, then go
        await application.bot.request.shutdown()
        raise
    except NetworkError as exc:
        # The API must not go down with Telegram; the webhook answers 503 meanwhile.
        log.error("Telegram bot: Bot API unreachable at start (%s); running without it", exc)
        try:
            yield
        finally:
            await application.bot.request.shutdown()
        return
    intake: UpdateIntake | None = None
    polling: asyncio.Task[None] | None = None
    try:
        await application.start()
        await _register_with_telegram(application, settings)
        if mode is BotMode.WEBHOOK:
            intake = UpdateIntake(
                app[SERVICES].updates, application, settings.update_retry_after, app[METRICS],
                database_ready=app[DATABASE].wait_ready,
            )  # fmt: skip
            intake.start()
            app[INTAKE] = intake
        elif app[DATABASE].ready:
            await _start_polling(application)
        else:  # polling takes updates Telegram then forgets: only once they can be handled
            log.info("Telegram bot: polling starts when the database answers")
            polling = asyncio.create_task(_poll_when_ready(application, app[DATABASE]))
        app[BOT_APP] = application
        # The account services may now send codes and build t.me links (getMe's username).
        app[SERVICES].telegram.connect(
            application.bot.username, TelegramAccountMessenger(application.bot)
        )
        # the reminder delivery loop, once the database answers
        reminders.start(application, app[DATABASE].wait_ready)
        # shared lists' change notifications, the same way (server/services/sharing/notices.py)
        notices.start(application, app[DATABASE].wait_ready)
        log.info("Telegram bot @%s: %s mode", application.bot.username, mode)
        yield
    finally:
        await reminders.stop()
        await notices.stop()
        if polling is not None:
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
        app[SERVICES].telegram.disconnect()
        if intake is not None:
            await intake.stop()
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
