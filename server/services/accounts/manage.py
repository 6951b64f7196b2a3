"""Managing one's own account: setting or changing the password, deleting the account (and
everything of it). Shared with linking: confirming a password, erasing an account's records."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from beanie import PydanticObjectId

from models import LinkCode, RefreshSession, ResetCode, SpentRefreshToken, User
from server.services.accounts.access_gate import AccessGate
from server.services.accounts.account_data import AccountDataOwner
from server.services.accounts.auth import AuthService
from server.services.accounts.sessions import Sessions
from server.services.accounts.sessions import family_ids as _family_ids
from server.services.accounts.tokens import TokenPair
from server.services.accounts.users import Users, normalize_username
from server.services.common.errors import (
    InvalidInitData,
    NotConfigured,
    NotFound,
    PasswordTooCommon,
    StaleConfirmation,
    WrongPassword,
)
from server.services.common.mongo import same_id
from server.services.common.throttle import Hit, Limit, RateLimiter
from server.services.updates import UpdateJournal

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a request offers to confirm a grave change to an account without a password."""

    init_data: str | None = None  # Mini App init data (the request's `tma` or a body field)
    trusted_bot: bool = False  # a bot holding a service token, acting for the user


NO_CONFIRMATION = Confirmation()


class Accounts:
    def __init__(
        self,
        auth: AuthService,
        sessions: Sessions,
        gate: AccessGate,
        users: Users,
        limiter: RateLimiter,
        updates: UpdateJournal,
        data_owners: Sequence[AccountDataOwner] = (),
        per_user_limits: Sequence[Limit] = (),
        fresh_max_age: int = 300,
    ) -> None:
        self._auth = auth
        self._sessions = sessions
        self._gate = gate
        self._users = users
        self._limiter = limiter
        self._updates = updates
        self.data_owners = tuple(data_owners)
        # Limits whose counters are keyed by a username: erased with the account.
        self._per_user_limits = tuple(per_user_limits)
        # Seconds old init data may be to confirm (an account without a password) deleting
        # the account or setting its first password.
        self._fresh_max_age = fresh_max_age

    # ---------------------------------------------------------------- passwords

    def check_new_password(self, password: str, field: str) -> None:
        if password.lower() in self._auth.common_passwords:
            raise PasswordTooCommon(field)

    async def confirm_password(
        self, user: User, password: str | None, field: str, client: str
    ) -> None:
        """The user's own password, as a confirmation; counted against login's limits (per
        username and per address), so it is no way around them. Users without a password
        need none."""
        if user.password_hash is None:
            return
        if password is None:
            raise WrongPassword(field, missing=True)
        attempts = self._auth.password_attempts(_subject(user), client)
        await self._limiter.hit(*attempts)
        matches, _ = await self._auth.passwords.verify(user.password_hash, password)
        if not matches:
            raise WrongPassword(field)
        await self._limiter.forgive(*attempts)

    def confirm_fresh(self, user: User, confirmation: Confirmation) -> None:
        """For an account without a password, the confirmation that it is its Telegram user
        acting now, not whoever holds an old credential: init data of its Telegram account
        signed at most `fresh_max_age` seconds ago, or the trusted bot acting for it."""
        if confirmation.trusted_bot:
            return
        init_data = confirmation.init_data
        if init_data is None:
            raise StaleConfirmation(self._fresh_max_age, missing=True)
        try:
            profile, auth_date = self._auth.mini_app_user_dated(init_data)
        except (InvalidInitData, NotConfigured):
            raise StaleConfirmation(self._fresh_max_age) from None
        if profile.telegram_id != user.telegram_id or (
            time.time() - auth_date > self._fresh_max_age
        ):
            raise StaleConfirmation(self._fresh_max_age)

    async def set_password(
        self,
        user_id: PydanticObjectId,
        current_password: str | None,
        new_password: str,
        client: str,
        user_agent: str | None = None,
        confirmation: Confirmation = NO_CONFIRMATION,
    ) -> TokenPair:
        """Set a first password (a Telegram-only user: fresh `confirmation` required) or
        change it (`current_password` required). Every session and every access token issued
        before stops working; the answer is a new pair, for a new session."""
        self.check_new_password(new_password, "new_password")
        user = await self._users.get(user_id)
        if user.password_hash is None:
            self.confirm_fresh(user, confirmation)
        await self.confirm_password(user, current_password, "current_password", client)
        return await self.replace_password(user, new_password, user_agent)

    async def replace_password(
        self, user: User, new_password: str, user_agent: str | None
    ) -> TokenPair:
        """Store a new password and end everything older, in one write; open a new session."""
        assert user.id is not None
        new_hash = await self._auth.passwords.hash(new_password)
        user, valid_after = await self._sessions.end_all(user.id, password_hash=new_hash)
        log.info("password set for user %s; every older session ended", user.id)
        return await self._auth.open_session(user, user_agent=user_agent, not_before_ms=valid_after)

    async def operator_reset(self, username: str) -> str:
        """An operator's reset for a user who forgot the password and has no Telegram: a new
        random password (returned once, to hand over through a channel the operator trusts),
        every session and token ended. The user should then change it."""
        user = await self._users.find_by_username(username)
        if user is None or user.id is None:
            raise NotFound(f"No user named {username!r}")
        password = secrets.token_urlsafe(12)
        new_hash = await self._auth.passwords.hash(password)
        await self._sessions.end_all(user.id, password_hash=new_hash)
        log.warning("password of user %s reset by an operator", user.id)
        return password

    # ---------------------------------------------------------------- deletion

    async def delete(
        self,
        user_id: PydanticObjectId,
        password: str | None,
        client: str,
        confirmation: Confirmation = NO_CONFIRMATION,
    ) -> None:
        """Delete the account and everything of it (confirmed by the password, or for an
        account without one by fresh init data)."""
        user = await self._users.get(user_id)
        if user.password_hash is None:
            self.confirm_fresh(user, confirmation)
        await self.confirm_password(user, password, "password", client)
        await self.erase(user)

    async def erase(self, user: User) -> None:
        """Erase the user and all their data: every owner's (lists, tasks, reminders), then
        the account's own records, then the user. Each step is idempotent, and the user goes
        last: if a step fails, the user still exists and deleting again finishes the job."""
        assert user.id is not None
        for owner in self.data_owners:
            await owner.erase_user(user.id)
        await self.erase_records(user)
        if user.telegram_id is not None:
            await self._updates.forget_sender(user.telegram_id)
        await User.get_pymongo_collection().delete_one({"_id": user.id})
        self._gate.note_user_gone(user.id, user.telegram_id)
        log.info("user %s deleted with all their data", user.id)

    async def erase_records(self, user: User) -> None:
        """The account's own records, except the user document: sessions, spent refresh
        tokens, link and reset codes, throttle counters keyed by its username."""
        assert user.id is not None
        sessions = RefreshSession.get_pymongo_collection()
        families = await _family_ids(sessions, {"user_id": same_id(user.id)})
        await sessions.delete_many({"user_id": same_id(user.id)})
        self._gate.note_sessions_ended(families)
        spent = SpentRefreshToken.get_pymongo_collection()
        await spent.delete_many({"user_id": same_id(user.id)})
        if families:  # records written before they carried the user id
            await spent.delete_many({"family_id": {"$in": families}})
        await LinkCode.get_pymongo_collection().delete_many({"user_id": same_id(user.id)})
        await ResetCode.get_pymongo_collection().delete_one({"_id": user.id})
        subjects = {_subject(user)} | (
            {normalize_username(user.username)} if user.username else set()
        )
        hits: list[Hit] = [(limit, s) for limit in self._per_user_limits for s in subjects]
        if hits:
            await self._limiter.erase(*hits)


def _subject(user: User) -> str:
    """Whom password attempts are counted for: the username (as login counts them), or the
    user id for a user that has none yet."""
    return normalize_username(user.username) if user.username else f"user:{user.id}"
