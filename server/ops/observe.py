"""The outermost middleware: gives each request its id (X-Request-Id: the router's or the
client's when safe, else a new one), returns it, binds it to every log line of the request,
and records the request's metrics under its route template — never the raw path."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from server.observability.metrics import UNMATCHED_ROUTE, Metrics, status_class
from server.observability.request_context import (
    REQUEST_ID_HEADER,
    accept_request_id,
    bound_request_id,
)

REQUEST_ID = web.RequestKey("request_id", str)

# Sign-in routes, whose answer is the outcome of presenting credentials:
# route template -> (scheme label, outcome by status). Other statuses (422, 503, …) say
# nothing about the credentials and are not counted.
_SIGN_IN = {200: "accepted", 401: "refused", 429: "throttled"}
SIGN_IN_ROUTES: dict[tuple[str, str], tuple[str, dict[int, str]]] = {
    ("POST", "/api/auth/login"): ("password", _SIGN_IN),
    ("POST", "/api/auth/refresh"): ("refresh", _SIGN_IN),
    ("POST", "/api/auth/telegram"): ("telegram", _SIGN_IN),
    # Telegram's secret header: once it is accepted, any answer but 401 follows.
    ("POST", "/telegram/webhook"): ("webhook", {200: "accepted", 400: "accepted",
                                                401: "refused"}),
}  # fmt: skip


def route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


def observe_middleware(metrics: Metrics) -> Middleware:
    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        request[REQUEST_ID] = request_id
        started = time.perf_counter()
        status = "cancelled"  # the client went away (or shutdown) before an answer
        try:
            with bound_request_id(request_id):
                response = await handler(request)
            status_code = response.status
            status = status_class(status_code)
            return response
        except web.HTTPException as exc:  # redirects (the problem middleware answers errors)
            status_code = exc.status
            status = status_class(status_code)
            raise
        except asyncio.CancelledError:
            status_code = 0
            raise
        except Exception:  # not expected past the problem middleware; aiohttp answers 500
            status_code, status = 500, "5xx"
            raise
        finally:
            route = route_template(request)
            metrics.http_request(request.method, route, status, time.perf_counter() - started)
            sign_in = SIGN_IN_ROUTES.get((request.method, route))
            if sign_in is not None and (outcome := sign_in[1].get(status_code)) is not None:
                metrics.auth(sign_in[0], outcome)

    return observe


async def add_request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response carries the id, streamed ones included."""
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        response.headers[REQUEST_ID_HEADER] = request_id
