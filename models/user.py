from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from models._time import utcnow


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
    language_code: str | None = None

    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

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
