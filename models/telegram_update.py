from datetime import datetime
from typing import Any

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from models.clock import utcnow


class TelegramUpdate(Document):
    """A Telegram update as received. The unique update_id makes a redelivered update a no-op
    across every web process; the stored payload lets an update acknowledged by a process
    that died before handling it be handled by another."""

    # _id is Telegram's update_id: its uniqueness is the de-duplication, and every later write
    # goes by _id (on the embedded server, writes by any other field scan the table).
    id: int  # type: ignore[assignment]
    update_id: int  # the same number, for people reading the collection
    payload: dict[str, Any]
    received_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    handled: bool = False
    # Epoch seconds when the handling process last claimed it (0: nobody). A number, not a
    # datetime or null: the embedded server stores updated datetimes as strings and
    # mishandles $or, and this field is compared in one plain range query.
    claimed_at: float = 0.0

    class Settings:
        name = "telegram_updates"
        indexes = [
            IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
            IndexModel([("handled", ASCENDING), ("claimed_at", ASCENDING)], name="unhandled"),
        ]
