from datetime import datetime
from typing import Literal

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from models.clock import utcnow

BuiltinKey = Literal["inbox", "today", "later", "someday"]
BUILTIN_KEYS: tuple[BuiltinKey, ...] = ("inbox", "today", "later", "someday")


class TaskList(Document):
    """A list of tasks: one of the four built-ins (`key` set, name given at output in the
    user's language) or a list of the user's own (`name`)."""

    # A 24-hex string, not an ObjectId: on the embedded server a filter on any ObjectId field
    # other than _id matches nothing (docs/embedded-database.md).
    user_id: str
    key: BuiltinKey | None = None
    name: str | None = None  # None for built-ins: their name is computed from the key
    # Case-folded name: the unique index on (user_id, it) makes names unique per user
    # case-insensitively (collation is ignored by the embedded server).
    name_normalized: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # A Telegram group's list (docs/sharing.md, "Group chats"): the group's chat id (it
    # changes when the group becomes a supergroup), and 1 while the bot is out of the group
    # (an integer: a `$set` boolean is stored as 1 by the embedded server).
    group_chat_id: int | None = None
    group_left: int = 0

    class Settings:
        name = "task_lists"
        indexes = [
            # Partial on strings: real MongoDB indexes missing/null values, and every
            # custom list has key null (every built-in has name_normalized null).
            IndexModel(
                [("user_id", ASCENDING), ("key", ASCENDING)],
                name="builtin_unique",
                unique=True,
                partialFilterExpression={"key": {"$type": "string"}},
            ),
            IndexModel(
                [("user_id", ASCENDING), ("name_normalized", ASCENDING)],
                name="name_unique",
                unique=True,
                partialFilterExpression={"name_normalized": {"$type": "string"}},
            ),
            # MongoDB uses a partial index only for queries that imply its filter: this one
            # serves "the user's lists" and the custom-lists count (`lists.custom_lists`).
            IndexModel([("user_id", ASCENDING)], name="user"),
            # One list per group chat, whatever races: the first of two concurrent
            # creations wins, the other reads the winner's.
            IndexModel(
                [("group_chat_id", ASCENDING)],
                name="group_chat",
                unique=True,
                partialFilterExpression={"group_chat_id": {"$type": "number"}},
            ),
        ]
