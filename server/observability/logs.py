"""Logging set-up and the one-line access log. Query strings are left out on purpose: they
are where careless clients put tokens. Control characters in the path are escaped (with
every other record's) by server.observability.redaction."""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from server.http.server import PARSE_ERROR
from server.observability.log_format import make_handler
from server.observability.request_context import REQUEST_ID_HEADER


def configure_logging(level: str, log_format: str = "plain") -> None:
    logging.basicConfig(level=level, handlers=[make_handler(log_format)], force=True)


class AccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if request.get(PARSE_ERROR):
            return  # aiohttp's stand-in for a request it could not parse: logged once, there
        # The request id travels explicitly: aiohttp may log after the request's context ended.
        request_id = response.headers.get(REQUEST_ID_HEADER)
        http = {"method": request.method, "path": request.path, "status": response.status,
                "duration_ms": round(time * 1000, 1)}  # fmt: skip
        self.logger.info(
            "%s %s %s %.1fms", request.method, request.path, response.status, time * 1000,
            extra={"request_id": request_id, "http": http},
        )  # fmt: skip
