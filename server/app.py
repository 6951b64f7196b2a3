"""The app factory: one aiohttp application serving the API and the Telegram bot."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence

import aiohttp_cors
from aiohttp import web

from config import Settings
from server.api.middleware import problem_middleware, security_headers_middleware
from server.api.routes import setup_routes
from server.auth.authenticators import (
    BearerAuthenticator,
    BotAuthenticator,
    MiniAppAuthenticator,
)
from server.auth.middleware import auth_middleware
from server.bootstrap import build_services
from server.db.lifecycle import open_database
from server.keys import MONGO, SERVICES, SETTINGS
from server.redaction import harden_logging
from server.services.access_gate import Clock
from server.services.account_data import AccountDataOwner
from server.telegram import webhook
from server.telegram.bot import telegram_ctx

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 32 * 1024


def create_app(
    settings: Settings,
    *,
    data_owners: Sequence[AccountDataOwner] = (),
    clock: Clock = time.monotonic,
) -> web.Application:
    """`data_owners` and `clock` go to build_services (extra data owners; the caches' clock)."""
    harden_logging(settings.secret_values())
    services = build_services(settings, data_owners=data_owners, clock=clock)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        # Above aiohttp's 8 KiB, so an oversized Authorization header reaches the auth
        # middleware and gets a 401 problem instead of the HTTP parser's plain-text 400.
        handler_args={"max_field_size": MAX_HEADER_BYTES},
        middlewares=[
            security_headers_middleware,
            problem_middleware,
            auth_middleware(
                [
                    BearerAuthenticator(services.access, services.gate),
                    BotAuthenticator(
                        [t.get_secret_value() for t in settings.bot_api_tokens],
                        services.users,
                        services.gate,
                    ),
                    MiniAppAuthenticator(services.auth, services.gate),
                ]
            ),
        ],
    )
    app[SETTINGS] = settings
    app[SERVICES] = services
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(telegram_ctx)  # after the database: stops before it
    app.cleanup_ctx.append(_background_work)  # after the bot: drained before it stops
    app.on_cleanup.append(_close_services)
    setup_routes(app, webhook.ENDPOINTS)
    if settings.cors_origins:
        _enable_cors(app, settings.cors_origins)
    return app


def _enable_cors(app: web.Application, origins: list[str]) -> None:
    """CORS for the listed origins only (off by default). Credentials travel in headers, not
    cookies, so credentialed CORS is never needed."""
    options = aiohttp_cors.ResourceOptions(
        allow_credentials=False,
        allow_headers=("Authorization", "Content-Type", "X-Telegram-User-Id"),
        expose_headers=("Retry-After", "WWW-Authenticate"),
        allow_methods=("GET", "POST", "PATCH", "DELETE"),
        max_age=600,
    )
    cors = aiohttp_cors.setup(app, defaults=dict.fromkeys(origins, options))
    for route in list(app.router.routes()):
        cors.add(route)


async def _database(app: web.Application) -> AsyncIterator[None]:
    async with open_database(app[SETTINGS]) as client:
        app[MONGO] = client
        yield


async def _background_work(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[SERVICES].drain()


async def _close_services(app: web.Application) -> None:
    await asyncio.to_thread(app[SERVICES].close)
