"""The auth middleware, the authenticators and the principal helpers, in memory: requests are
built without a server, and the collaborators that would reach the database are stand-ins
that record what they were asked."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from aiohttp import web
from beanie import PydanticObjectId

from server.auth.authenticators import (
    TELEGRAM_USER_HEADER,
    BearerAuthenticator,
    BotAuthenticator,
    MiniAppAuthenticator,
)
from server.auth.middleware import MAX_AUTHORIZATION_LENGTH, auth_middleware
from server.auth.principal import (
    PRINCIPAL_KEY,
    Principal,
    principal_of,
    protected,
    require_user,
)
from server.http.problems import Problem
from server.services.errors import InvalidInitData, NotConfigured
from server.services.tokens import AccessTokens
from server.services.users import MAX_TELEGRAM_ID
from tests.unit.requests import request

USER_ID = PydanticObjectId("6650c0ffee0123456789abcd")
TOKEN_A = "bot-token-a-0123456789abcdefghijklmnop"
TOKEN_B = "bot-token-b-0123456789abcdefghijklmnop"


class Fixed:
    """An authenticator that accepts one credential and records what it saw."""

    def __init__(self, scheme: str, accepts: str = "good") -> None:
        self.scheme = scheme
        self.accepts = accepts
        self.seen: list[str] = []

    async def authenticate(self, credentials: str, request: web.Request) -> Principal | None:
        self.seen.append(credentials)
        if credentials != self.accepts:
            return None
        return Principal(kind="user", scheme=self.scheme, user_id=USER_ID)


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def call(
    authorization: str | None, *authenticators: Any, handler: Any = None
) -> tuple[web.StreamResponse, web.Request]:
    middleware = auth_middleware(authenticators or [Fixed("Bearer"), Fixed("tma")])
    headers = {} if authorization is None else {"Authorization": authorization}
    req = request("GET", "/me", headers)
    response = await middleware(req, handler or protected(ok))
    return response, req


async def refusal(authorization: str | None, *authenticators: Any) -> Problem:
    with pytest.raises(Problem) as caught:
        await call(authorization, *authenticators)
    return caught.value


# --- the middleware -------------------------------------------------------------------------


async def test_an_unprotected_handler_runs_without_credentials() -> None:
    bearer = Fixed("Bearer")

    async def open_handler(request: web.Request) -> web.Response:
        return web.Response(text="open")

    response, req = await call("Bearer bad", bearer, handler=open_handler)

    assert response.text == "open"  # type: ignore[attr-defined]
    assert bearer.seen == []
    assert PRINCIPAL_KEY not in req


async def test_accepted_credentials_set_the_principal() -> None:
    response, req = await call("Bearer good")

    assert response.text == "ok"  # type: ignore[attr-defined]
    assert principal_of(req) == Principal(kind="user", scheme="Bearer", user_id=USER_ID)


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
async def test_the_scheme_is_case_insensitive(scheme: str) -> None:
    _, req = await call(f"{scheme} good")

    assert principal_of(req).scheme == "Bearer"


async def test_the_scheme_picks_the_authenticator() -> None:
    bearer, tma = Fixed("Bearer"), Fixed("tma", accepts="init")

    _, req = await call("tma init", bearer, tma)

    assert (bearer.seen, tma.seen) == ([], ["init"])
    assert principal_of(req).scheme == "tma"


async def test_credentials_are_stripped() -> None:
    bearer = Fixed("Bearer")

    await call("Bearer    good  ", bearer)

    assert bearer.seen == ["good"]


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "Credentials are required"),
        ("", "Credentials are required"),
        ("Basic abc", "Unsupported or malformed Authorization header"),
        ("Bearer", "Unsupported or malformed Authorization header"),
        ("Bearer ", "Unsupported or malformed Authorization header"),
        ("Bearer    ", "Unsupported or malformed Authorization header"),
        ("Bearergood", "Unsupported or malformed Authorization header"),
        ("Bearer bad", "The credentials are invalid or expired"),
    ],
)
async def test_each_refusal_is_a_401_with_a_challenge(
    authorization: str | None, detail: str
) -> None:
    found = await refusal(authorization)

    assert (found.status, found.slug, found.detail) == (401, "unauthorized", detail)
    assert found.headers == {"WWW-Authenticate": 'Bearer realm="api", tma realm="api"'}


async def test_the_length_limit_is_exact() -> None:
    bearer = Fixed("Bearer", accepts="x" * (MAX_AUTHORIZATION_LENGTH - len("Bearer ")))
    longest = "Bearer " + bearer.accepts

    await call(longest, bearer)
    found = await refusal(longest + "x", bearer)

    assert found.detail == "The Authorization header is too long"
    assert len(bearer.seen) == 1  # the long one never reached the authenticator


async def test_the_challenge_names_every_scheme_once() -> None:
    found = await refusal(None, Fixed("Bearer"), Fixed("Bot"), Fixed("tma"), Fixed("bearer"))

    assert (
        found.headers["WWW-Authenticate"] == 'bearer realm="api", Bot realm="api", tma realm="api"'
    )


# --- Bearer ---------------------------------------------------------------------------------

ACCESS = AccessTokens(b"k" * 32, "iss", "aud", 900)


async def test_bearer_accepts_a_valid_access_token() -> None:
    principal = await BearerAuthenticator(ACCESS).authenticate(
        ACCESS.issue(str(USER_ID)), request()
    )

    assert principal == Principal(kind="user", scheme="Bearer", user_id=USER_ID)
    assert principal is not None
    assert type(principal.user_id) is PydanticObjectId


@pytest.mark.parametrize("token", ["garbage", ACCESS.issue("not-an-object-id"), ACCESS.issue("")])
async def test_bearer_refuses_invalid_tokens_and_subjects(token: str) -> None:
    assert await BearerAuthenticator(ACCESS).authenticate(token, request()) is None


# --- Bot ------------------------------------------------------------------------------------


class Users:
    """Stands in for Users: records the Telegram ids it is asked to resolve."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    async def user_id_by_telegram_id(self, telegram_id: int) -> PydanticObjectId:
        self.asked.append(telegram_id)
        return USER_ID


