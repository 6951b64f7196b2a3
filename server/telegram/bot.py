"""The python-telegram-bot Application inside our aiohttp app: built, started and stopped
by the app's cleanup context; webhook mode, or polling for local development."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from pymongo.errors import PyMongoError
from telegram import Bot, BotCommand, Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application, ApplicationBuilder

from config import Settings
from server.keys import SETTINGS
from server.services.updates import claim_stale
from server.telegram.handlers import add_handlers
from server.telegram.texts import COMMANDS

log = logging.getLogger(__name__)

BOT_APP = web.AppKey("telegram_application", Application)
WEBHOOK_PATH = "/telegram/webhook"
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
        # Updates of different users are independent; handling them one by one would make
        # a slow reply delay everyone.
        .concurrent_updates(True)
    )
    if settings.bot_mode == "webhook":
        builder = builder.updater(None)  # the webhook is our route, not PTB's own server
    application = builder.build()
    add_handlers(application, recorded_updates=settings.bot_mode == "webhook")
    return application


def webhook_url(settings: Settings) -> str:
    return str(settings.public_url).rstrip("/") + WEBHOOK_PATH


async def set_webhook(bot: Bot, settings: Settings) -> None:
    await bot.set_webhook(
        url=webhook_url(settings),
        secret_token=settings.webhook_secret,
        allowed_updates=ALLOWED_UPDATES,
    )


async def set_commands(bot: Bot) -> None:
    for lang, commands in COMMANDS.items():
        await bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands],
            language_code=None if lang == "en" else lang,
        )


async def _replay_stale(application: Application, retry_after: float) -> None:
    """Hand updates that a dead process acknowledged but never handled to this one's bot."""
    while True:
        try:
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
            await application.update_queue.put(update)
        if payloads:
            log.warning("handling %d update(s) acknowledged but never handled", len(payloads))
        await asyncio.sleep(retry_after / 2)


async def telegram_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    mode = settings.bot_mode
    if mode == "off":
        log.info("Telegram bot: off (TELEGRAM_BOT_TOKEN is not set); the API runs alone")
        yield
        return
    application = build_application(settings)
    try:
        await application.initialize()
    except InvalidToken:
        raise RuntimeError("TELEGRAM_BOT_TOKEN was refused by the Bot API") from None
    except NetworkError as exc:
        # The API must not go down with Telegram; the webhook answers 503 meanwhile.
        log.error("Telegram bot: Bot API unreachable at start (%s); running without it", exc)
        yield
        return
    await application.start()
    sweeper = None
    if mode == "webhook":
        await set_webhook(application.bot, settings)
        sweeper = asyncio.create_task(_replay_stale(application, settings.update_retry_after))
    else:
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
    await set_commands(application.bot)
    app[BOT_APP] = application
    log.info("Telegram bot @%s: %s mode", application.bot.username, mode)
    try:
        yield
    finally:
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        await application.stop()
        await application.shutdown()
