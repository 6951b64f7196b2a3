from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.clock import utcnow


class Task(Document):
    """A task in one of the user's lists. Written whole (replace_one guarded by `version`),
    never by `$set` of a datetime or boolean: the embedded server would store those as a
    string and 1 (docs/embedded-database.md)."""

    user_id: str  # 24-hex strings, see TaskList.user_id
    list_id: str
    title: str
    notes: str = ""
    done: bool = False
    done_at: datetime | None = None
    due: datetime | None = None
    remind_at: datetime | None = None
    repeat: str | None = None  # a normalised RFC 5545 RRULE
    # Done on a repeating task moves it to its next occurrence (services/tasks/repeating.py):
    # how many occurrences were done, and when the last one was.
    done_count: int = 0
    last_done_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Keyset pagination, newest first: 13-digit creation epoch ms + the 24-hex id. One string
    # field, so "after the cursor" is one range condition (no `$or`, which the embedded
    # server mishandles) and ties are impossible.
    order_key: str = ""
    # Search terms: normalised 1- and 2-letter word prefixes and word trigrams
    # (server/services/tasks/search.py).
    terms: list[str] = Field(default_factory=list)
    # Optimistic concurrency: every whole-document write requires the version it read.
    version: int = 0

    class Settings:
        name = "tasks"
        indexes = [
            # A user's open (or done) tasks in a list, newest first.
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("list_id", ASCENDING),
                    ("done", ASCENDING),
                    ("order_key", DESCENDING),
                ],
                name="list_tasks",
            ),
            # The same across all lists (GET /api/tasks without `list`).
            IndexModel(
                [("user_id", ASCENDING), ("done", ASCENDING), ("order_key", DESCENDING)],
                name="user_tasks",
            ),
            # Today (services/tasks/service.py `today`): a user's open tasks whose reminder or
            # due time is before the end of their day; equality on the first two, a range on
            # the time.
            IndexModel(
                [("user_id", ASCENDING), ("done", ASCENDING), ("remind_at", ASCENDING)],
                name="user_remind_times",
            ),
            IndexModel(
                [("user_id", ASCENDING), ("done", ASCENDING), ("due", ASCENDING)],
                name="user_due_times",
            ),
            # Search candidates: multikey on the terms, always with the user first.
            IndexModel([("user_id", ASCENDING), ("terms", ASCENDING)], name="search_terms"),
        ]
