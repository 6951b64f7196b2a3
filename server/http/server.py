"""The HTTP server under the app, hardened where aiohttp has no setting for it.

- A request aiohttp's parser refuses (a stray `\\r` or `\\x01` after a token, an oversized
  header, `Content-Encoding: br`) is answered with a problem document and logged as one line
  naming the kind of error. aiohttp's own answer echoes the raw bytes, and it logs them in a
  traceback: with them the Authorization header the bytes came from.
- No `Server` header names versions.
- A listening socket out of file descriptors is logged once per episode, not every second.
- A header budget near what real clients send, and aiohttp's lingering close bounded by the
  body deadline (see `handler_args`).

aiohttp builds its connection protocol in `web.Server.__call__` and offers no setting for the
protocol class (aio-libs/aiohttp#3287), so `harden` wraps the app's `_make_handler` to hand
out a `Server` subclass whose only change is that class. Both `web.AppRunner` (cli.py) and the test
server build their server through that method; tests/e2e/test_attacks.py fails if a new
aiohttp version stops doing so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMethod,
    ContentEncodingError,
    HttpProcessingError,
    LineTooLong,
)
from aiohttp.web_protocol import RequestHandler, RequestPayloadError

from server.http.problems import Problem

log = logging.getLogger("server.http")

SERVER_NAME = "assistant"  # the whole Server header: no product versions

# Header budget. The largest header a client of this API sends is `Authorization: tma
# <initData>` (init data is capped at 4 KiB); 8 KiB per line leaves room for it, and 40
# headers for a browser's ~20 plus a few proxies'. At most ~320 KiB of headers per request,
# where aiohttp's defaults with the old 32 KiB fields allowed 4 MiB.
MAX_LINE_SIZE = 8190  # the request line (method, path and query)
MAX_FIELD_SIZE = 8190  # one header line
MAX_HEADERS = 40

PARSE_ERROR = web.RequestKey("parse_error", bool)  # set on aiohttp's stand-in request
ACCEPT_FAILED = "socket.accept() out of system resource"  # asyncio's message for EMFILE & co
ACCEPT_REPORT_EVERY = 600.0  # seconds between reminders while accepting keeps failing
ACCEPT_RECOVERED_AFTER = 0.5  # seconds; asyncio retries a failed accept after 1 s


def handler_args(body_read_timeout: float) -> dict[str, Any]:
    """The connection settings for `web.Application(handler_args=...)`. aiohttp reads and
    discards an unread body for `lingering_time` after answering; at most the body deadline."""
    return {
        "max_line_size": MAX_LINE_SIZE,
        "max_field_size": MAX_FIELD_SIZE,
        "max_headers": MAX_HEADERS,
        "lingering_time": min(10.0, body_read_timeout),
    }


def harden(app: web.Application) -> None:
    """Install the hardened protocol, the Server header and the accept-error reporter."""
    make_handler: Callable[..., web.Server] = app._make_handler
    accepts = AcceptErrors()

    def make_hardened_handler(**kwargs: Any) -> web.Server:
        server = make_handler(**kwargs)
        server.__class__ = HardenedServer  # same state, one method different
        server.accept_errors = accepts  # type: ignore[attr-defined]
        return server

    # Set on the instance, not by subclassing web.Application (which aiohttp discourages).
    object.__setattr__(app, "_make_handler", make_hardened_handler)
    app.on_response_prepare.append(_hide_versions)

    async def report_accept_errors(app: web.Application) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()
        loop.set_exception_handler(accepts.handler(previous))
        yield
        loop.set_exception_handler(previous)

    app.cleanup_ctx.append(report_accept_errors)


async def _hide_versions(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER_NAME


class HardenedRequestHandler(RequestHandler):
    """aiohttp's connection protocol with its error answer replaced (see the module doc)."""

    def log_exception(self, *args: Any, **kwargs: Any) -> None:
        # After answering, aiohttp reads what is left of an unread body; a body the client
        # broke (bad gzip, a broken chunk, a reset) fails there and aiohttp logs an
        # "Unhandled exception" traceback. It is the client's doing: one line.
        exc = kwargs.get("exc_info")
        if isinstance(exc, RequestPayloadError | ConnectionError):
            cause = exc.__cause__
            log.info(
                "request body broken off or malformed: %s%s",
                type(exc).__name__, f" ({type(cause).__name__})" if cause else "",
            )  # fmt: skip
            return
        super().log_exception(*args, **kwargs)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if isinstance(exc, HttpProcessingError):
            # The parser's message and traceback quote the offending bytes: log the kind only.
            request[PARSE_ERROR] = True
            problem = _parse_problem(exc)
            first = self._request_count == 1  # aiohttp's own count of this connection's requests
            # Non-HTTP traffic (TLS to the plain port, scanners) is noise, as aiohttp has it.
            level = logging.DEBUG if first and isinstance(exc, BadHttpMethod) else logging.INFO
            log.log(
                level, "unparsable request from %s: %s (%s)",
                request.remote, type(exc).__name__, problem.status,
            )  # fmt: skip
        elif status == 504:
            problem = Problem(504, "The request took too long", slug="timeout")
        else:
            # Only reached when something fails outside the problem middleware. The traceback
            # is masked by server.observability.redaction like every other log record.
            log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
            problem = Problem(500, "An unexpected error occurred", slug="internal-error")
        if request.writer.output_size > 0:
            raise ConnectionError("the response was already started; closing the connection")
        response = problem.response()
        response.headers["Server"] = SERVER_NAME
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.force_close()
        return response


