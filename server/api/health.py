"""Liveness and readiness."""

from aiohttp import web

from server.api.schemas import HealthOut
from server.http.jsonio import json_response
from server.http.problems import Problem
from server.keys import DATABASE

OK = HealthOut().model_dump()


async def health(request: web.Request) -> web.Response:
    """Answers while the process serves; touches nothing else."""
    return json_response(OK)


async def ready(request: web.Request) -> web.Response:
    if not await request.app[DATABASE].check():  # connected (indexes in place) and answering
        raise Problem(
            503,
            "The database does not answer",
            slug="not-ready",
            headers={"Retry-After": "5"},
        )
    return json_response(OK)
