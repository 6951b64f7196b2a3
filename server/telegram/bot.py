"""The python-telegram-bot Application inside our aiohttp app: built, started and stopped
by the app's cleanup context; webhook mode, or polling for local development."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from pymongo.errors import PyMongoError
from telegram import Bot, BotCommand, MenuButtonWebApp, Update, WebAppInfo
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder

from config import Settings
from server.errors import StartupError
from server.keys import SETTINGS
from server.services.updates import claim_stale, renew_claims
from server.telegram.handlers import MINI_APP_URL, add_handlers, in_flight
from server.telegram.texts import COMMANDS, MENU_BUTTON

log = logging.getLogger(__name__)

BOT_APP = web.AppKey("telegram_application", Application)
WEBHOOK_SECRET = web.AppKey("telegram_webhook_secret", bytes)  # set in webhook mode only
WEBHOOK_PATH = "/telegram/webhook"
MINI_APP_PATH = "/app/"
ALLOWED_UPDATES = [Update.MESSAGE]


def _token(settings: Settings) -> str:
    assert settings.telegram_bot_token is not None
    return settings.telegram_bot_token.get_secret_value()


def make_bot(settings: Settings) -> Bot:
    root = settings.bot_api_root
    return Bot(_token(settings), base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")


def build_application(settings: Settings) -> Application:
    root = settings.bot_api_root
    builder: ApplicationBuilder = (
        Application.builder()
        .token(_token(settings))
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        # Updates are handled concurrently (one slow reply must not delay everyone), but
        # boundedly: a burst then queues in memory, already recorded, and the event loop
        # keeps time for the webhook's acknowledgements (measured: ack p99 461 -> 127 ms).
        .concurrent_updates(settings.bot_concurrency)
    )
    if settings.bot_mode == "webhook":
        builder = builder.updater(None)  # the webhook is our route, not PTB's own server
    application = builder.build()
    add_handlers(application, recorded_updates=settings.bot_mode == "webhook")
    application.bot_data[MINI_APP_URL] = mini_app_url(settings)  # for /help
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
    for lang, commands in COMMANDS.items():
        await bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands],
            language_code=None if lang == "en" else lang,
        )


async def _replay_stale(application: Application, retry_after: float) -> None:
    """Every half `retry_after`: renew this process's claims on the updates it is handling, and
    take over updates whose claim has lapsed (their process died) into this one's queue."""
    handling = in_flight(application.bot_data)
    while True:
        try:
            await renew_claims(list(handling))
            payloads = await claim_stale(retry_after)
        except PyMongoError as exc:
            log.warning("could not look for unhandled updates: %s", type(exc).__name__)
            payloads = []
        for payload in payloads:
            try:
                update = Update.de_json(payload, application.bot)
            except Exception:
                log.exception("stored update %s cannot be parsed", payload.get("update_id"))
                continue
            handling.add(update.update_id)
            await application.update_queue.put(update)
        if payloads:
            log.warning("handling %d update(s) acknowledged but never handled", len(payloads))
        await asyncio.sleep(retry_after / 2)


async def _register_with_telegram(application: Application, settings: Settings) -> None:
    """setWebhook and setMyCommands. A refusal (flood control, a bad PUBLIC_URL) is logged,
    not fatal: the API keeps serving, and the webhook Telegram already has keeps working."""
    try:
        if settings.bot_mode == "webhook":
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


async def telegram_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    mode = settings.bot_mode
    if mode == "off":
        log.info("Telegram bot: off (TELEGRAM_BOT_TOKEN is not set); the API runs alone")
        yield
        return
    if mode == "webhook":
        app[WEBHOOK_SECRET] = settings.webhook_secret.encode()  # derived once, not per update
    application = build_application(settings)
    try:
        await application.initialize()
    except InvalidToken:
        raise StartupError("TELEGRAM_BOT_TOKEN was refused by the Bot API") from None
    except NetworkError as exc:
        # The API must not go down with Telegram; the webhook answers 503 meanwhile.
        log.error("Telegram bot: Bot API unreachable at start (%s); running without it", exc)
        yield
        return
    sweeper: asyncio.Task[None] | None = None
    try:
        await application.start()
        await _register_with_telegram(application, settings)
        if mode == "webhook":
            sweeper = asyncio.create_task(_replay_stale(application, settings.update_retry_after))
        else:
            assert application.updater is not None
            await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        app[BOT_APP] = application
        log.info("Telegram bot @%s: %s mode", application.bot.username, mode)
        yield
    finally:
        if sweeper is not None:
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
