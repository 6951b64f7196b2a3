"""What a user may change about their own account: username, time zone, language
(`PATCH /api/auth/me`, the bot's /timezone). The username follows registration's rules, and
asking for one is throttled per user and per address: its 409 for a taken name must not be a
free oracle of who has an account."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from models import User
from server.services.accounts.users import (
    USERNAME_MAX_LENGTH,
    USERNAME_MIN_LENGTH,
    USERNAME_PATTERN,
    Users,
    normalize_username,
)
from server.services.common.errors import InvalidInput, UsernameTaken
from server.services.common.throttle import Hit, Limit, RateLimiter
from server.services.dates.zones import is_zone

LANGUAGES: Final = ("en", "ru")


class Unset(enum.Enum):
    UNSET = "unset"


UNSET: Final = Unset.UNSET


@dataclass(frozen=True, slots=True)
class UsernameLimits:
    per_user: Limit
    per_address: Limit


class Profiles:
    def __init__(
        self,
        users: Users,
        limiter: RateLimiter | None = None,
        limits: UsernameLimits | None = None,
    ) -> None:
        self._users = users
        self._limiter = limiter
        self._limits = limits  # None: no throttle (only where no client address exists)

    async def update(
        self,
        user_id: PydanticObjectId,
        *,
        username: str | Unset = UNSET,
        timezone: str | Unset | None = UNSET,
        language: str | Unset | None = UNSET,
        notify_changes: bool | Unset = UNSET,
        client: str | None = None,
    ) -> User:
        """Change what is given (None clears the time zone or language); return the user.
        A username change is counted against the user's and the address's (`client`) limits
        first, taken or not, valid or not (TooManyAttempts beyond them)."""
        user = await self._users.get(user_id)
        changes: dict[str, object] = {}
        if not isinstance(username, Unset):
            if self._limiter is not None and self._limits is not None:
                hits: list[Hit] = [(self._limits.per_user, f"user:{user_id}")]
                if client is not None:
                    hits.append((self._limits.per_address, client))
                await self._limiter.hit(*hits)
            if not (
                USERNAME_MIN_LENGTH <= len(username) <= USERNAME_MAX_LENGTH
                and re.fullmatch(USERNAME_PATTERN, username)
            ):
                raise InvalidInput(
                    "username",
                    f"{USERNAME_MIN_LENGTH}-{USERNAME_MAX_LENGTH} ASCII letters, digits, _ . -",
                )
            changes |= {"username": username, "username_normalized": normalize_username(username)}
        if not isinstance(timezone, Unset):
            if timezone is not None and not is_zone(timezone):
                raise InvalidInput("timezone", "not an IANA time zone, e.g. Europe/Berlin")
            changes["timezone"] = timezone
        if not isinstance(language, Unset):
            if language is not None and language not in LANGUAGES:
                raise InvalidInput("language", "must be en or ru")
            changes["language"] = language
        if not isinstance(notify_changes, Unset):
            # Other members' changes in shared lists, as bot messages (sharing/notices.py).
            changes["notify_changes"] = bool(notify_changes)
        if changes:
            try:
                # Strings (and one flag, read as truthy): `$set` keeps strings as they are on
                # MongoDB and the embedded one.
                await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": changes})
            except DuplicateKeyError:
                raise UsernameTaken() from None
            for name, value in changes.items():
                setattr(user, name, value)
        return user