def fingerprint(token: str) -> str:
    return "bot-" + hashlib.sha256(token.encode()).hexdigest()[:8]


@pytest.fixture
def users() -> Users:
    return Users()


@pytest.fixture
def bots(users: Users) -> BotAuthenticator:
    return BotAuthenticator([TOKEN_A, TOKEN_B], users)  # type: ignore[arg-type]


@pytest.mark.parametrize("token", [TOKEN_A, TOKEN_B])
async def test_each_listed_token_is_its_own_bot(bots: BotAuthenticator, token: str) -> None:
    principal = await bots.authenticate(token, request())

    assert principal == Principal(kind="bot", scheme="Bot", bot_name=fingerprint(token))


@pytest.mark.parametrize(
    "token", ["", "wrong", TOKEN_A[:-1], TOKEN_A + "x", TOKEN_A.upper(), "ключ", "\udcff"]
)
async def test_other_tokens_are_refused(bots: BotAuthenticator, token: str) -> None:
    assert await bots.authenticate(token, request()) is None


async def test_no_tokens_configured_refuses_everything(users: Users) -> None:
    none = BotAuthenticator([], users)  # type: ignore[arg-type]

    assert await none.authenticate("", request()) is None
    assert await none.authenticate(TOKEN_A, request()) is None


async def test_a_bot_acts_for_the_named_telegram_user(bots: BotAuthenticator, users: Users) -> None:
    req = request(headers={TELEGRAM_USER_HEADER: "12345"})

    principal = await bots.authenticate(TOKEN_B, req)

    assert principal == Principal(
        kind="user", scheme="Bot", user_id=USER_ID, bot_name=fingerprint(TOKEN_B)
    )
    assert users.asked == [12345]


