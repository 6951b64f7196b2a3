"""The auth middleware, the authenticators and the principal helpers, in memory: requests are
built without a server, and the collaborators that would reach the database are stand-ins
that record what they were asked."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from beanie import PydanticObjectId

from server.auth import authenticators
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
from server.services.accounts.access_gate import UserState
from server.services.accounts.tokens import AccessClaims, AccessTokens
from server.services.accounts.users import MAX_TELEGRAM_ID, TelegramProfile
from server.services.common.errors import (
    AccountDeactivated,
    InvalidInitData,
    InvalidToken,
    NotConfigured,
)
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


@pytest.mark.parametrize(
    ("authorization", "told"),
    [
        ("Bearer good", ("bearer", "accepted")),
        ("TMA init", ("tma", "accepted")),
        ("bEaReR bad", ("bearer", "refused")),
        (None, ("none", "refused")),
        ("", ("none", "refused")),
        ("Basic abc", ("other", "refused")),
        ("Bearer   ", ("other", "refused")),
        ("Bearer " + "x" * MAX_AUTHORIZATION_LENGTH, ("other", "refused")),
    ],
)
async def test_each_outcome_is_told_once_by_its_lower_cased_scheme(
    authorization: str | None, told: tuple[str, str]
) -> None:
    outcomes: list[tuple[str, str]] = []
    middleware = auth_middleware(
        [Fixed("Bearer"), Fixed("tma", accepts="init")], lambda *told: outcomes.append(told)
    )
    headers = {} if authorization is None else {"Authorization": authorization}

    if told[1] == "accepted":
        await middleware(request("GET", "/me", headers), protected(ok))
    else:
        with pytest.raises(Problem) as caught:
            await middleware(request("GET", "/me", headers), protected(ok))
        assert caught.value.status == 401

    assert outcomes == [told]


async def test_an_unprotected_handler_tells_no_outcome() -> None:
    outcomes: list[tuple[str, str]] = []
    middleware = auth_middleware([Fixed("Bearer")], lambda *told: outcomes.append(told))

    async def open_handler(request: web.Request) -> web.Response:
        return web.Response(text="open")

    await middleware(request("GET", "/", {"Authorization": "Bearer bad"}), open_handler)

    assert outcomes == []


async def test_without_a_callback_outcomes_go_nowhere() -> None:
    # The default callback: accepted and refused alike, nothing raised by it.
    middleware = auth_middleware([Fixed("Bearer")])

    await middleware(request("GET", "/", {"Authorization": "Bearer good"}), protected(ok))
    with pytest.raises(Problem):
        await middleware(request("GET", "/", {"Authorization": "Bearer bad"}), protected(ok))


# --- the gate (stand-in) -------------------------------------------------------------------


class Gate:
    """Stands in for AccessGate (whose own tests are test_access_gate.py): records what it is
    asked, answers `user_id`, or raises `error` (a revoked token, a deactivated account)."""

    def __init__(self, user_id: PydanticObjectId = USER_ID, error: Exception | None = None) -> None:
        self.user_id = user_id
        self.error = error
        self.claims: list[AccessClaims] = []
        self.known: dict[int, PydanticObjectId] = {}  # the fast path's answers
        self.admitted: list[int] = []
        self.valid_after = 0  # the user's tokens_valid_after (epoch ms)

    async def admit_token(self, claims: AccessClaims) -> PydanticObjectId:
        self.claims.append(claims)
        if self.error is not None:
            raise self.error
        return self.user_id

    def known_telegram_user(self, telegram_id: int) -> PydanticObjectId | None:
        return self.known.get(telegram_id)

    def known_telegram_state(self, telegram_id: int) -> UserState | None:
        user_id = self.known.get(telegram_id)
        if user_id is None:
            return None
        return UserState(user_id, True, self.valid_after, telegram_id, float("inf"))

    async def user_state(self, user_id: PydanticObjectId) -> UserState:
        return UserState(user_id, True, self.valid_after, 777, float("inf"))

    async def admit_telegram_user(
        self, telegram_id: int, resolve: Callable[[], Awaitable[PydanticObjectId]]
    ) -> PydanticObjectId:
        self.admitted.append(telegram_id)
        user_id = await resolve()
        if self.error is not None:
            raise self.error
        return user_id


# --- Bearer ---------------------------------------------------------------------------------

NOW = 1_700_000_000.25
ACCESS = AccessTokens(b"k" * 32, "iss", "aud", 900, clock=lambda: NOW)
GATE_ID = PydanticObjectId("6650c0ffee0123456789ffff")  # what the gate says, not the token


def bearer(gate: Gate) -> BearerAuthenticator:
    return BearerAuthenticator(ACCESS, gate)  # type: ignore[arg-type]


async def test_bearer_accepts_a_valid_access_token_the_gate_admits() -> None:
    gate = Gate(GATE_ID)

    principal = await bearer(gate).authenticate(ACCESS.issue(str(USER_ID)), request())

    assert principal == Principal(kind="user", scheme="Bearer", user_id=GATE_ID)
    assert gate.claims == [AccessClaims(str(USER_ID), int(NOW * 1000), None)]


async def test_bearer_names_the_tokens_session() -> None:
    gate = Gate()

    principal = await bearer(gate).authenticate(ACCESS.issue(str(USER_ID), "family-1"), request())

    assert principal == Principal("user", "Bearer", USER_ID, None, "family-1")
    assert [claims.session_id for claims in gate.claims] == ["family-1"]


EXPIRED = AccessTokens(b"k" * 32, "iss", "aud", 900, clock=lambda: NOW - 901)
OTHER_KEY = AccessTokens(b"o" * 32, "iss", "aud", 900, clock=lambda: NOW)


@pytest.mark.parametrize(
    "token",
    ["garbage", EXPIRED.issue(str(USER_ID)), OTHER_KEY.issue(str(USER_ID)), "é"],
    ids=["garbage", "expired", "other-key", "non-ascii"],
)
async def test_bearer_refuses_invalid_tokens_before_the_gate(token: str) -> None:
    gate = Gate()

    assert await bearer(gate).authenticate(token, request()) is None
    assert gate.claims == []


async def test_bearer_refuses_a_token_the_gate_revoked() -> None:
    # Revoked since (valid-after instant, ended session) or its user gone.
    gate = Gate(error=InvalidToken())

    assert await bearer(gate).authenticate(ACCESS.issue(str(USER_ID)), request()) is None
    assert len(gate.claims) == 1


async def test_bearer_lets_a_deactivated_account_through_as_its_403() -> None:
    gate = Gate(error=AccountDeactivated())

    with pytest.raises(AccountDeactivated):
        await bearer(gate).authenticate(ACCESS.issue(str(USER_ID)), request())


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
def gate() -> Gate:
    return Gate()


@pytest.fixture
def bots(users: Users, gate: Gate) -> BotAuthenticator:
    return BotAuthenticator([TOKEN_A, TOKEN_B], users, gate)  # type: ignore[arg-type]


@pytest.mark.parametrize("token", [TOKEN_A, TOKEN_B])
async def test_each_listed_token_is_its_own_bot(
    bots: BotAuthenticator, gate: Gate, token: str
) -> None:
    principal = await bots.authenticate(token, request())

    assert principal == Principal(kind="bot", scheme="Bot", bot_name=fingerprint(token))
    assert gate.admitted == []


@pytest.mark.parametrize(
    "token", ["", "wrong", TOKEN_A[:-1], TOKEN_A + "x", TOKEN_A.upper(), "ключ", "\udcff"]
)
async def test_other_tokens_are_refused(bots: BotAuthenticator, token: str) -> None:
    assert await bots.authenticate(token, request()) is None


async def test_no_tokens_configured_refuses_everything(users: Users, gate: Gate) -> None:
    none = BotAuthenticator([], users, gate)  # type: ignore[arg-type]

    assert await none.authenticate("", request()) is None
    assert await none.authenticate(TOKEN_A, request()) is None


async def test_a_bot_acts_for_the_named_telegram_user(
    bots: BotAuthenticator, users: Users, gate: Gate
) -> None:
    req = request(headers={TELEGRAM_USER_HEADER: "12345"})

    principal = await bots.authenticate(TOKEN_B, req)

    assert principal == Principal(
        kind="user", scheme="Bot", user_id=USER_ID, bot_name=fingerprint(TOKEN_B)
    )
    # Resolved through the gate (which checks the user still exists and is active).
    assert (gate.admitted, users.asked) == ([12345], [12345])


async def test_a_telegram_user_the_gate_knows_is_not_looked_up(
    bots: BotAuthenticator, users: Users, gate: Gate
) -> None:
    gate.known[12345] = GATE_ID

    principal = await bots.authenticate(TOKEN_A, request(headers={TELEGRAM_USER_HEADER: "12345"}))

    assert principal is not None
    assert principal.user_id == GATE_ID
    assert (gate.admitted, users.asked) == ([], [])


@pytest.mark.parametrize("error", [AccountDeactivated(), InvalidToken()])
async def test_the_gates_refusal_of_a_telegram_user_is_not_swallowed(
    users: Users, error: Exception
) -> None:
    # A deactivated user is a 403; a user deleted between two lookups is an error, not a bot.
    bots = BotAuthenticator([TOKEN_A], users, Gate(error=error))  # type: ignore[arg-type]

    with pytest.raises(type(error)):
        await bots.authenticate(TOKEN_A, request(headers={TELEGRAM_USER_HEADER: "12345"}))


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
    bots: BotAuthenticator, users: Users, gate: Gate, value: str
) -> None:
    with pytest.raises(Problem) as caught:
        await bots.authenticate(TOKEN_A, request(headers={TELEGRAM_USER_HEADER: value}))

    found = caught.value
    assert (found.status, found.slug) == (422, "validation-error")
    assert found.detail == "X-Telegram-User-Id must be a positive Telegram user id"
    assert found.errors == [{"field": TELEGRAM_USER_HEADER, "message": "Invalid Telegram user id",
                             "type": "telegram_user_id"}]  # fmt: skip
    assert (users.asked, gate.admitted) == ([], [])


async def test_a_wrong_token_is_refused_before_the_user_header_is_read(
    bots: BotAuthenticator, users: Users
) -> None:
    assert await bots.authenticate("wrong", request(headers={TELEGRAM_USER_HEADER: "x"})) is None
    assert users.asked == []


# --- Bot: the fast path (`known`, from the caches alone) ---------------------------------------


def as_user(telegram_id: str) -> web.Request:
    return request(headers={TELEGRAM_USER_HEADER: telegram_id})


async def test_known_answers_a_bot_acting_as_itself(bots: BotAuthenticator) -> None:
    assert bots.known(TOKEN_B, request()) == Principal(
        kind="bot", scheme="Bot", bot_name=fingerprint(TOKEN_B)
    )
    assert bots.known("wrong", request()) is None
    assert bots.known("wrong", as_user("12345")) is None


async def test_known_answers_a_user_once_authenticated_while_the_gate_agrees(
    bots: BotAuthenticator, users: Users, gate: Gate
) -> None:
    assert bots.known(TOKEN_A, as_user("12345")) is None  # never seen: `authenticate` decides
    principal = await bots.authenticate(TOKEN_A, as_user("12345"))
    gate.known[12345] = USER_ID  # the gate remembers the very user id it admitted

    assert bots.known(TOKEN_A, as_user("12345")) is principal
    assert (gate.admitted, users.asked) == ([12345], [12345])  # nothing asked again


async def test_known_forgets_a_user_the_gate_maps_elsewhere(
    bots: BotAuthenticator, gate: Gate
) -> None:
    await bots.authenticate(TOKEN_A, as_user("12345"))

    assert bots.known(TOKEN_A, as_user("12345")) is None  # the gate has no answer (expired)
    gate.known[12345] = GATE_ID  # merged into another account since
    assert bots.known(TOKEN_A, as_user("12345")) is None


async def test_known_users_are_remembered_per_user_and_per_bot(
    bots: BotAuthenticator, gate: Gate
) -> None:
    first = await bots.authenticate(TOKEN_A, as_user("1"))
    second = await bots.authenticate(TOKEN_A, as_user("2"))
    gate.known.update({1: USER_ID, 2: USER_ID})

    assert bots.known(TOKEN_A, as_user("1")) is first
    assert bots.known(TOKEN_A, as_user("2")) is second
    assert bots.known(TOKEN_A, as_user("3")) is None
    assert bots.known(TOKEN_B, as_user("1")) is None  # another bot: its own users


def test_remembered_principals_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(authenticators, "MAX_REMEMBERED_PRINCIPALS", 3)
    cache: dict[str, tuple[int, Principal]] = {}
    one, two = (1, Principal("user", "Bot")), (2, Principal("user", "tma"))

    for key in ("a", "b", "c"):
        authenticators._remember(cache, key, one)
    authenticators._remember(cache, "c", two)  # full, but a key it holds: replaced in place
    assert cache == {"a": one, "b": one, "c": two}
    authenticators._remember(cache, "d", two)  # full: emptied, then the new one
    assert cache == {"d": two}


# --- tma ------------------------------------------------------------------------------------

PROFILE = TelegramProfile(777, first_name="Ann")


class ProfileUsers:
    """Stands in for Users on the Mini App path: records the profiles it resolves."""

    def __init__(self) -> None:
        self.asked: list[TelegramProfile] = []

    async def user_id(self, profile: TelegramProfile) -> PydanticObjectId:
        self.asked.append(profile)
        return USER_ID


class Auth:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.asked: list[str] = []
        self.users = ProfileUsers()

    def mini_app_user(self, init_data: str) -> TelegramProfile:
        return self.mini_app_user_dated(init_data)[0]

    def mini_app_user_dated(self, init_data: str) -> tuple[TelegramProfile, int]:
        self.asked.append(init_data)
        if self.error is not None:
            raise self.error
        return PROFILE, SIGNED_AT


SIGNED_AT = 1_700_000_000  # the init data's auth_date (epoch seconds)


def mini_app(auth: Auth, gate: Gate) -> MiniAppAuthenticator:
    return MiniAppAuthenticator(auth, gate)  # type: ignore[arg-type]


async def test_tma_acts_for_the_mini_app_user_checked_by_the_gate() -> None:
    auth, gate = Auth(), Gate()

    principal = await mini_app(auth, gate).authenticate("init", request())

    assert principal == Principal(kind="user", scheme="tma", user_id=USER_ID)
    assert auth.asked == ["init"]
    # First sight: resolved by the whole profile, then the gate checks that user.
    assert gate.admitted == [777]
    assert auth.users.asked == [PROFILE, PROFILE]


async def test_tma_skips_the_gates_lookup_when_it_knows_the_same_user() -> None:
    auth, gate = Auth(), Gate()
    gate.known[777] = USER_ID  # the very object Users answers

    principal = await mini_app(auth, gate).authenticate("init", request())

    assert principal == Principal(kind="user", scheme="tma", user_id=USER_ID)
    assert (gate.admitted, auth.users.asked) == ([], [PROFILE])


async def test_tma_asks_the_gate_when_it_knows_another_user() -> None:
    # The Telegram id was merged into another account: the gate's mapping is stale.
    auth, gate = Auth(), Gate()
    gate.known[777] = GATE_ID

    principal = await mini_app(auth, gate).authenticate("init", request())

    assert principal == Principal(kind="user", scheme="tma", user_id=USER_ID)
    assert gate.admitted == [777]


@pytest.mark.parametrize(
    "error",
    [InvalidInitData("forged"), InvalidInitData("no user", field="user"), NotConfigured("no bot")],
    ids=["forged", "signed-but-incomplete", "no-bot"],
)
async def test_tma_refuses_forged_data_or_no_bot(error: Exception) -> None:
    auth, gate = Auth(error), Gate()

    assert await mini_app(auth, gate).authenticate("init", request()) is None
    assert (gate.admitted, auth.users.asked) == ([], [])


async def test_tma_refuses_a_user_the_gate_finds_gone() -> None:
    gate = Gate(error=InvalidToken())  # deleted again between the two lookups

    assert await mini_app(Auth(), gate).authenticate("init", request()) is None


async def test_tma_lets_a_deactivated_account_through_as_its_403() -> None:
    with pytest.raises(AccountDeactivated):
        await mini_app(Auth(), Gate(error=AccountDeactivated())).authenticate("init", request())


async def test_tma_known_answers_remembered_init_data_still_fresh_while_the_gate_agrees() -> None:
    auth, gate = Auth(), Gate()
    authenticator = mini_app(auth, gate)
    assert authenticator.known("init", request()) is None  # never seen

    principal = await authenticator.authenticate("init", request())
    gate.known[777] = USER_ID

    assert authenticator.known("init", request()) is principal
    assert authenticator.known("other init", request()) is None
    assert auth.asked == ["init", "init"]  # its freshness checked again
    gate.known[777] = GATE_ID  # merged into another account since
    assert authenticator.known("init", request()) is None
    gate.known[777] = USER_ID
    auth.error = InvalidInitData("expired")
    assert authenticator.known("init", request()) is None


async def test_tma_refuses_init_data_signed_before_the_users_last_revocation() -> None:
    auth, gate = Auth(), Gate()
    authenticator = mini_app(auth, gate)
    gate.valid_after = SIGNED_AT * 1000  # revoked at the very second it was signed: still good
    principal = await authenticator.authenticate("init", request())
    assert principal is not None
    gate.known[777] = USER_ID
    assert authenticator.known("init", request()) is principal

    gate.valid_after = SIGNED_AT * 1000 + 1  # log out everywhere, a password set, …

    assert authenticator.known("init", request()) is None  # the fast path lets it go …
    assert await authenticator.authenticate("init", request()) is None  # … and it is refused
    gate.valid_after = 0
    assert authenticator.known("init", request()) is None  # forgotten: checked afresh


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
