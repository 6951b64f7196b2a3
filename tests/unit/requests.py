"""aiohttp requests built in memory, for unit tests of code that reads a request: no server,
no socket (one with a body needs a running event loop)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiohttp import web
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from server.keys import SETTINGS


def body_stream(data: bytes) -> StreamReader:
    """The request body as aiohttp's parser hands it over: complete, then end of stream."""
    protocol = SimpleNamespace(
        _reading_paused=False,
        pause_reading=lambda **kw: None,
        resume_reading=lambda **kw: None,
    )
    stream = StreamReader(protocol, 2**16, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
    stream.feed_data(data)
    stream.feed_eof()
    return stream


class _Transport:
    def __init__(self, peer: str | None) -> None:
        self._peer = peer

    def get_extra_info(self, key: str, default: Any = None) -> Any:
        if key == "peername" and self._peer is not None:
            return (self._peer, 40000)
        return default


class _Protocol(SimpleNamespace):
    """What a request asks its protocol for (plain attributes: mocks cost a millisecond)."""


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
    transport = _Transport(peer)
    protocol = _Protocol(
        max_field_size=8190, max_line_length=8190, max_headers=128, transport=transport,
        peername=transport.get_extra_info("peername"), sockname=None, ssl_context=None,
    )  # fmt: skip
    return make_mocked_request(
        method, path, headers, app=app, transport=transport, protocol=protocol, writer=None,
        payload=body_stream(body) if body else EMPTY_PAYLOAD,
    )  # fmt: skip
