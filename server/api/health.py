"""Liveness and readiness."""

from aiohttp import web

from server.api.schemas import HealthOut
from server.db.connection import ping
from server.http.problems import Problem
from server.keys import MONGO, SETTINGS

OK = HealthOut().model_dump()


async def health(request: web.Request) -> web.Response:
    """Answers while the process serves; touches nothing else."""
    return web.json_response(OK)


async def ready(request: web.Request) -> web.Response:
    app = request.app
    if not await ping(app[MONGO], app[SETTINGS].mongodb_timeout):
        raise Problem(
            503,
            "The database does not answer",
            slug="not-ready",
            headers={"Retry-After": "5"},
        )
    return web.json_response(OK)
