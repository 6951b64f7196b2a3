from datetime import datetime

from beanie import Document
from pydantic import ConfigDict, Field
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
    # Shared lists: who created and last changed it, and the member it is assigned to (user
    # ids; None in tasks older than the fields, which are then the list owner's).
    created_by: str | None = None
    updated_by: str | None = None
    assignee_id: str | None = None
    remind_by: str | None = None  # who set the reminder: it goes to them (or the assignee)
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


class SearchPosting(Document):
    """A user's search postings (server/services/tasks/search_backend.py), in documents of
    three kinds, each with the `user_id` (indexed: a rebuild deletes them all by it):
    "<user id>:<bucket>:<generation>" lists per term of that bucket (field "~<term in hex>")
    the ids (24-hex strings) of that generation's tasks holding it; "<user id>:head" counts
    the user's tasks indexed (`seq`); "<user id>:dir:<n>" maps a task ("t<task id>") to its
    generation. A query reads its terms' documents by `_id` (`$in` on `_id` is a look-up on
    both MongoDB and the embedded server, where a condition on an array such as `Task.terms`
    scans the whole collection), so a search costs what the user's own tasks cost. Fields
    vary with the terms: read with PyMongo, not as this model."""

    id: str  # type: ignore[assignment]
    user_id: str | None = None

    model_config = ConfigDict(extra="allow")

    class Settings:
        name = "search_postings"
        indexes = [IndexModel([("user_id", ASCENDING)], name="user_postings")]


class TaskTally(Document):
    """How many tasks a user holds, kept for the tasks quota (`Tasks._check_tasks_quota`,
    docs/quotas-and-repeats.md): `n` counted up by each creation (before its insert) and
    down by each delete; `since`: creations since the quota was last checked exactly. A hint,
    not the truth: the exact check runs when it is near the quota and every few creations
    whatever it says; a merge or a change of a list's owner drops it (recounted at the
    next creation)."""

    id: str  # type: ignore[assignment]  # the user id (24 hex)
    n: int = 0
    since: int = 0

    class Settings:
        name = "task_tallies"
