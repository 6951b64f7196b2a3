"""Whether a credential that checks out cryptographically may still act: its user exists and is
active, an access token was issued after the user's "tokens valid after" instant, and its
session (`sid`) was not ended.

Every authenticated request asks, so the answers are cached per process:

- **Bound:** a revocation written by another process is seen here at most `ttl` seconds
  (default 5, `REVOCATION_CACHE_TTL`) after it was written: an entry is never used after
  `ttl` from the moment its database read started. One written by this process is seen at
  once (the writer updates the cache, and a read in flight is then not stored).
- **Cost:** a hit is two dict lookups and a clock read; a miss is one `_id` lookup, shared by
  concurrent requests for the same key (one database round trip per user per `ttl`).
- **Size:** at most `max_entries` per map; when full it is emptied (refilling costs one lookup
  per active user), so memory stays bounded whatever the traffic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

from beanie import PydanticObjectId
from bson.errors import InvalidId

from models import RefreshSession, User
from server.services.accounts.tokens import AccessClaims
from server.services.accounts.users import Users
from server.services.common.errors import AccountDeactivated, InvalidToken
from server.services.common.mongo import eq

Clock = Callable[[], float]
K = TypeVar("K")
V = TypeVar("V")

DEFAULT_TTL = 5.0
USER_FIELDS = {"active": 1, "tokens_valid_after": 1, "telegram_id": 1}


class UserState(NamedTuple):
    user_id: PydanticObjectId | None  # None: no such user (deleted, or merged into another)
    active: bool
    tokens_valid_after: int  # epoch ms
    telegram_id: int | None
    fresh_until: float  # on the gate's clock


class SessionState(NamedTuple):
    alive: bool
    subject: str  # the user id, as the token's `sub`
    fresh_until: float


class TelegramState(NamedTuple):
    active: bool  # False only for an existing, deactivated account
    fresh_until: float
    exists: bool = True  # False: no account had this Telegram id when it was looked up


class _Cache(dict[K, V]):
    """A dict with single-flight loads: concurrent misses of one key share one load, and a
    load that a local write overtook is not stored."""

    def __init__(self, max_entries: int) -> None:
        super().__init__()
        self.max_entries = max_entries
        self.loading: dict[K, asyncio.Future[V]] = {}

    async def load(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        task = self.loading.get(key)
        if task is None:
            task = asyncio.ensure_future(fetch())
            self.loading[key] = task
            task.add_done_callback(lambda done: self._store(key, done))
        # Shielded: one cancelled request must not cancel the load the others wait for.
        return await asyncio.shield(task)

    def _store(self, key: K, task: asyncio.Future[V]) -> None:
        if self.loading.get(key) is not task:
            return  # overtaken by a local write (`put`): its value is newer
        del self.loading[key]
        if not task.cancelled() and task.exception() is None:
            self.put(key, task.result())

    def put(self, key: K, value: V) -> None:
        self.loading.pop(key, None)
        if len(self) >= self.max_entries and key not in self:
            self.clear()
        self[key] = value


class AccessGate:
    def __init__(
        self,
        users: Users,
        ttl: float = DEFAULT_TTL,
        clock: Clock = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self.ttl = ttl
        self._users_service = users
        self._clock = clock
        self._users: _Cache[str, UserState] = _Cache(max_entries)
        self._sessions: _Cache[str, SessionState] = _Cache(max_entries)
        self._telegram: _Cache[int, TelegramState] = _Cache(max_entries)
        # Telegram id -> the state of the user that has it (Bot + X-Telegram-User-Id, tma).
        self._telegram_users: _Cache[int, UserState] = _Cache(max_entries)

    # ------------------------------------------------------------------ the checks

    async def admit_token(self, claims: AccessClaims) -> PydanticObjectId:
        """The user an access token acts for; InvalidToken when it was revoked (or its user
        is gone), AccountDeactivated when its user was deactivated."""
        now = self._clock()
        state = self._users.get(claims.subject)
        if state is None or state.fresh_until <= now:
            state = await self._users.load(claims.subject, lambda: self._fetch_user(claims.subject))
        if state.user_id is None:
            raise InvalidToken()
        if not state.active:
            raise AccountDeactivated()
        if claims.issued_ms < state.tokens_valid_after:
            raise InvalidToken()
        sid = claims.session_id
        if sid is not None:
            session = self._sessions.get(sid)
            if session is None or session.fresh_until <= now:
                session = await self._sessions.load(sid, lambda: self._fetch_session(sid))
            if not session.alive or session.subject != claims.subject:
                raise InvalidToken()
        return state.user_id

    def known_telegram_user(self, telegram_id: int) -> PydanticObjectId | None:
        """The fast path of `admit_telegram_user` (no await): the user with this Telegram id
        as read within the bound, or None when it must be looked up."""
        state = self.known_telegram_state(telegram_id)
        return None if state is None else state.user_id

    def known_telegram_state(self, telegram_id: int) -> UserState | None:
        """The state of the user with this Telegram id as read within the bound (None: look
        it up); AccountDeactivated for a deactivated one."""
        state = self._telegram_users.get(telegram_id)
        if state is None or state.fresh_until <= self._clock():
            return None
        if not state.active:
            raise AccountDeactivated()
        return state

    async def admit_telegram_user(
        self, telegram_id: int, resolve: Callable[[], Awaitable[PydanticObjectId]]
    ) -> PydanticObjectId:
        """The user a Telegram identity (Bot + X-Telegram-User-Id, Mini App) acts as.
        `resolve` maps the Telegram id to a user id, creating the user on first sight; its
        mapping is cached by Users, so it is checked here: after a merge or a deletion the
        cached user is gone (or no longer has this Telegram id) and is resolved again."""
        if (known := self.known_telegram_user(telegram_id)) is not None:
            return known
        user_id = await resolve()
        state = await self.user_state(user_id)
        if state.user_id is None or state.telegram_id != telegram_id:
            self._users_service.forget(user_id)
            user_id = await resolve()
            state = await self.user_state(user_id)
        if state.user_id is None:
            raise InvalidToken()  # deleted again between the two lookups
        if state.telegram_id == telegram_id:
            # The resolved object itself: callers may compare with `is` (cheaper than `==`).
            self._telegram_users.put(telegram_id, state._replace(user_id=user_id))
        if not state.active:
            raise AccountDeactivated()
        return user_id

    async def user_state(self, user_id: PydanticObjectId) -> UserState:
        key = str(user_id)
        state = self._users.get(key)
        if state is None or state.fresh_until <= self._clock():
            state = await self._users.load(key, lambda: self._fetch_user(key))
        return state

    async def telegram_account_active(self, telegram_id: int) -> bool:
        """False when the Telegram user has an account and it is deactivated (the bot then
        answers politely and does nothing else). Creates nothing."""
        state = self._telegram.get(telegram_id)
        if state is None or state.fresh_until <= self._clock():
            state = await self._telegram.load(telegram_id, lambda: self._fetch_tg(telegram_id))
        return state.active

    def telegram_user_absent(self, telegram_id: int) -> bool:
        """Whether this process looked the Telegram id up moments ago (within the TTL) and
        found no account: a hint that lets a first /start create the user without looking it
        up a second time. Only a hint: a user created since by another process is met by the
        unique index (Users.ensure_telegram_user then reads it)."""
        state = self._telegram.get(telegram_id)
        return state is not None and not state.exists and state.fresh_until > self._clock()

    # ------------------------------------------------------- local writes (at once)

    def note_user(self, user: User) -> None:
        """This process just wrote the user: use what it wrote from now on."""
        assert user.id is not None
        fresh_until = self._clock() + self.ttl
        state = UserState(
            user.id, user.active, user.tokens_valid_after, user.telegram_id, fresh_until
        )
        self._users.put(str(user.id), state)
        if user.telegram_id is not None:
            self._telegram.put(user.telegram_id, TelegramState(user.active, fresh_until))
            self._telegram_users.put(user.telegram_id, state)

    def note_user_gone(self, user_id: PydanticObjectId, telegram_id: int | None) -> None:
        fresh_until = self._clock() + self.ttl
        self._users.put(str(user_id), UserState(None, False, 0, None, fresh_until))
        if telegram_id is not None:
            for cache in (self._telegram, self._telegram_users):
                cache.pop(telegram_id, None)
                cache.loading.pop(telegram_id, None)
        self._users_service.forget(user_id)

    def note_telegram_detached(self, user_id: PydanticObjectId, telegram_id: int) -> None:
        """The user no longer has this Telegram id (unlinked): the Telegram identity resolves
        afresh (to a new account of its own). Other processes see it within `ttl`: their
        cached user state then names no Telegram id, and `admit_telegram_user` resolves again."""
        for cache in (self._telegram, self._telegram_users):
            cache.pop(telegram_id, None)
            cache.loading.pop(telegram_id, None)
        self._users_service.forget(user_id)

    def note_sessions_ended(self, family_ids: list[str]) -> None:
        fresh_until = self._clock() + self.ttl
        for family_id in family_ids:
            self._sessions.put(family_id, SessionState(False, "", fresh_until))

    # --------------------------------------------------------------- the database

    async def _fetch_user(self, key: str) -> UserState:
        fresh_until = self._clock() + self.ttl  # from before the read: the bound holds
        try:
            user_id = PydanticObjectId(key)
        except (InvalidId, TypeError):
            return UserState(None, False, 0, None, fresh_until)
        doc = await User.get_pymongo_collection().find_one({"_id": user_id}, USER_FIELDS)
        if doc is None:
            return UserState(None, False, 0, None, fresh_until)
        return UserState(
            user_id,
            _truthy(doc.get("active", True)),
            int(doc.get("tokens_valid_after") or 0),
            doc.get("telegram_id"),
            fresh_until,
        )

    async def _fetch_session(self, family_id: str) -> SessionState:
        fresh_until = self._clock() + self.ttl
        doc = await RefreshSession.get_pymongo_collection().find_one(
            eq(family_id=family_id), {"revoked": 1, "user_id": 1}
        )
        if doc is None:  # ended and erased, or expired and purged
            return SessionState(False, "", fresh_until)
        return SessionState(not _truthy(doc.get("revoked")), str(doc["user_id"]), fresh_until)

    async def _fetch_tg(self, telegram_id: int) -> TelegramState:
        fresh_until = self._clock() + self.ttl
        doc = await User.get_pymongo_collection().find_one(
            eq(telegram_id=telegram_id), {"active": 1}
        )
        if doc is None:
            return TelegramState(True, fresh_until, exists=False)
        return TelegramState(_truthy(doc.get("active", True)), fresh_until)


def _truthy(value: Any) -> bool:
    # `$set` of a boolean is stored as 1/0 on the embedded server.
    return bool(value)
