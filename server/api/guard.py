"""Request bodies before any handler reads them: the codings accepted, the declared size, the
time allowed for the whole body to arrive, and a client that leaves half-way."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestPayloadError

from server.http.problems import Problem

log = logging.getLogger(__name__)

# What aiohttp decodes itself (the decoded size counts against MAX_BODY_BYTES). `br` and
# `zstd` need optional packages that are not installed; aiohttp's parser refuses them before
# this middleware runs, and server.http.server answers that with the same 415.
ACCEPTED_CODINGS = frozenset({"identity", "gzip", "x-gzip", "deflate"})
# nginx's "client closed request": never sent (nobody is listening), only seen in the access
# log, where a client that left is not a server error.
CLIENT_CLOSED = 499


class BodyReadTimeout(TimeoutError):
    """Put on a request's body stream when its deadline passes. A TimeoutError, so aiohttp's
    lingering close (which reads what is left of an unread body) stops at it too."""


def body_guard(max_body_bytes: int, timeout: float) -> web.middleware:  # type: ignore[valid-type]
    """A body must arrive whole within `timeout` seconds of its headers, whoever reads it and
    however slowly it trickles in; then the answer is 408 and the connection is closed."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists:
            return await handler(request)
        _check_coding(request.headers.get("Content-Encoding", ""))
        # A route that takes files (the import) says its own limit on its handler.
        limit = getattr(handler, "__max_body_bytes__", max_body_bytes)
        if request.content_length is not None and request.content_length > limit:
            # Refused before a byte of it is read.
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
        if request.content.is_eof():  # all there already
            return await handler(request)
        deadline = asyncio.get_running_loop().call_later(timeout, _expire, request.content)
        try:
            return await handler(request)
        except BodyReadTimeout:
            if _client_left(request):
                return _client_closed(request)
            log.info(
                "request body not received within %gs: %s %s", timeout, request.method,
                request.path,
            )  # fmt: skip
            return _closing(
                Problem(408, f"The request body did not arrive within {timeout:g} seconds",
                        slug="body-timeout")
            )  # fmt: skip
        except ConnectionResetError:
            if not _client_left(request):
                raise  # not the client's connection: the problem middleware's to report
            return _client_closed(request)
        except RequestPayloadError:  # e.g. a broken chunked encoding, found mid-body
            return _closing(Problem(400, "The request body is malformed", slug="malformed-body"))
        finally:
            deadline.cancel()

    return guard


def _check_coding(header: str) -> None:
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    if any(c not in ACCEPTED_CODINGS for c in codings):
        raise Problem(
            415,
            "Content-Encoding must be gzip, deflate or none",
            slug="unsupported-content-encoding",
            headers={"Accept-Encoding": "gzip, deflate"},
        )


def _expire(body: StreamReader) -> None:
    if not body.is_eof():
        body.set_exception(BodyReadTimeout())


def _client_left(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _client_closed(request: web.Request) -> web.Response:
    # One debug line here and the access log's 499: no traceback, no 500.
    log.debug("client closed the connection mid-body: %s %s", request.method, request.path)
    return web.Response(status=CLIENT_CLOSED)


def _closing(problem: Problem) -> web.Response:
    response = problem.response()
    response.force_close()
    return response
