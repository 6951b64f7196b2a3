"""python-telegram-bot's Bot API requests through aiohttp's client instead of httpx.

The app already runs on aiohttp; its client costs less CPU per request than httpx + httpcore
(the bot's replies, ~16% of the app's samples per webhook `/start` in the bench profile), and
it keeps one pool of keep-alive connections to the Bot API. Same contract as PTB's
HTTPXRequest: form-encoded parameters (multipart when there are files), the same default
timeouts, TimedOut / NetworkError on failures. Long polling keeps PTB's own request.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# PTB's HTTPXRequest defaults (seconds) and pool size for the bot's own requests.
CONNECT_TIMEOUT = READ_TIMEOUT = WRITE_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0
POOL_SIZE = 256


class AiohttpRequest(BaseRequest):
    def __init__(self, pool_size: int = POOL_SIZE) -> None:
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return READ_TIMEOUT

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        data: aiohttp.FormData | dict[str, str] | None = fields
        if files:
            form = aiohttp.FormData()
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            data = form
        read = _value(read_timeout, READ_TIMEOUT)
        connect = _value(connect_timeout, CONNECT_TIMEOUT)
        write = _value(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        pool = _value(pool_timeout, POOL_TIMEOUT)
        # aiohttp has no write or pool timeout of its own: the whole exchange is bounded by
        # their sum, so no wait is unbounded unless PTB's caller asked for that (None).
        parts = (read, connect, write, pool)
        total = None if None in parts else sum(p for p in parts if p is not None)
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        try:
            async with session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError is one too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _value(given: ODVInput[float], default: float) -> float | None:
    return default if isinstance(given, DefaultValue) else given
