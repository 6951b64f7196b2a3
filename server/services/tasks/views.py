"""Tasks as read for showing (pages, search results), built straight from stored documents.

Validating a beanie `Task` costs ~35 us a document (its Document machinery: lazy parsing,
private state, the collection check); a page of 50 spent most of its request there. These
documents are written only by the tasks service, always whole (`insert` or `replace_one` of
a validated `Task`), so their shape is the model's and reading them needs no validation.
Anything that changes a task still loads a `Task`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

# What a view reads (a projection: the search terms, the largest field, stay in the database).
VIEW_FIELDS = {
    "user_id": 1, "list_id": 1, "title": 1, "notes": 1, "done": 1, "done_at": 1, "due": 1,
    "remind_at": 1, "repeat": 1, "created_at": 1, "updated_at": 1, "order_key": 1,
    "created_by": 1, "updated_by": 1, "assignee_id": 1, "version": 1,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class TaskView:
    id: ObjectId
    user_id: str
    list_id: str
    title: str
    notes: str
    done: bool
    done_at: datetime | None
    due: datetime | None
    remind_at: datetime | None
    repeat: str | None
    created_at: datetime
    updated_at: datetime
    order_key: str
    created_by: str | None = None  # shared lists (docs/sharing.md)
    updated_by: str | None = None
    assignee_id: str | None = None
    version: int = 0  # what `If-Match` names (docs/sharing.md, "Concurrent edits")

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> TaskView:
        """From a stored task document (with at least VIEW_FIELDS); defaults as `Task`'s."""
        get = doc.get
        return cls(
            doc["_id"],
            doc["user_id"],
            doc["list_id"],
            doc["title"],
            get("notes") or "",
            bool(get("done")),  # the embedded server may hold a boolean as 1
            get("done_at"),
            get("due"),
            get("remind_at"),
            get("repeat"),
            doc["created_at"],
            doc["updated_at"],
            get("order_key") or "",
            get("created_by"),
            get("updated_by"),
            get("assignee_id"),
            get("version") or 0,  # older documents have none: version 0
        )
