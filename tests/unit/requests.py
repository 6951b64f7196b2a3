"""aiohttp requests built in memory, for unit tests of code that reads a request: no server,
no socket (one with a body needs a running event loop)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any
from unittest import mock

from aiohttp import web
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from server.keys import SETTINGS


def body_stream(data: bytes) -> StreamReader:
    """The request body as aiohttp's parser hands it over: complete, then end of stream."""
    stream = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    stream.feed_data(data)
    stream.feed_eof()
    return stream


def request(
    method: str = "POST",
    path: str = "/",
    headers: CIMultiDict[str] | dict[str, str] | None = None,
    *,
    body: bytes = b"",
    peer: str | None = "192.0.2.10",
    **settings: Any,
) -> web.Request:
    """A request from `peer`, on an app whose settings hold `settings` (attribute names)."""
    app = web.Application()
    app[SETTINGS] = SimpleNamespace(**settings)  # type: ignore[misc]
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda key, default=None: (
        (peer, 40000) if key == "peername" and peer is not None else default
    )
    return make_mocked_request(
        method,
        path,
        headers,
        app=app,
        transport=transport,
        payload=body_stream(body) if body else EMPTY_PAYLOAD,
    )
