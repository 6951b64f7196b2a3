from datetime import datetime
from typing import Any

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from models._time import utcnow


class TelegramUpdate(Document):
    """A Telegram update as received. The unique update_id makes a redelivered update a no-op
    across every web process; the payload is kept until it expires."""

    update_id: int
    payload: dict[str, Any]
    received_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime

    class Settings:
        name = "telegram_updates"
        indexes = [
            IndexModel([("update_id", ASCENDING)], name="update_id_unique", unique=True),
            IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]
