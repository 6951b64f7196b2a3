"""In-process fake of the Telegram Bot API for tests (aiohttp.web).

It speaks the real HTTP shape, ``POST|GET /bot<token>/<method>``, so a real
python-telegram-bot ``Application`` can run against it unchanged. Every request is
recorded as a :class:`Call`. ``getUpdates`` serves updates the test pushes.

Pointing PTB at it (PTB appends the token to ``base_url``, then adds ``/<method>``)::

    root = await fake.start()  # e.g. "http://127.0.0.1:41234"
    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(root + "/bot")  # == fake.base_url
        .base_file_url(root + "/file/bot")  # == fake.base_file_url
        .build()
    )

pytest usage (pytest-asyncio / pytest-aiohttp). The fake and the application must
share one event loop, so use function-scoped async fixtures::

    import pytest_asyncio

    @pytest_asyncio.fixture
    async def fake_api():
        async with FakeBotAPI(TOKEN) as fake:
            yield fake

    async def test_start(fake_api):
        ...  # build and start the app with fake_api.base_url
        fake_api.push_update(text_message_update("/start"))
        [call] = await fake_api.wait_for("sendMessage")
        assert call.params["chat_id"] == "1"  # form values stay strings, see below

Waiting: every recorded call and every finished answer wakes the waiters (an asyncio
Event, renewed on each change), so a test wakes as soon as what it waits for happened and
never polls. To look only at what one step caused, take a mark first::

    mark = fake_api.mark()
    ...  # post an update
    [reply] = await fake_api.wait_new("sendMessage", since=mark)

How params arrive: PTB posts ``application/x-www-form-urlencoded``, or multipart when it
uploads files. Every value is a string there: ints as ``"1"`` and bools as ``"true"``.
Lists and objects (reply_markup, commands, allowed_updates, scope) come as JSON strings,
and this fake decodes those. Scalars stay strings, so a text such as "123" is never
turned into an int. JSON request bodies are recorded as they are, with their types.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

# The update builders live in the test kit; imported here too, where tests have always
# found them.
from tests.kit.telegram import callback_query_update, text_message_update

__all__ = ["Call", "FakeBotAPI", "Mark", "callback_query_update", "text_message_update"]

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (e.g. sendPhoto with bytes)."""

    filename: str | None
    content_type: str
    content: bytes


@dataclass
class Call:
    """One recorded request. Calls with a wrong token are recorded as well."""

    method: str
    params: dict[str, Any]
    token: str
    at: float = field(default_factory=time.time)  # when it arrived (epoch seconds)


@dataclass(frozen=True)
class Mark:
    """A point in the record of calls (see FakeBotAPI.mark); survives reset()."""

    recorded: int  # how many calls had been recorded, over the fake's whole life


@dataclass
class _Failure:
    """A one-shot (or n-shot) failure of a method, optionally only for one chat."""

    method: str
    status: int
    payload: JSONDict
    times: int
    chat_id: str | None


