"""Where Prometheus reads the metrics. Off by default; two ways on, both deliberate:

- METRICS_TOKEN: `GET /metrics` on the app's own port, with `Authorization: Bearer <token>`
  (what a platform with one public port, like Heroku, allows). Without it the route is 404.
- METRICS_PORT: a listener of its own on METRICS_HOST (default 127.0.0.1, so a sidecar or a
  node agent scrapes it); off loopback the token is required there too (config refuses
  otherwise)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from server.http.endpoints import HandlerFn
from server.http.problems import Problem
from server.observability.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics"'}


def metrics_handler(metrics: Metrics, token: str | None) -> HandlerFn:
    expected = hashlib.sha256(token.encode()).digest() if token is not None else None

    async def handler(request: web.Request) -> web.Response:
        if expected is not None:
            scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
            digest = hashlib.sha256(presented.strip().encode("utf-8", "surrogateescape"))
            # Digests of equal length: the comparison time tells nothing about the token.
            if scheme.lower() != "bearer" or not hmac.compare_digest(digest.digest(), expected):
                # Returned, not raised: the listener of its own has no problem middleware.
                refusal = Problem(401, "The metrics token is missing or wrong",
                                  slug="unauthorized", headers=CHALLENGE)  # fmt: skip
                return refusal.response()
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE
        response.headers["Cache-Control"] = "no-store"
        return response

    return handler


def add_metrics_route(app: web.Application, metrics: Metrics, token: str) -> None:
    app.router.add_get(METRICS_PATH, metrics_handler(metrics, token))


def metrics_listener(
    metrics: Metrics, host: str, port: int, token: str | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context running the metrics on a port of their own for the app's life."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        listener = web.Application()
        listener.router.add_get(METRICS_PATH, metrics_handler(metrics, token))
        runner = web.AppRunner(listener, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            log.info("metrics: http://%s:%s%s", host, port, METRICS_PATH)
            yield
        finally:
            await runner.cleanup()

    return context
