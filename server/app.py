"""The app factory: one aiohttp application serving the API (and, next, the bot)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from config import Settings
from server.api.middleware import problem_middleware, security_headers_middleware
from server.api.routes import setup_routes
from server.auth.authenticators import BearerAuthenticator
from server.auth.middleware import auth_middleware
from server.db.lifecycle import open_database
from server.keys import MONGO, SERVICES, SETTINGS
from server.services.container import Services

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    services = Services.from_settings(settings)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            security_headers_middleware,
            problem_middleware,
            auth_middleware([BearerAuthenticator(services.access)]),
        ],
    )
    app[SETTINGS] = settings
    app[SERVICES] = services
    app.cleanup_ctx.append(_database)
    app.on_cleanup.append(_close_services)
    setup_routes(app)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    async with open_database(app[SETTINGS]) as client:
        app[MONGO] = client
        yield


async def _close_services(app: web.Application) -> None:
    await asyncio.to_thread(app[SERVICES].close)
