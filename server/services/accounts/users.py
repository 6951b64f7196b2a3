"""Finding users, and the one way a Telegram user becomes a user of ours."""

from __future__ import annotations

from dataclasses import dataclass

from beanie import PydanticObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

from models import User
from models.clock import utcnow
from server.services.common.errors import UserNotFound
from server.services.common.mongo import eq, find_one, insert


@dataclass(frozen=True, slots=True)
class TelegramProfile:
    """What Telegram tells us about a user (from an update, Mini App init data, or a bot)."""

    telegram_id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


# Account rules. The HTTP schemas are built from these, so a rule lives here once.
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]+$"  # ASCII only: no look-alike Unicode names
USERNAME_MIN_LENGTH, USERNAME_MAX_LENGTH = 3, 64
MAX_TELEGRAM_ID = 2**52  # Telegram user ids have at most 52 significant bits


def is_telegram_id(value: object) -> bool:
    return type(value) is int and 0 < value < MAX_TELEGRAM_ID


def normalize_username(username: str) -> str:
    return username.lower()


class Users:
    """Finding users, and the one way a Telegram user becomes a user of ours.

    Also Telegram id → user id for the Bot and tma schemes, which name a Telegram user on
    every request; caching it saves a database round trip per request. A merge or a deletion
    can end a mapping: the AccessGate notices (the user is gone, or has another Telegram id)
    and calls `forget`. Keyed by the whole profile, so a changed name
    still reaches `ensure_telegram_user` (and the database) at once; a bare id (the Bot scheme)
    is keyed by the int, the cheapest lookup there is."""

    def __init__(self, max_cached_ids: int = 50_000) -> None:
        self._ids: dict[TelegramProfile | int, PydanticObjectId] = {}
        self._max_cached_ids = max_cached_ids

    async def get(self, user_id: str | PydanticObjectId) -> User:
        try:
            oid = PydanticObjectId(user_id)
        except (InvalidId, TypeError):
            raise UserNotFound() from None
        user = await find_one(User, eq(_id=oid))
        if user is None:
            raise UserNotFound()
        return user

    async def find_by_username(self, username: str) -> User | None:
        return await find_one(User, eq(username_normalized=normalize_username(username)))

    async def find_by_telegram_id(self, telegram_id: int) -> User | None:
        return await find_one(User, eq(telegram_id=telegram_id))

    async def user_id(self, profile: TelegramProfile) -> PydanticObjectId:
        if (cached := self._ids.get(profile)) is not None:
            return cached
        return await self._load(profile, profile)

    async def user_id_by_telegram_id(self, telegram_id: int) -> PydanticObjectId:
        if (cached := self._ids.get(telegram_id)) is not None:
            return cached
        return await self._load(telegram_id, TelegramProfile(telegram_id))

    def forget(self, user_id: PydanticObjectId) -> None:
        """Drop cached mappings to a user (deleted or merged away)."""
        for key in [k for k, v in self._ids.items() if v == user_id]:
            del self._ids[key]

    async def _load(self, key: TelegramProfile | int, profile: TelegramProfile) -> PydanticObjectId:
        user, _ = await self.ensure_telegram_user(profile)
        assert user.id is not None
        if len(self._ids) >= self._max_cached_ids:
            self._ids.clear()  # a crude bound: refilling costs one lookup per user
        self._ids[key] = user.id
        return user.id

    async def ensure_telegram_user(
        self, profile: TelegramProfile, *, absent: bool = False
    ) -> tuple[User, bool]:
        """Find or create the user with this Telegram id; return (user, created).

        Idempotent and race-safe: the unique index on telegram_id decides between concurrent
        first sightings. Known users get their profile fields refreshed when Telegram's changed.
        `absent`: the caller has just found no such user (AccessGate.telegram_user_absent), so
        the insert is tried first (one round trip fewer); if the user exists after all, the
        unique index refuses the insert and the user is read as usual.
        """
        user = None if absent else await self.find_by_telegram_id(profile.telegram_id)
        if user is None:
            user = User(
                telegram_id=profile.telegram_id,
                telegram_username=profile.username,
                first_name=profile.first_name,
                last_name=profile.last_name,
                language_code=profile.language_code,
            )
            try:
                await insert(user)
                return user, True
            except DuplicateKeyError:
                user = await self.find_by_telegram_id(profile.telegram_id)
                if user is None:  # deleted between the two queries: let the caller retry
                    raise
        changes = {
            field: value
            for field, value in (
                ("telegram_username", profile.username),
                ("first_name", profile.first_name),
                ("last_name", profile.last_name),
                ("language_code", profile.language_code),
            )
            if value is not None and getattr(user, field) != value
        }
        if changes:
            await user.update({"$set": {**changes, "updated_at": utcnow()}})
        return user, False
