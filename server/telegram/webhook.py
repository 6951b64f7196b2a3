"""POST /telegram/webhook: check the secret, record the update, answer, then handle it."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from bson.errors import InvalidDocument

from server.http.endpoints import Endpoint
from server.http.problems import Problem
from server.observability.request_context import bind_update_id
from server.telegram.bot import INTAKE, WEBHOOK_PATH, WEBHOOK_SECRET

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_UPDATE_ID = 2**63  # BSON's int64: a larger id cannot be recorded


async def telegram_webhook(request: web.Request) -> web.Response:
    expected = request.app.get(WEBHOOK_SECRET)
    if expected is None:
        raise Problem(404, "The bot does not run in webhook mode here", slug="webhook-off")
    secret = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(secret, expected):
        raise Problem(401, f"Missing or wrong {SECRET_HEADER}", slug="webhook-secret")
    intake = request.app.get(INTAKE)
    if intake is None:
        raise Problem(503, "The bot is not connected to Telegram yet", slug="bot-unavailable",
                      headers={"Retry-After": "10"})  # fmt: skip
    body = await request.read()  # outside the try: a body too large is a 413, not a 400
    try:
        payload = json.loads(body)
        update_id = payload.get("update_id") if isinstance(payload, dict) else None
        if type(update_id) is not int or not 0 <= update_id < MAX_UPDATE_ID:
            raise ValueError("not an update")
        update = intake.parse(payload)
    except Exception:
        # Anything PTB cannot parse is the sender's fault: 400, and the bot carries on.
        raise Problem(400, "The body is not a Telegram update", slug="malformed-update") from None
    bind_update_id(update.update_id)  # this request's later log lines name the update
    # Recorded before answering: a database failure becomes 503 (the problem middleware), so
    # Telegram delivers again; a redelivered update_id is acknowledged and not handled twice.
    try:
        new = await intake.receive(update, payload)
    except (OverflowError, InvalidDocument):  # e.g. an integer beyond BSON's 64 bits
        raise Problem(400, "The update cannot be stored", slug="malformed-update") from None
    if not new:
        log.info("update %s delivered again; already handled", update.update_id)
    return web.Response(status=200)


ENDPOINTS = [
    Endpoint("POST", WEBHOOK_PATH, telegram_webhook,
             "Telegram update delivery (X-Telegram-Bot-Api-Secret-Token required)", "telegram",
             responses={200: None}, errors=(400, 401, 404, 413, 503)),
]  # fmt: skip
