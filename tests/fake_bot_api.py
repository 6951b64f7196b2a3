"""In-process fake of the Telegram Bot API for tests (aiohttp.web), trimmed to what the tests
and the benchmark use.

It speaks the real HTTP shape, ``POST /bot<token>/<method>``, so the app's real
python-telegram-bot ``Application`` runs against it unchanged (``TELEGRAM_API_BASE_URL``).
Every request is recorded as a :class:`Call`, whatever its method or token. Methods without
a fake below answer ``{"ok": true, "result": true}``.

PTB posts ``application/x-www-form-urlencoded``: every value arrives as a string (ints as
``"1"``); lists and objects (commands, allowed_updates, scope) arrive as JSON text, which
this fake decodes. Scalars stay strings, so a text such as "123" is never turned into an int.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

JSONDict = dict[str, Any]


@dataclass
class Call:
    """One recorded request. Calls with a wrong token are recorded as well."""

    method: str
    params: dict[str, Any]
    token: str


class FakeBotAPI:
    # Cap for long polling (PTB polls with timeout=10): Updater.stop() would wait that long.
    LONG_POLL_CAP = 1.0

    def __init__(self, token: str) -> None:
        self.token = token
        self.bot_user: JSONDict = {
            "id": 123456,
            "is_bot": True,
            "first_name": "Test Assistant",
            "username": "test_assistant_bot",
        }
        self.calls: list[Call] = []
        self._runner: web.AppRunner | None = None
        self._root = ""
        self._closing = False
        self._init_state()

    def _init_state(self) -> None:
        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._next_message_id = 1
        # Replaced on every push, so each long-poll waiter awaits its own event.
        self._update_pushed = asyncio.Event()
        self.webhook: JSONDict = {}  # last setWebhook params, {} when none is set
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}  # (scope, lang) -> list
        self._errors: dict[str, tuple[int, JSONDict]] = {}
        self._delays: dict[str, float] = {}

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> str:
        """Start serving on a free loopback port; returns the root URL."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # Bounded so a stuck handler can never hang the test session on stop().
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self._root = f"http://{host}:{port}"
        return self._root

    async def stop(self) -> None:
        if self._runner is None:
            return
        # Release pending long polls at once instead of letting them run to the cap.
        self._closing = True
        self._update_pushed.set()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return self._root

    # ------------------------------------------------------------- test helpers

    def push_update(self, update: JSONDict) -> int:
        """Queue an update for getUpdates. Assigns update_id if missing; returns it."""
        update = dict(update)
        update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        self._updates.append(update)
        self._update_pushed.set()
        self._update_pushed = asyncio.Event()
        return update["update_id"]

    def calls_to(self, method: str) -> list[Call]:
        # Telegram method names are case-insensitive.
        return [call for call in self.calls if call.method.lower() == method.lower()]

    # An explicit timeout (not asyncio.timeout) so a miss fails with a readable summary.
    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Call]:
        """Wait until at least ``count`` calls to ``method`` were recorded; return them all."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(calls := self.calls_to(method)) < count:
            if asyncio.get_running_loop().time() >= deadline:
                seen = Counter(call.method for call in self.calls)
                raise AssertionError(
                    f"expected >= {count} call(s) to {method} within {timeout}s, "
                    f"got {len(calls)}; calls so far: {dict(seen) or 'none'}"
                )
            await asyncio.sleep(0.01)
        return calls

    def delay(self, method: str, seconds: float) -> None:
        """Answer ``method`` only after ``seconds``, like a slow network or Bot API (the
        call is recorded on arrival)."""
        self._delays[method.lower()] = seconds

    def stub_error(self, method: str, error_code: int, description: str) -> None:
        """Make ``method`` fail like Telegram, e.g. (400, "Bad Request: chat not found")."""
        payload = {"ok": False, "error_code": error_code, "description": description}
        self._errors[method.lower()] = (error_code, payload)

    def reset(self) -> None:
        """Forget calls, queued updates, webhook, commands, errors and delays."""
        self.calls.clear()
        self._update_pushed.set()  # don't leave a long poll waiting on a dropped event
        self._init_state()

    # ------------------------------------------------------------------ serving

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params = await _read_params(request)
        self.calls.append(Call(method=method, params=params, token=token))
        if token != self.token:
            return _error(401, "Unauthorized")
        if seconds := self._delays.get(method.lower()):
            await asyncio.sleep(seconds)
        if error := self._errors.get(method.lower()):
            status, payload = error
            return web.json_response(payload, status=status)
        handler = getattr(self, f"_api_{method.lower()}", None)
        result = await handler(params) if handler else True
        return web.json_response({"ok": True, "result": result})

    async def _api_getme(self, params: JSONDict) -> JSONDict:
        return self.bot_user

    async def _api_setwebhook(self, params: JSONDict) -> bool:
        self.webhook = dict(params) if params.get("url") else {}
        return True

    async def _api_deletewebhook(self, params: JSONDict) -> bool:
        self.webhook = {}
        return True

    async def _api_getwebhookinfo(self, params: JSONDict) -> JSONDict:
        # Like Telegram, this does not reveal secret_token; tests can read self.webhook.
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    async def _api_setmycommands(self, params: JSONDict) -> bool:
        scope = params.get("scope") or {"type": "default"}
        key = (json.dumps(scope, sort_keys=True), params.get("language_code", ""))
        self.commands[key] = params.get("commands", [])
        return True

    async def _api_sendmessage(self, params: JSONDict) -> JSONDict:
        message = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "from": self.bot_user,
            "text": params["text"],
        }
        self._next_message_id += 1
        return message

    async def _api_getupdates(self, params: JSONDict) -> list[JSONDict]:
        offset = int(params.get("offset", 0))
        # Bot API: updates below the offset are confirmed and forgotten.
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(float(params.get("timeout", 0)), self.LONG_POLL_CAP)
        while not self._updates and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._update_pushed.wait(), remaining)
        return self._updates[: int(params.get("limit", 100))]


def text_message_update(
    text: str,
    *,
    chat_id: int = 1,
    user_id: int = 1,
    first_name: str = "Test",
    language_code: str = "ru",
    update_id: int | None = None,
) -> JSONDict:
    """A private-chat text message update; a leading /command gets its entity.
    update_id is assigned by push_update() when omitted."""
    user = {"id": user_id, "is_bot": False, "first_name": first_name}
    message: JSONDict = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": first_name},
        "from": {**user, "language_code": language_code},
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    update: JSONDict = {"message": message}
    if update_id is not None:
        update["update_id"] = update_id
    return update


def _error(code: int, description: str) -> web.Response:
    payload = {"ok": False, "error_code": code, "description": description}
    return web.json_response(payload, status=code)


async def _read_params(request: web.Request) -> JSONDict:
    if request.content_type == "application/json":
        body = await request.text()
        return dict(json.loads(body)) if body.strip() else {}
    params: JSONDict = dict(request.query)
    params.update(await request.post())
    return {key: _maybe_json(value) for key, value in params.items()}


def _maybe_json(value: Any) -> Any:
    # Decode only JSON objects and arrays. Scalars stay strings so "123" texts are safe.
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value