@pytest.mark.parametrize("value", ["1", "4503599627370495", "0000000000000001"])
async def test_telegram_user_ids_in_range(bots: BotAuthenticator, users: Users, value: str) -> None:
    await bots.authenticate(TOKEN_A, request(headers={TELEGRAM_USER_HEADER: value}))

    assert users.asked == [int(value)]


@pytest.mark.parametrize(
    "value",
    ["", "0", "-1", "+1", "1.0", "1e3", " 1", "abc", "٣", "１２３", str(MAX_TELEGRAM_ID),
     "1" * 17, "00000000000000001"],
)  # fmt: skip
async def test_invalid_telegram_user_ids_are_422_naming_the_header(
    bots: BotAuthenticator, users: Users, value: str
) -> None:
    with pytest.raises(Problem) as caught:
        await bots.authenticate(TOKEN_A, request(headers={TELEGRAM_USER_HEADER: value}))

    found = caught.value
    assert (found.status, found.slug) == (422, "validation-error")
    assert found.detail == "X-Telegram-User-Id must be a positive Telegram user id"
    assert found.errors == [{"field": TELEGRAM_USER_HEADER, "message": "Invalid Telegram user id",
                             "type": "telegram_user_id"}]  # fmt: skip
    assert users.asked == []


async def test_a_wrong_token_is_refused_before_the_user_header_is_read(
    bots: BotAuthenticator, users: Users
) -> None:
    assert await bots.authenticate("wrong", request(headers={TELEGRAM_USER_HEADER: "x"})) is None
    assert users.asked == []


# --- tma ------------------------------------------------------------------------------------


class Auth:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.asked: list[str] = []

    async def telegram_user_id(self, init_data: str) -> PydanticObjectId:
        self.asked.append(init_data)
        if self.error is not None:
            raise self.error
        return USER_ID


async def test_tma_acts_for_the_mini_app_user() -> None:
    auth = Auth()

    principal = await MiniAppAuthenticator(auth).authenticate("init", request())  # type: ignore[arg-type]

    assert principal == Principal(kind="user", scheme="tma", user_id=USER_ID)
    assert auth.asked == ["init"]


@pytest.mark.parametrize("error", [InvalidInitData("forged"), NotConfigured("no bot")])
async def test_tma_refuses_forged_data_or_no_bot(error: Exception) -> None:
    authenticator = MiniAppAuthenticator(Auth(error))  # type: ignore[arg-type]

    assert await authenticator.authenticate("init", request()) is None


async def test_a_signed_but_incomplete_tma_is_not_swallowed() -> None:
    # InvalidInitData with a field is still an InvalidInitData: refused as credentials.
    authenticator = MiniAppAuthenticator(Auth(InvalidInitData("no user", field="user")))  # type: ignore[arg-type]

    assert await authenticator.authenticate("init", request()) is None


# --- principal helpers ----------------------------------------------------------------------


def test_require_user_returns_the_user() -> None:
    req = request()
    req[PRINCIPAL_KEY] = Principal(kind="user", scheme="Bearer", user_id=USER_ID)

    assert require_user(req) == USER_ID


def test_require_user_refuses_a_bot_acting_as_itself() -> None:
    req = request()
    req[PRINCIPAL_KEY] = Principal(kind="bot", scheme="Bot", bot_name="bot-1")

    with pytest.raises(Problem) as caught:
        require_user(req)

    assert (caught.value.status, caught.value.slug) == (403, "user-required")
    assert caught.value.detail == "This needs a user: send X-Telegram-User-Id"


def test_protected_marks_the_handler_and_returns_it() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    assert protected(handler) is handler
    assert handler.__requires_auth__ is True  # type: ignore[attr-defined]


def test_principal_defaults() -> None:
    principal = Principal(kind="bot", scheme="Bot")

    assert (principal.user_id, principal.bot_name) == (None, None)
