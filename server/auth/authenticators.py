"""One class per Authorization scheme. Each returns a Principal, or None to refuse."""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol, TypeVar

from aiohttp import web

from server.auth.principal import Principal
from server.http.problems import Problem
from server.services.accounts.access_gate import AccessGate
from server.services.accounts.auth import AuthService, check_not_revoked
from server.services.accounts.tokens import AccessTokens
from server.services.accounts.users import Users, is_telegram_id
from server.services.common.errors import InvalidInitData, InvalidToken, NotConfigured

TELEGRAM_USER_HEADER = "X-Telegram-User-Id"
# Principals remembered per credential (Bot acting for a user, tma): bounded like the other
# per-process caches (emptied when full; refilling costs one `authenticate` each).
MAX_REMEMBERED_PRINCIPALS = 10_000
T = TypeVar("T")


class Authenticator(Protocol):
    """Each may also have `known(credentials, request) -> Principal | None`: the answer for a
    repeat caller from its caches alone, without a coroutine (the auth middleware's fast path,
    ~1 us a request). None there only means "not known"; `authenticate` then decides."""

    scheme: str  # as written in WWW-Authenticate; matched case-insensitively

    async def authenticate(self, credentials: str, request: web.Request) -> Principal | None: ...


class BearerAuthenticator:
    """A user's access JWT: signed and unexpired, and not revoked since (AccessGate: the
    user's "tokens valid after" instant, its session, the user active)."""

    scheme = "Bearer"

    def __init__(self, access: AccessTokens, gate: AccessGate) -> None:
        self._access = access
        self._gate = gate

    async def authenticate(self, credentials: str, request: web.Request) -> Principal | None:
        try:
            claims = self._access.verify_claims(credentials)
            user_id = await self._gate.admit_token(claims)
        except InvalidToken:
            return None
        return Principal("user", "Bearer", user_id, None, claims.session_id)


class BotAuthenticator:
    """A trusted bot client's service token (BOT_API_TOKENS), optionally acting for a
    Telegram user named by X-Telegram-User-Id, who is created on first sight like /start."""

    scheme = "Bot"

    def __init__(self, tokens: list[str], users: Users, gate: AccessGate) -> None:
        self._users = users
        self._gate = gate
        # Compare digests: equal lengths, so compare_digest leaks nothing, not even length.
        # The bot-as-itself principal is immutable: built once per token, not per request.
        # Per token too: X-Telegram-User-Id value -> (Telegram id, the principal acting for
        # that user), valid while the gate still maps the id to that very user id object.
        self._tokens = [
            (
                _digest(token),
                Principal(kind="bot", scheme=self.scheme, bot_name=_name(token)),
                dict[str, tuple[int, Principal]](),
            )
            for token in tokens
        ]

    def _bot(self, credentials: str) -> tuple[Principal, dict[str, tuple[int, Principal]]] | None:
        presented = _digest(credentials)
        found = None
        for digest, principal, acting in self._tokens:  # no early exit: time tells nothing
            if hmac.compare_digest(presented, digest):
                found = principal, acting
        return found

    def known(self, credentials: str, request: web.Request) -> Principal | None:
        found = self._bot(credentials)
        if found is None:
            return None
        header = request.headers.get(TELEGRAM_USER_HEADER)
        if header is None:
            return found[0]
        remembered = found[1].get(header)
        if remembered is None:
            return None
        telegram_id, principal = remembered
        # The gate's answer (within its bound; AccountDeactivated raises from here too).
        if self._gate.known_telegram_user(telegram_id) is not principal.user_id:
            return None
        return principal

    async def authenticate(self, credentials: str, request: web.Request) -> Principal | None:
        found = self._bot(credentials)
        if found is None:
            return None
        bot, acting = found
        header = request.headers.get(TELEGRAM_USER_HEADER)
        if header is None:
            return bot
        telegram_id = _telegram_id(header)
        user_id = self._gate.known_telegram_user(telegram_id) or (
            await self._gate.admit_telegram_user(
                telegram_id, lambda: self._users.user_id_by_telegram_id(telegram_id)
            )
        )
        principal = Principal(
            kind="user", scheme=self.scheme, user_id=user_id, bot_name=bot.bot_name
        )
        _remember(acting, header, (telegram_id, principal))
        return principal


class MiniAppAuthenticator:
    """`tma <initData>`: a Telegram Mini App user, checked on every request. Init data signed
    before the user's last revocation (log out everywhere, a password set or changed) is
    refused like the access tokens of then."""

    scheme = "tma"

    def __init__(self, auth: AuthService, gate: AccessGate) -> None:
        self._auth = auth
        self._gate = gate
        # Init data -> (Telegram id, auth_date in ms, the principal it was admitted as): a
        # Mini App sends the same init data with every request. Valid while the gate maps the
        # Telegram id to that user id and the user's revocations are older than auth_date.
        self._principals: dict[str, tuple[int, int, Principal]] = {}

    def known(self, credentials: str, request: web.Request) -> Principal | None:
        remembered = self._principals.get(credentials)
        if remembered is None:
            return None
        telegram_id, signed_ms, principal = remembered
        try:
            self._auth.mini_app_user(credentials)  # its freshness, every time
        except (InvalidInitData, NotConfigured):
            return None
        state = self._gate.known_telegram_state(telegram_id)
        if state is None or state.user_id is not principal.user_id:
            return None
        if signed_ms < state.tokens_valid_after:
            return None  # revoked since: the slow path refuses it (and forgets it)
        return principal

    async def authenticate(self, credentials: str, request: web.Request) -> Principal | None:
        try:
            profile, auth_date = self._auth.mini_app_user_dated(credentials)
            # Through Users first (keyed by the whole profile: a changed name reaches the
            # account at once), then the gate (deleted, merged away, deactivated).
            user_id = await self._auth.users.user_id(profile)
            if self._gate.known_telegram_user(profile.telegram_id) is not user_id:
                user_id = await self._gate.admit_telegram_user(
                    profile.telegram_id, lambda: self._auth.users.user_id(profile)
                )
            state = await self._gate.user_state(user_id)
            check_not_revoked(auth_date, state.tokens_valid_after)
        except (InvalidInitData, NotConfigured, InvalidToken):
            self._principals.pop(credentials, None)
            return None
        principal = Principal(kind="user", scheme=self.scheme, user_id=user_id)
        _remember(self._principals, credentials, (profile.telegram_id, auth_date * 1000, principal))
        return principal


def _remember(cache: dict[str, T], key: str, value: T) -> None:
    if len(cache) >= MAX_REMEMBERED_PRINCIPALS and key not in cache:
        cache.clear()
    cache[key] = value


def _name(token: str) -> str:
    return f"bot-{_digest(token).hex()[:8]}"  # a fingerprint: names the token, reveals nothing


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def _telegram_id(header: str) -> int:
    if header.isascii() and header.isdigit() and len(header) <= 16:
        value = int(header)
        if is_telegram_id(value):
            return value
    raise _bad_user_header()


def _bad_user_header() -> Problem:
    return Problem(
        422,
        f"{TELEGRAM_USER_HEADER} must be a positive Telegram user id",
        slug="validation-error",
        errors=[{"field": TELEGRAM_USER_HEADER, "message": "Invalid Telegram user id",
                 "type": "telegram_user_id"}],
    )  # fmt: skip
