"""Register, log in, refresh and log out: the account rules, in one place."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from beanie import PydanticObjectId
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError, PyMongoError

from models import RefreshSession, SpentRefreshToken, User
from models.clock import epoch_ms, from_ms, to_ms, utcnow
from server.services.accounts.access_gate import AccessGate
from server.services.accounts.passwords import Passwords
from server.services.accounts.telegram_auth import InitDataVerifier
from server.services.accounts.tokens import (
    AccessTokens,
    TokenPair,
    hash_refresh_token,
    new_refresh_token,
)
from server.services.accounts.users import TelegramProfile, Users, normalize_username
from server.services.common.errors import (
    AccountDeactivated,
    InvalidCredentials,
    InvalidInitData,
    InvalidToken,
    NotConfigured,
    PasswordTooCommon,
    UsernameTaken,
    UserNotFound,
)
from server.services.common.mongo import eq, insert, same_id
from server.services.common.throttle import Hit, Limit, RateLimiter

log = logging.getLogger(__name__)

LIVE = {"$in": [False, 0]}  # `revoked` not set (a `$set` boolean is 1/0 on the embedded server)
MAX_TRIMMED = 1000  # sessions ended by one trim at most
KEY_BATCH = 500  # sessions given their `user_key` per round trip by `key_sessions`


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
        gate: AccessGate | None = None,
        max_sessions: int | None = None,
    ) -> None:
        self.passwords = passwords
        self.access = access
        self.refresh_ttl = refresh_ttl
        self.limits = limits
        self.limiter = limiter
        self.users = users
        self.common_passwords = common_passwords
        self.init_data = init_data  # None when no bot token is configured
        # Called with a user's id at registration and Mini App sign-in (the tasks service
        # creates the built-in lists on first sight; it remembers whom it has seen).
        self.user_seen = user_seen
        self.gate = gate  # told when sessions end, so their access tokens stop at once here
        # Live sessions a user may have (None: no cap); beyond it the least recently used end.
        self.max_sessions = max_sessions
        # Whether every session has its `user_key` (set by `key_sessions`, run at start):
        # until then the cap finds a user's sessions by `user_id`, as before the key.
        self.sessions_keyed = False

    async def _seen(self, user_id: PydanticObjectId | None) -> None:
        if self.user_seen is not None and user_id is not None:
            await self.user_seen(user_id)

    def mini_app_user(self, init_data: str) -> TelegramProfile:
        return self.mini_app_user_dated(init_data)[0]

    def mini_app_user_dated(self, init_data: str) -> tuple[TelegramProfile, int]:
        """The signed user and `auth_date` (epoch seconds) of Mini App init data."""
        if self.init_data is None:
            raise NotConfigured("Telegram sign-in needs TELEGRAM_BOT_TOKEN on the server")
        return self.init_data.verify_dated(init_data)

    async def telegram_sign_in(
        self, init_data: str, client: str, *, user_agent: str | None = None
    ) -> tuple[User, TokenPair]:
        await self.limiter.hit((self.limits.telegram_per_address, client))
        profile, auth_date = self.mini_app_user_dated(init_data)
        user, _ = await self.users.ensure_telegram_user(profile)
        if not user.active:
            raise AccountDeactivated()  # said first: deactivation also moved the instant below
        check_not_revoked(auth_date, user.tokens_valid_after)
        await self._seen(user.id)
        return user, await self.open_session(user, user_agent=user_agent)

    async def register(
        self, username: str, password: str, client: str, *, user_agent: str | None = None
    ) -> tuple[User, TokenPair]:
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
            await insert(user)
        except DuplicateKeyError:
            raise UsernameTaken() from None
        log.info("user registered: %s", user.id)
        try:
            await self._seen(user.id)
        except PyMongoError:
            # The account exists: its lists are made on its first use instead; a failed
            # register would leave a taken username and no tokens.
            log.warning("user %s: built-in lists not created at registration", user.id)
        return user, await self.open_session(user, user_agent=user_agent)

    async def login(
        self, username: str, password: str, client: str, *, user_agent: str | None = None
    ) -> TokenPair:
        """Check a password. Attempts are counted before the check (parallel guesses cannot
        slip past a limit), for usernames that exist or not alike (a 429 tells nothing), and a
        success is forgiven except per address. The counts are tiered: per address and per
        (username, address) first; only an attempt those let through counts against the
        username across all addresses, so one address hammering away cannot use up the
        owner's allowance."""
        per_address, per_name_and_address, everywhere = self.password_attempts(
            normalize_username(username), client
        )
        local = (per_address, per_name_and_address)
        await self.limiter.hit(*local)
        await self.limiter.hit(everywhere)
        user = await self.users.find_by_username(username)
        if user is None or user.password_hash is None:
            await self.passwords.burn(password)
            raise InvalidCredentials()
        matches, needs_rehash = await self.passwords.verify(user.password_hash, password)
        if not matches:
            raise InvalidCredentials()
        # A success is forgiven per username, but stays counted per address: signing in is
        # work (a hash, a session) that one address must not repeat without end.
        await self.limiter.forgive(per_name_and_address, everywhere)
        if needs_rehash:
            new_hash = await self.passwords.hash(password)
            await user.update({"$set": {User.password_hash: new_hash}})
        return await self.open_session(user, user_agent=user_agent)

    async def open_session(
        self, user: User, *, user_agent: str | None = None, not_before_ms: int = 0
    ) -> TokenPair:
        """Start a new refresh-token family for the user and return its first pair. Refused
        for a deactivated user (every sign-in scheme ends here). The session and its token
        never count as older than the user's last revocation (`not_before_ms`, and the
        user's `tokens_valid_after`), even if this process's clock lags the revoker's."""
        assert user.id is not None
        if not user.active:
            raise AccountDeactivated()
        not_before_ms = max(not_before_ms, user.tokens_valid_after)
        created_ms = max(epoch_ms(), not_before_ms)
        created = from_ms(created_ms)
        token, token_hash = new_refresh_token()
        session = RefreshSession(
            user_id=user.id,
            user_key=str(user.id),
            family_id=uuid.uuid4().hex,
            token_hash=token_hash,
            expires_at=created + timedelta(seconds=self.refresh_ttl),
            created_at=created,
            last_used_ms=created_ms,
            user_agent=user_agent,
        )
        await insert(session)
        await self._cap_sessions(user.id)
        return self._pair(user.id, token, session.family_id, not_before_ms)

    async def _cap_sessions(self, user_id: PydanticObjectId) -> None:
        """End the user's least recently used sessions beyond `max_sessions` (their refresh
        and access tokens stop working), so sign-ins cannot pile up sessions without end."""
        if self.max_sessions is None:
            return
        sessions = RefreshSession.get_pymongo_collection()
        if self.sessions_keyed:
            # The `user_key` index serves it on MongoDB and on nx-27017 alike (`revoked` as
            # `$eq`: nx-27017 stores a `$set` True as 1 and compares False as 0, so this
            # matches what LIVE matches there).
            mine: dict[str, object] = eq(user_key=str(user_id), revoked=False)
        else:
            mine = {"user_id": same_id(user_id), "revoked": LIVE}  # scans on nx-27017
        # Each sign-in trims, so there are at most a few beyond the cap; the limit bounds
        # the one-off trim of a user who piled sessions up before the cap existed.
        extra = (
            await sessions.find(mine, {"family_id": 1, "_id": 0})
            .sort("last_used_ms", -1)
            .skip(self.max_sessions)
            .limit(MAX_TRIMMED)
            .to_list()
        )
        if not extra:
            return
        ended = [doc["family_id"] for doc in extra]
        # One update per session by its unique `family_id` (a look-up), in one round trip:
        # `family_id: {$in: …}` would read the whole collection on nx-27017.
        await sessions.bulk_write(
            [
                UpdateOne(
                    {**eq(family_id=family), "user_id": same_id(user_id)},
                    {"$set": {"revoked": True}},
                )
                for family in ended
            ],
            ordered=False,
        )
        if self.gate is not None:
            self.gate.note_sessions_ended(ended)
        log.info("user %s: %d least recently used sessions ended (cap)", user_id, len(ended))

    async def key_sessions(self) -> None:
        """Give the sessions written before `user_key` existed their key, then let the cap
        use it. Run once per process at start, in the background (server/app.py): one read
        of the sessions collection, as nx-27017's once-a-minute expiry purge does anyway."""
        sessions = RefreshSession.get_pymongo_collection()
        keyed = 0
        batch: list[UpdateOne] = []
        async for doc in sessions.find({"user_key": None}, {"user_id": 1}):
            batch.append(UpdateOne(eq(_id=doc["_id"]), {"$set": {"user_key": str(doc["user_id"])}}))
            if len(batch) == KEY_BATCH:
                await sessions.bulk_write(batch, ordered=False)
                keyed += len(batch)
                batch = []
        if batch:
            await sessions.bulk_write(batch, ordered=False)
            keyed += len(batch)
        if keyed:
            log.info("sessions: %d older sessions given their user key", keyed)
        self.sessions_keyed = True

    async def refresh(self, refresh_token: str, *, user_agent: str | None = None) -> TokenPair:
        """Exchange a refresh token for a new pair. Each token works once; a second use
        (a replay, or a thief racing the owner) revokes the whole family."""
        token_hash = hash_refresh_token(refresh_token)
        session = await RefreshSession.find_one(eq(token_hash=token_hash))
        if session is None:
            spent = await SpentRefreshToken.find_one(eq(token_hash=token_hash))
            if spent is not None:
                await self._revoke_family(spent.family_id, reason="spent refresh token reused")
            raise InvalidToken()
        if session.revoked or _aware(session.expires_at) <= utcnow():
            raise InvalidToken()
        try:
            # The atomic spend: of two concurrent presenters only one can insert this.
            await SpentRefreshToken(
                token_hash=token_hash,
                family_id=session.family_id,
                expires_at=session.expires_at,
                user_id=session.user_id,
            ).insert()
        except DuplicateKeyError:
            await self._revoke_family(session.family_id, reason="concurrent refresh token reuse")
            raise InvalidToken() from None
        token, new_hash = new_refresh_token()
        result = await RefreshSession.find_one(
            eq(_id=session.id, token_hash=token_hash, revoked=False)
        ).update(
            {
                "$set": {
                    RefreshSession.token_hash: new_hash,
                    RefreshSession.last_used_ms: epoch_ms(),
                    RefreshSession.user_agent: user_agent,
                }
            }
        )
        if getattr(result, "modified_count", 0) != 1:
            raise InvalidToken()
        try:
            user = await self.users.get(session.user_id)
        except UserNotFound:
            raise InvalidToken() from None
        if not user.active:
            raise AccountDeactivated()
        # Sessions older than the user's last revocation (log out everywhere, password change
        # or reset) are over, even if marking them revoked did not happen.
        if to_ms(session.created_at) < user.tokens_valid_after:
            raise InvalidToken()
        return self._pair(session.user_id, token, session.family_id, user.tokens_valid_after)

    async def logout(self, user_id: PydanticObjectId, refresh_token: str) -> None:
        """End the session the refresh token belongs to (current or already spent token).
        Unknown tokens and other users' tokens change nothing (RFC 7009: still a success)."""
        token_hash = hash_refresh_token(refresh_token)
        session = await RefreshSession.find_one(eq(token_hash=token_hash))
        if session is None:
            spent = await SpentRefreshToken.find_one(eq(token_hash=token_hash))
            if spent is not None:
                session = await RefreshSession.find_one(eq(family_id=spent.family_id))
        if session is not None and session.user_id == user_id:
            await self._revoke_family(session.family_id, reason="logout")

    async def _revoke_family(self, family_id: str, reason: str) -> None:
        await RefreshSession.find(eq(family_id=family_id)).update(
            {"$set": {RefreshSession.revoked: True}}
        )
        if self.gate is not None:  # the session's access tokens die with it (`sid`)
            self.gate.note_sessions_ended([family_id])
        log.log(
            logging.INFO if reason == "logout" else logging.WARNING,
            "refresh session %s revoked: %s",
            family_id,
            reason,
        )

    def password_attempts(self, subject: str, client: str) -> tuple[Hit, Hit, Hit]:
        """The throttle a password check is counted against: login's (per address, per
        username and address, per username), so confirming a password elsewhere is no way
        around it."""
        return (
            (self.limits.login_per_address, client),
            (self.limits.login_per_username_and_address, f"{subject}\n{client}"),
            (self.limits.login_per_username, subject),
        )

    def _pair(
        self, user_id: PydanticObjectId, refresh_token: str, session_id: str, not_before_ms: int
    ) -> TokenPair:
        return TokenPair(
            access_token=self.access.issue(str(user_id), session_id, not_before_ms),
            refresh_token=refresh_token,
            expires_in=self.access.ttl,
        )


def _aware(moment: datetime) -> datetime:
    # A datetime rewritten by `$set` comes back from the embedded server as a naive one (it
    # stored a string); the instant is UTC either way.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def check_not_revoked(auth_date: int, tokens_valid_after: int) -> None:
    """Init data signed before the user's last revocation (log out everywhere, a password
    set, changed or reset) is as dead as the tokens of then: a stolen copy stops with them."""
    if auth_date * 1000 < tokens_valid_after:
        raise InvalidInitData("init data was signed before this account's last sign-out")
