"""The app factory: one aiohttp application serving the API and the Telegram bot."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence

import aiohttp_cors
from aiohttp import web

from config import Settings
from server.api.guard import body_guard
from server.api.routes import setup_routes
from server.auth.authenticators import (
    BearerAuthenticator,
    BotAuthenticator,
    MiniAppAuthenticator,
)
from server.auth.middleware import auth_middleware
from server.bootstrap import build_services
from server.db.lifecycle import open_database
from server.http.middleware import problem_middleware, security_headers_middleware
from server.http.server import handler_args, harden
from server.keys import DATABASE, METRICS, MONGO, SERVICES, SETTINGS
from server.miniapp import setup_miniapp
from server.observability.metrics import Metrics
from server.observability.redaction import harden_logging
from server.ops.database_gate import database_gate
from server.ops.metrics_endpoint import add_metrics_route, metrics_listener
from server.ops.observe import add_request_id_header, observe_middleware
from server.services.accounts.access_gate import Clock
from server.services.accounts.account_data import AccountDataOwner
from server.services.dates import humanize
from server.telegram import webhook
from server.telegram.bot import telegram_ctx

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    data_owners: Sequence[AccountDataOwner] = (),
    clock: Clock = time.monotonic,
) -> web.Application:
    """`data_owners` and `clock` go to build_services (extra data owners; the caches' clock)."""
    harden_logging(settings.secret_values())
    services = build_services(settings, data_owners=data_owners, clock=clock)
    metrics = Metrics()
    metrics.watch_argon2_queue(services.passwords.queue_depth)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        handler_args=handler_args(settings.body_read_timeout),
        middlewares=[
            observe_middleware(metrics),  # outermost: request id, and every answer counted
            security_headers_middleware,
            problem_middleware,
            body_guard(settings.max_body_bytes, settings.body_read_timeout),
            database_gate(lambda: app.get(DATABASE)),
            auth_middleware(
                [
                    BearerAuthenticator(services.access, services.gate),
                    BotAuthenticator(
                        [t.get_secret_value() for t in settings.bot_api_tokens],
                        services.users,
                        services.gate,
                    ),
                    MiniAppAuthenticator(services.auth, services.gate),
                ],
                metrics.auth,
            ),
        ],
    )
    app[SETTINGS] = settings
    app[SERVICES] = services
    harden(app)
    app[METRICS] = metrics
    app.on_response_prepare.append(add_request_id_header)
    if settings.metrics_token is not None:
        add_metrics_route(app, metrics, settings.metrics_token.get_secret_value())
    if settings.metrics_port is not None:
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        app.cleanup_ctx.append(
            metrics_listener(metrics, settings.metrics_host, settings.metrics_port, token)
        )
    app.cleanup_ctx.append(_warm_texts)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(telegram_ctx)  # after the database: stops before it
    app.cleanup_ctx.append(_background_work)  # after the bot: drained before it stops
    app.on_cleanup.append(_close_services)
    setup_routes(app, webhook.ENDPOINTS)
    if settings.cors_origins:
        _enable_cors(app, settings.cors_origins)
    setup_miniapp(app)  # after CORS: the page is same-origin and needs none
    return app


async def _warm_texts(app: web.Application) -> AsyncIterator[None]:
    """The time formatter's CLDR data, loaded in a thread before the first update or request
    (else the first one holds the event loop ~70-400 ms loading it)."""
    await asyncio.to_thread(humanize.warm)
    yield


def _enable_cors(app: web.Application, origins: list[str]) -> None:
    """CORS for the listed origins only (off by default). Credentials travel in headers, not
    cookies, so credentialed CORS is never needed."""
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]  # untyped library
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
    # wait=True: a MONGODB_URI server that does not answer yet is waited for in the
    # background; meanwhile /health is 200, /ready and the database routes 503.
    async with open_database(app[SETTINGS], wait=True) as database:
        app[DATABASE] = database
        app[MONGO] = database.client
        yield


async def _background_work(app: web.Application) -> AsyncIterator[None]:
    search = asyncio.create_task(_prepare_search(app), name="search-backfill")
    keys = asyncio.create_task(_key_sessions(app), name="session-keys")
    yield
    search.cancel()
    keys.cancel()
    await asyncio.gather(search, keys, return_exceptions=True)
    await app[SERVICES].drain()


async def _prepare_search(app: web.Application) -> None:
    """Once the database answers: whatever the search backend needs built (postings for
    tasks written before they existed); searches work meanwhile, more slowly."""
    await app[DATABASE].wait_ready()
    try:
        await app[SERVICES].tasks.search_backend.backfill()
    except Exception:
        log.exception("search: backfill failed; searching without it")


async def _key_sessions(app: web.Application) -> None:
    """Once the database answers: sessions written before they carried a `user_key` get it;
    until then each sign-in's session cap finds sessions the old (scanning) way."""
    await app[DATABASE].wait_ready()
    try:
        await app[SERVICES].auth.key_sessions()
    except Exception:
        log.exception("sessions: keying older sessions failed; the cap looks them up unkeyed")


async def _close_services(app: web.Application) -> None:
    await asyncio.to_thread(app[SERVICES].close)
