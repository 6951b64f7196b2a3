from datetime import datetime
from typing import Literal

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from models.clock import utcnow


class User(Document):
    """An account: made by /api/auth/register (username + password) or first seen on Telegram."""

    username: str | None = None
    # Lower-cased username: the unique index on it is what makes names case-insensitive.
    username_normalized: str | None = None
    password_hash: str | None = None  # Telegram-only users have none

    telegram_id: int | None = None
    telegram_username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = None  # as Telegram last reported it

    # Preferences (PATCH /api/auth/me): an IANA zone for reminders, the language the user chose.
    timezone: str | None = None
    language: Literal["en", "ru"] | None = None
    role: Literal["user", "admin"] = "user"
    # Bot messages about other members' changes in shared lists (docs/sharing.md). Off by
    # default. `$set` stores it as 1 on the embedded server: read it as a truthy value.
    notify_changes: bool = False
    active: bool = True  # an admin can deactivate an account; it then signs in by no scheme
    # Epoch milliseconds: access tokens issued before this instant are refused (log out
    # everywhere, password change or reset, deactivation). An int, not a datetime: it is
    # written by `$set`, which the embedded server would turn into a string.
    tokens_valid_after: int = 0

    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    class Settings:
        name = "users"
        indexes = [
            # Partial, not sparse: beanie writes missing optionals as null, and a sparse
            # index would still index nulls and allow only one user without a username.
            IndexModel(
                [("username_normalized", ASCENDING)],
                name="username_unique",
                unique=True,
                partialFilterExpression={"username_normalized": {"$type": "string"}},
            ),
            IndexModel(
                [("telegram_id", ASCENDING)],
                name="telegram_id_unique",
                unique=True,
                partialFilterExpression={"telegram_id": {"$type": "number"}},
            ),
        ]
