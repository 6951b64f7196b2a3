"""Until the database has answered once (models bound, indexes in place), routes that need it
answer 503 instead of running: without the unique indexes a write could break a rule the
indexes enforce (one user per username), and without bound models a handler would fail."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from server.db.database import Database
from server.http.problems import Problem

RETRY_AFTER = "5"
# Routes that never touch the database (route templates). Anything else waits for it.
DATABASE_FREE = frozenset({
    "/health", "/ready", "/metrics", "/api/openapi.json", "/api/docs", "/api/docs/static",
})  # fmt: skip


def database_gate(
    database: Callable[[], Database | None],
) -> Middleware:
    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        db = database()
        if db is None or db.ready or request.method == "OPTIONS":  # CORS preflight: no DB
            return await handler(request)
        resource = request.match_info.route.resource
        if resource is None or resource.canonical in DATABASE_FREE:  # 404s stay 404s
            return await handler(request)
        raise Problem(
            503,
            "The database is unavailable; try again shortly",
            slug="database-unavailable",
            headers={"Retry-After": RETRY_AFTER},
        )

    return gate
