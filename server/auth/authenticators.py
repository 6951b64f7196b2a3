"""One class per Authorization scheme. Each returns a Principal, or None to refuse."""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol

from aiohttp import web

from server.auth.principal import Principal
from server.http.problems import Problem
from server.services.access_gate import AccessGate
from server.services.auth import AuthService
from server.services.errors import InvalidInitData, InvalidToken, NotConfigured
from server.services.tokens import AccessTokens
from server.services.users import Users, is_telegram_id

TELEGRAM_USER_HEADER = "X-Telegram-User-Id"


class Authenticator(Protocol):
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
        self._tokens = [
            (_digest(token), Principal(kind="bot", scheme=self.scheme, bot_name=_name(token)))
            for token in tokens
        ]

    async def authenticate(self, credentials: str, request: web.Request) -> Principal | None:
        presented = _digest(credentials)
        bot = None
        for digest, principal in self._tokens:  # no early exit: time does not tell which
            if hmac.compare_digest(presented, digest):
                bot = principal
        if bot is None:
            return None
        header = request.headers.get(TELEGRAM_USER_HEADER)
        if header is None:
            return bot
        telegram_id = _telegram_id(header)
        user_id = self._gate.known_telegram_user(telegram_id) or (
            await self._gate.admit_telegram_user(
                telegram_id, lambda: self._users.user_id_by_telegram_id(telegram_id)
            )
        )
        return Principal(kind="user", scheme=self.scheme, user_id=user_id, bot_name=bot.bot_name)


class MiniAppAuthenticator:
    """`tma <initData>`: a Telegram Mini App user, checked on every request."""

    scheme = "tma"

    def __init__(self, auth: AuthService, gate: AccessGate) -> None:
        self._auth = auth
        self._gate = gate

    async def authenticate(self, credentials: str, request: web.Request) -> Principal | None:
        try:
            profile = self._auth.mini_app_user(credentials)
            # Through Users first (keyed by the whole profile: a changed name reaches the
            # account at once), then the gate (deleted, merged away, deactivated).
            user_id = await self._auth.users.user_id(profile)
            if self._gate.known_telegram_user(profile.telegram_id) is not user_id:
                user_id = await self._gate.admit_telegram_user(
                    profile.telegram_id, lambda: self._auth.users.user_id(profile)
                )
        except (InvalidInitData, NotConfigured, InvalidToken):
            return None
        return Principal(kind="user", scheme=self.scheme, user_id=user_id)


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