class FakeBotAPI:
    # Cap for long polling. PTB polls with timeout=10 by default. Waiting that long would
    # make Updater.stop() wait too. PTB cancels its in-flight request on stop, but
    # aiohttp's runner cleanup still waits for the handler.
    LONG_POLL_CAP = 1.0

    def __init__(
        self, token: str, bot_id: int = 123456, bot_username: str = "test_assistant_bot"
    ) -> None:
        self.token = token
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Test Assistant",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.calls: list[Call] = []
        self._forgotten = 0  # calls dropped by reset(), so a Mark stays a position in time
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._root = ""
        self._closing = False
        self._init_state()

    def _init_state(self) -> None:
        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._next_message_id = 1
        # Replaced on every push, so each long-poll waiter awaits its own event.
        # There is no clear() race between several waiters.
        self._update_pushed = asyncio.Event()
        self.webhook: JSONDict = {}  # last setWebhook params, {} when none is set
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}  # (scope, lang) -> list
        self.menu_buttons: dict[str, JSONDict] = {}  # chat_id ("" = the default) -> button
        self._stubs: dict[str, tuple[int, JSONDict]] = {}
        self._delays: dict[str, float] = {}
        self._failures: list[_Failure] = []
        # What each chat shows now: sendMessage adds, editMessage* change, keyed by
        # (chat_id, message_id) as strings (form values arrive as strings).
        self.messages: dict[tuple[str, str], JSONDict] = {}
        self.answered: dict[str, JSONDict] = {}  # callback_query_id -> answerCallbackQuery params

    # ---------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving; returns the root URL, e.g. ``http://127.0.0.1:41234``."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # Bounded so a stuck handler can never hang the test session on stop().
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._root = f"http://{bound_host}:{bound_port}"
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

    @property
    def base_url(self) -> str:
        """Pass this to ``ApplicationBuilder.base_url``. PTB appends the token."""
        return self._root + "/bot"

    @property
    def base_file_url(self) -> str:
        """Pass this to ``ApplicationBuilder.base_file_url``. File downloads are not served."""
        return self._root + "/file/bot"

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

    def mark(self) -> Mark:
        """Now, in the record of calls: pass it to calls_since() or wait_new() to see only
        the calls made after it."""
        return Mark(self._forgotten + len(self.calls))

    def calls_since(self, mark: Mark, method: str | None = None) -> list[Call]:
        """The calls recorded after `mark` (to `method` only, when given), oldest first."""
        calls = self.calls[max(0, mark.recorded - self._forgotten) :]
        if method is None:
            return list(calls)
        return [call for call in calls if call.method.lower() == method.lower()]

    def _notify(self) -> None:
        # Wake every waiter; each then re-checks its own condition. A fresh Event per change,
        # so there is no clear() racing a waiter that has not run yet.
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(
        self,
        ready: Callable[[], Any],
        timeout: float,  # noqa: ASYNC109
        failure: Callable[[], str],
    ) -> Any:
        """Wait until `ready()` returns something truthy; return it. On timeout raise
        AssertionError(failure()). Checked at once, then after every change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := ready()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(failure())
            changed = self._changed  # taken before awaiting: no change can slip between
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
        return result

    def _seen(self) -> str:
        return str(dict(Counter(call.method for call in self.calls)) or "none")

    # An explicit timeout (not asyncio.timeout) so a miss fails with a readable summary.
    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Call]:
        """Wait until at least ``count`` calls to ``method`` were recorded; return them all
        (every call ever made; see wait_new for the calls after a mark)."""

        def ready() -> list[Call]:
            calls = self.calls_to(method)
            return calls if len(calls) >= count else []

        return list(
            await self._wait(
                ready,
                timeout,
                lambda: (
                    f"expected >= {count} call(s) to {method} within {timeout}s, "
                    f"got {len(self.calls_to(method))}; calls so far: {self._seen()}"
                ),
            )
        )

    async def wait_new(
        self,
        method: str,
        count: int = 1,
        *,
        since: Mark,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Call]:
        """Wait until at least ``count`` calls to ``method`` were recorded after ``since``;
        return those calls (all of them made after the mark, oldest first)."""

        def ready() -> list[Call]:
            calls = self.calls_since(since, method)
            return calls if len(calls) >= count else []

        return list(
            await self._wait(
                ready,
                timeout,
                lambda: (
                    f"expected >= {count} new call(s) to {method} within {timeout}s, "
                    f"got {len(self.calls_since(since, method))}; calls since the mark: "
                    f"{dict(Counter(c.method for c in self.calls_since(since))) or 'none'}"
                ),
            )
        )

    async def until(
        self,
        check: Callable[[], object],
        what: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until `check()` holds, re-checked on every call and answer (no polling);
        fail naming `what`. For conditions on what the bot sent, e.g. a count of some kind
        of message."""
        await self._wait(
            lambda: bool(check()),
            timeout,
            lambda: f"not within {timeout}s: {what}; calls so far: {self._seen()}",
        )

    async def wait_answered(self, query_id: str, timeout: float = 5.0) -> JSONDict:  # noqa: ASYNC109
        """Wait until the callback query was answered; return the answerCallbackQuery params."""
        answered: JSONDict = await self._wait(
            lambda: self.answered.get(query_id),
            timeout,
            lambda: f"callback query {query_id} not answered within {timeout}s",
        )
        return answered

    def stub(self, method: str, result: Any) -> None:
        """Answer ``method`` with ``{"ok": true, "result": result}`` until reset()."""
        self._stubs[method.lower()] = (200, {"ok": True, "result": result})

    def delay(self, method: str, seconds: float) -> None:
        """Answer ``method`` only after ``seconds``, like a slow network or Bot API."""
        self._delays[method.lower()] = seconds

    def stub_error(self, method: str, error_code: int, description: str) -> None:
        """Make ``method`` fail like Telegram, e.g. (403, "Forbidden: bot was blocked by
        the user"). PTB maps 400/401/403/409 to BadRequest/InvalidToken/Forbidden/Conflict."""
        payload = {"ok": False, "error_code": error_code, "description": description}
        self._stubs[method.lower()] = (error_code, payload)

    def fail(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        times: int = 1,
        chat_id: int | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Fail the next ``times`` calls of ``method`` (only those to ``chat_id`` when given)
        like Telegram: e.g. (429, "Too Many Requests: retry after 2", retry_after=2), which
        PTB raises as RetryAfter, (403, "Forbidden: bot was blocked by the user"), or (400,
        "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=…),
        which PTB raises as ChatMigrated."""
        payload: JSONDict = {"ok": False, "error_code": error_code, "description": description}
        if retry_after is not None:
            payload["parameters"] = {"retry_after": retry_after}
        if migrate_to_chat_id is not None:  # 400: the group became this supergroup
            payload["parameters"] = {"migrate_to_chat_id": migrate_to_chat_id}
        self._failures.append(
            _Failure(method.lower(), error_code, payload, times,
                     None if chat_id is None else str(chat_id))
        )  # fmt: skip

    def _failure_for(self, method: str, params: JSONDict) -> _Failure | None:
        for failure in self._failures:
            if failure.method != method.lower() or failure.times <= 0:
                continue
            if failure.chat_id is not None and str(params.get("chat_id")) != failure.chat_id:
                continue
            failure.times -= 1
            return failure
        return None

    def reset(self) -> None:
        """Forget calls, queued updates, webhook, commands and stubs."""
        self._forgotten += len(self.calls)
        self.calls.clear()
        self._update_pushed.set()  # don't leave a long poll waiting on a dropped event
        self._init_state()

    # ------------------------------------------------------------------ serving

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params = await _read_params(request)
        self.calls.append(Call(method=method, params=params, token=token))
        self._notify()  # waiters on the call itself (with a delay(), long before the answer)
        try:
            return await self._answer(token, method, params)
        finally:
            self._notify()  # waiters on what the answer changed (messages, answered queries)

    async def _answer(self, token: str, method: str, params: JSONDict) -> web.Response:
        if token != self.token:
            return _error(401, "Unauthorized")
        if seconds := self._delays.get(method.lower()):
            await asyncio.sleep(seconds)
        if failure := self._failure_for(method, params):
            return web.json_response(failure.payload, status=failure.status)
        if stubbed := self._stubs.get(method.lower()):
            status, payload = stubbed
            return web.json_response(payload, status=status)
        handler = getattr(self, f"_api_{method.lower()}", None)
        try:
            result = await handler(params) if handler else True
        except _APIError as err:
            return _error(err.code, err.description)
        return web.json_response({"ok": True, "result": result})

    async def _api_getme(self, params: JSONDict) -> JSONDict:
        return self.bot_user

    async def _api_setwebhook(self, params: JSONDict) -> bool:
        self._maybe_drop_pending(params)
        self.webhook = dict(params) if params.get("url") else {}
        return True

    async def _api_deletewebhook(self, params: JSONDict) -> bool:
        self._maybe_drop_pending(params)
        self.webhook = {}
        return True

    async def _api_getwebhookinfo(self, params: JSONDict) -> JSONDict:
        # Like Telegram, this does not reveal secret_token; tests can read self.webhook.
        info: JSONDict = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        for key in ("max_connections", "allowed_updates", "ip_address"):
            if key in self.webhook:
                info[key] = self.webhook[key]
        return info

    async def _api_setmycommands(self, params: JSONDict) -> bool:
        self.commands[_commands_key(params)] = params.get("commands", [])
        return True

    async def _api_getmycommands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands.get(_commands_key(params), [])

    async def _api_deletemycommands(self, params: JSONDict) -> bool:
        self.commands.pop(_commands_key(params), None)
        return True

    async def _api_setchatmenubutton(self, params: JSONDict) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        self.menu_buttons[str(params.get("chat_id", ""))] = button
        return True

    async def _api_getchatmenubutton(self, params: JSONDict) -> JSONDict:
        return self.menu_buttons.get(str(params.get("chat_id", "")), {"type": "commands"})

    async def _api_sendmessage(self, params: JSONDict) -> JSONDict:
        if not str(params.get("text", "")).strip():
            raise _APIError(400, "Bad Request: message text is empty")
        message = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": _chat(params.get("chat_id")),
            "from": {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")},
            "text": params["text"],
        }
        self._next_message_id += 1
        # Telegram echoes these back in the sent Message (a reply markup only when it is an
        # inline keyboard: a ForceReply or reply keyboard is not part of the Message).
        if isinstance(params.get("entities"), list):
            message["entities"] = params["entities"]
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self.messages[(str(params["chat_id"]), str(message["message_id"]))] = message
        return message

    def message(self, chat_id: int | str, message_id: int | str) -> JSONDict:
        """The message as the chat shows it now (after any edits)."""
        return self.messages[(str(chat_id), str(message_id))]

    def last_message(self, chat_id: int | str) -> JSONDict:
        return [m for (chat, _), m in self.messages.items() if chat == str(chat_id)][-1]

    def _edited(self, params: JSONDict) -> JSONDict:
        if "inline_message_id" in params:
            raise _APIError(400, "Bad Request: MESSAGE_ID_INVALID")
        key = (str(params.get("chat_id")), str(params.get("message_id")))
        if key not in self.messages:
            raise _APIError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    async def _api_editmessagetext(self, params: JSONDict) -> JSONDict:
        message = self._edited(params)
        text = str(params.get("text", ""))
        if not text.strip():
            raise _APIError(400, "Bad Request: message text is empty")
        markup = params.get("reply_markup")
        if message.get("text") == text and message.get("reply_markup") == markup:
            # Telegram refuses an edit that changes nothing.
            raise _APIError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message["text"] = text
        message["edit_date"] = int(time.time())
        if isinstance(markup, dict):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    async def _api_editmessagereplymarkup(self, params: JSONDict) -> JSONDict:
        message = self._edited(params)
        markup = params.get("reply_markup")
        if message.get("reply_markup") == markup:
            raise _APIError(400, "Bad Request: message is not modified")
        if isinstance(markup, dict):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return message

    async def _api_answercallbackquery(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if not query_id:
            raise _APIError(400, "Bad Request: query id is empty")
        if query_id in self.answered:
            raise _APIError(400, "Bad Request: query is too old and response timeout expired")
        if len(str(params.get("text", ""))) > 200:
            raise _APIError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.answered[query_id] = params
        return True

    async def _api_getupdates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook:
            raise _APIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm(int(params.get("offset", 0)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(float(params.get("timeout", 0)), self.LONG_POLL_CAP)
        while not self._updates and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._update_pushed.wait(), remaining)
        return self._updates[: int(params.get("limit", 100))]

    def _confirm(self, offset: int) -> None:
        # Bot API: updates with update_id < offset are confirmed and forgotten. A negative
        # offset keeps only the last -offset updates.
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _maybe_drop_pending(self, params: JSONDict) -> None:
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()


class _APIError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _error(code: int, description: str) -> web.Response:
    payload = {"ok": False, "error_code": code, "description": description}
    return web.json_response(payload, status=code)


async def _read_params(request: web.Request) -> JSONDict:
    if request.content_type == "application/json":
        body = await request.text()
        return dict(json.loads(body)) if body.strip() else {}
    params: JSONDict = {key: _maybe_json(value) for key, value in request.query.items()}
    # post() parses both x-www-form-urlencoded and multipart/form-data.
    for key, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            params[key] = UploadedFile(value.filename, value.content_type, value.file.read())
        else:
            params[key] = _maybe_json(value)
    return params


def _maybe_json(value: str) -> Any:
    # Decode only JSON objects and arrays. Scalars stay strings so "123" texts are safe.
    if value.lstrip()[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _commands_key(params: JSONDict) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), params.get("language_code", "")


def _chat(chat_id: Any) -> JSONDict:
    try:
        numeric = int(chat_id)
    except (TypeError, ValueError):
        raise _APIError(400, "Bad Request: chat not found") from None
    # Telegram id conventions: positive = user, -100... = supergroup/channel, else group.
    if numeric > 0:
        return {"id": numeric, "type": "private"}
    return {"id": numeric, "type": "supergroup" if str(numeric).startswith("-100") else "group"}
