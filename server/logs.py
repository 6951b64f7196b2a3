"""Logging set-up and the one-line access log. Query strings are left out on purpose: they
are where careless clients put tokens. Control characters in the path are escaped (with
every other record's) by server.redaction."""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from server.http_server import PARSE_ERROR


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )


class AccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if request.get(PARSE_ERROR):
            return  # aiohttp's stand-in for a request it could not parse: logged once, there
        self.logger.info(
            "%s %s %s %.1fms", request.method, request.path, response.status, time * 1000
        )
