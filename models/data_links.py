"""What the data service (server/services/portability/) keeps: a user's calendar feed secret and
the keys of what an import created, so a second import of the same file adds nothing."""

from __future__ import annotations

from beanie import Document
from pymongo import ASCENDING, IndexModel


class CalendarFeed(Document):
    """A user's private calendar feed (`_id` is the user's id as a string). Only a hash of
    the URL's token is stored: a database leak does not hand out anyone's calendar."""

    id: str  # type: ignore[assignment]
    token_hash: str  # sha256 hex of the token in the URL
    created_ms: int = 0  # integer epoch ms: written by replace_one, compared as a number

    class Settings:
        name = "calendar_feeds"
        indexes = [
            # The URL is looked up by `{"token_hash": {"$eq": …}}`, served by this index.
            IndexModel([("token_hash", ASCENDING)], name="token_hash", unique=True),
        ]


class ImportKey(Document):
    """One imported item: `_id` is "<user id>:<format>:<source id>" (the id the item had
    in the file, or a digest of a CSV row), so importing it again finds it and skips it."""

    id: str  # type: ignore[assignment]
    user_id: str
    task_id: str

    class Settings:
        name = "import_keys"
        indexes = [IndexModel([("user_id", ASCENDING)], name="user")]
