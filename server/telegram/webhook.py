"""POST /telegram/webhook: check the secret, record the update, answer, then handle it."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from telegram import Update

from server.api.problems import Problem
from server.keys import SETTINGS
from server.services.updates import record_update
from server.telegram.bot import BOT_APP

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


async def telegram_webhook(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    application = request.app.get(BOT_APP)
    if settings.bot_mode != "webhook":
        raise Problem(404, "The bot does not run in webhook mode here", slug="webhook-off")
    secret = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(secret, settings.webhook_secret.encode()):
        raise Problem(401, f"Missing or wrong {SECRET_HEADER}", slug="webhook-secret")
    if application is None:
        raise Problem(503, "The bot is not connected to Telegram yet", slug="bot-unavailable",
                      headers={"Retry-After": "10"})  # fmt: skip
    try:
        payload = json.loads(await request.read())
        if not isinstance(payload, dict) or type(payload.get("update_id")) is not int:
            raise ValueError("not an update")
        update = Update.de_json(payload, application.bot)
    except Exception:
        # Anything PTB cannot parse is the sender's fault: 400, and the bot carries on.
        raise Problem(400, "The body is not a Telegram update", slug="malformed-update") from None
    # Recorded before answering: a database failure becomes 503 (the problem middleware), so
    # Telegram delivers again; a redelivered update_id is acknowledged and not handled twice.
    if await record_update(update.update_id, payload):
        await application.update_queue.put(update)
    else:
        log.info("update %s delivered again; already handled", update.update_id)
    return web.Response(status=200)
