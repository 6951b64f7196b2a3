"""Register, log in, refresh and log out: the account rules, in one place."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from beanie import PydanticObjectId
from beanie.operators import Set
from pymongo.errors import DuplicateKeyError, PyMongoError

from models import RefreshSession, SpentRefreshToken, User
from models.clock import utcnow
from server.services.errors import (
    InvalidCredentials,
    InvalidToken,
    NotConfigured,
    PasswordTooCommon,
    UsernameTaken,
    UserNotFound,
)
from server.services.passwords import Passwords
from server.services.telegram_auth import InitDataVerifier
from server.services.throttle import Limit, RateLimiter
from server.services.tokens import AccessTokens, TokenPair, hash_refresh_token, new_refresh_token
from server.services.users import TelegramProfile, Users, normalize_username

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuthLimits:
    login_per_username_and_address: Limit  # tight: one stranger cannot lock the owner out
    login_per_username: Limit  # loose: guessing spread over many addresses
    login_per_address: Limit
    register_per_address: Limit
    telegram_per_address: Limit


class AuthService:
    def __init__(
        self,
        passwords: Passwords,
        access: AccessTokens,
        refresh_ttl: int,
        limits: AuthLimits,
        limiter: RateLimiter,
        users: Users,
        common_passwords: frozenset[str],
        init_data: InitDataVerifier | None = None,
        user_seen: Callable[[PydanticObjectId], Awaitable[object]] | None = None,
    ) -> None:
        self.passwords = passwords
        self.access = access
        self.refresh_ttl = refresh_ttl
        self.limits = limits
        self.limiter = limiter
        self.users = users
        self.common_passwords = common_passwords
        self.init_data = init_data  # None when no bot token is configured
        # Called with a user's id on every sign-in and Mini App request (the tasks service
        # creates the built-in lists on first sight; it remembers whom it has seen).
        self.user_seen = user_seen

    async def _seen(self, user_id: PydanticObjectId | None) -> None:
        if self.user_seen is not None and user_id is not None:
            await self.user_seen(user_id)

    def _mini_app_user(self, init_data: str) -> TelegramProfile:
        if self.init_data is None:
            raise NotConfigured("Telegram sign-in needs TELEGRAM_BOT_TOKEN on the server")
        return self.init_data.verify(init_data)

    async def telegram_user_id(self, init_data: str) -> PydanticObjectId:
        """The user a Mini App's signed init data speaks for (per request: `tma`), created on
        first sight."""
        user_id = await self.users.user_id(self._mini_app_user(init_data))
        await self._seen(user_id)
        return user_id

    async def telegram_sign_in(self, init_data: str, client: str) -> tuple[User, TokenPair]:
        await self.limiter.hit((self.limits.telegram_per_address, client))
        user, _ = await self.users.ensure_telegram_user(self._mini_app_user(init_data))
        await self._seen(user.id)
        return user, await self.open_session(user)

    async def register(self, username: str, password: str, client: str) -> tuple[User, TokenPair]:
        """Create a password account. The unique index, not a prior lookup, decides races."""
        await self.limiter.hit((self.limits.register_per_address, client))
        if password.lower() in self.common_passwords:
            raise PasswordTooCommon()
        user = User(
            username=username,
            username_normalized=normalize_username(username),
            password_hash=await self.passwords.hash(password),
        )
        try:
            await user.insert()
        except DuplicateKeyError:
            raise UsernameTaken() from None
        log.info("user registered: %s", user.id)
        try:
            await self._seen(user.id)
        except PyMongoError:
            # The account exists: its lists are made on its first use instead; a failed
            # register would leave a taken username and no tokens.
            log.warning("user %s: built-in lists not created at registration", user.id)
        return user, await self.open_session(user)

    async def login(self, username: str, password: str, client: str) -> TokenPair:
        """Check a password. Attempts are counted before the check (parallel guesses cannot
        slip past a limit), for usernames that exist or not alike (a 429 tells nothing), and a
        success is forgiven. The counts are tiered: per address and per (username, address)
        first; only an attempt those let through counts against the username across all
        addresses, so one address hammering away cannot use up the owner's allowance."""
        name = normalize_username(username)
        local = (
            (self.limits.login_per_address, client),
            (self.limits.login_per_username_and_address, f"{name}\n{client}"),
        )
        await self.limiter.hit(*local)
        everywhere = (self.limits.login_per_username, name)
        await self.limiter.hit(everywhere)
        throttled = (*local, everywhere)
        user = await self.users.find_by_username(username)
        if user is None or user.password_hash is None:
            await self.passwords.burn(password)
            raise InvalidCredentials()
        matches, needs_rehash = await self.passwords.verify(user.password_hash, password)
        if not matches:
            raise InvalidCredentials()
        await self.limiter.forgive(*throttled)
        if needs_rehash:
            new_hash = await self.passwords.hash(password)
            await user.update(Set({User.password_hash: new_hash}))
        return await self.open_session(user)

    async def open_session(self, user: User) -> TokenPair:
        """Start a new refresh-token family for the user and return its first pair."""
        assert user.id is not None
        token, token_hash = new_refresh_token()
        await RefreshSession(
            user_id=user.id,
            family_id=uuid.uuid4().hex,
            token_hash=token_hash,
            expires_at=utcnow() + timedelta(seconds=self.refresh_ttl),
        ).insert()
        return self._pair(user.id, token)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token for a new pair. Each token works once; a second use
        (a replay, or a thief racing the owner) revokes the whole family."""
        token_hash = hash_refresh_token(refresh_token)
        session = await RefreshSession.find_one(RefreshSession.token_hash == token_hash)
        if session is None:
            spent = await SpentRefreshToken.find_one(SpentRefreshToken.token_hash == token_hash)
            if spent is not None:
                await self._revoke_family(spent.family_id, reason="spent refresh token reused")
            raise InvalidToken()
        if session.revoked or session.expires_at <= utcnow():
            raise InvalidToken()
        try:
            # The atomic spend: of two concurrent presenters only one can insert this.
            await SpentRefreshToken(
                token_hash=token_hash, family_id=session.family_id, expires_at=session.expires_at
            ).insert()
        except DuplicateKeyError:
            await self._revoke_family(session.family_id, reason="concurrent refresh token reuse")
            raise InvalidToken() from None
        token, new_hash = new_refresh_token()
        result = await RefreshSession.find_one(
            RefreshSession.id == session.id,
            RefreshSession.token_hash == token_hash,
            RefreshSession.revoked == False,  # noqa: E712 - a query expression, not a test
        ).update(Set({RefreshSession.token_hash: new_hash, RefreshSession.last_used_at: utcnow()}))
        if getattr(result, "modified_count", 0) != 1:
            raise InvalidToken()
        try:
            await self.users.get(session.user_id)
        except UserNotFound:
            raise InvalidToken() from None
        return self._pair(session.user_id, token)

    async def logout(self, user_id: PydanticObjectId, refresh_token: str) -> None:
        """End the session the refresh token belongs to (current or already spent token).
        Unknown tokens and other users' tokens change nothing (RFC 7009: still a success)."""
        token_hash = hash_refresh_token(refresh_token)
        session = await RefreshSession.find_one(RefreshSession.token_hash == token_hash)
        if session is None:
            spent = await SpentRefreshToken.find_one(SpentRefreshToken.token_hash == token_hash)
            if spent is not None:
                session = await RefreshSession.find_one(RefreshSession.family_id == spent.family_id)
        if session is not None and session.user_id == user_id:
            await self._revoke_family(session.family_id, reason="logout")

    async def _revoke_family(self, family_id: str, reason: str) -> None:
        await RefreshSession.find(RefreshSession.family_id == family_id).update(
            Set({RefreshSession.revoked: True})
        )
        log.log(
            logging.INFO if reason == "logout" else logging.WARNING,
            "refresh session %s revoked: %s",
            family_id,
            reason,
        )

    def _pair(self, user_id: PydanticObjectId, refresh_token: str) -> TokenPair:
        return TokenPair(
            access_token=self.access.issue(str(user_id)),
            refresh_token=refresh_token,
            expires_in=self.access.ttl,
        )