def _parse_problem(exc: HttpProcessingError) -> Problem:
    if isinstance(exc, ContentEncodingError):  # e.g. br without the Brotli package
        return Problem(
            415,
            "Content-Encoding must be gzip, deflate or none",
            slug="unsupported-content-encoding",
            headers={"Accept-Encoding": "gzip, deflate"},
        )
    # aiohttp says "Too many headers received" with no class of its own.
    if isinstance(exc, LineTooLong) or exc.message.startswith("Too many headers"):
        return Problem(
            431,
            f"The request line and each header must fit {MAX_FIELD_SIZE} bytes, "
            f"at most {MAX_HEADERS} headers",
            slug="headers-too-large",
        )
    return Problem(400, "The request is not valid HTTP/1.1", slug="malformed-request")


class HardenedServer(web.Server):
    accept_errors: AcceptErrors

    def __call__(self) -> RequestHandler:
        return HardenedRequestHandler(self, loop=self._loop, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self.accept_errors.accepted()


class AcceptErrors:
    """asyncio reports a failed accept() (EMFILE, ENFILE, ENOBUFS, ENOMEM) with a traceback,
    up to its backlog (100) times in a row, and tries again every second for as long as it
    lasts: megabytes of log while the process is out of file descriptors. Reported here as one
    line when it starts, a reminder with the count every ACCEPT_REPORT_EVERY seconds, and one
    line when a connection is accepted again. Other loop errors go to the previous handler."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.failures = 0  # in the current episode
        self._reported_at: float | None = None
        self._failed_at = 0.0

    def handler(
        self, previous: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None
    ) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
        def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if context.get("message") == ACCEPT_FAILED:
                self.failed(context.get("exception"))
            elif previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        return handle

    def failed(self, exc: BaseException | None) -> None:
        self.failures += 1
        now = self._failed_at = self._clock()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else repr(exc)
        if self._reported_at is None:
            log.error("cannot accept connections: %s; retrying every second", reason)
        elif now - self._reported_at >= ACCEPT_REPORT_EVERY:
            log.error("still cannot accept connections: %s (%d attempts)", reason, self.failures)
        else:
            return
        self._reported_at = now

    def accepted(self) -> None:
        # Connections accepted in the same burst as a failure are set up just after it; only
        # one accepted after asyncio's next retry (a second later) shows accepting works.
        if self.failures and self._clock() - self._failed_at >= ACCEPT_RECOVERED_AFTER:
            log.warning("accepting connections again after %d failed attempts", self.failures)
            self.failures = 0
            self._reported_at = None
