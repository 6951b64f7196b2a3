"""Bodies and query strings of the lists and tasks routes (DESIGN.md, "The assistant"). The
limits come from the services, which check them again (they also serve the bot)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from models import Task
from server.api.schemas import Strict
from server.services.dates.humanize import Humanizer
from server.services.dates.rrule import MAX_RRULE_LENGTH
from server.services.tasks.lists import LIST_NAME_MAX_LENGTH, ListView
from server.services.tasks.service import (
    CURSOR_MAX_LENGTH,
    NOTES_MAX_LENGTH,
    PAGE_DEFAULT,
    PAGE_MAX,
    SEARCH_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from server.services.tasks.views import TaskView

ListName = Annotated[str, StringConstraints(min_length=1, max_length=LIST_NAME_MAX_LENGTH)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX_LENGTH)]
Notes = Annotated[str, StringConstraints(max_length=NOTES_MAX_LENGTH)]
ListRef = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    Field(description="A list id, or a built-in key: inbox, today, later, someday"),
]
Repeat = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_RRULE_LENGTH),
    Field(description="An RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO (in the user's time zone)"),
]
Time = Annotated[AwareDatetime, Field(description="RFC 3339 with an offset; stored as UTC")]


class ListIn(Strict):
    name: ListName


class TaskIn(Strict):
    title: Title
    notes: Notes | None = None
    list: ListRef | None = Field(default=None, description="Default: inbox")
    due: Time | None = None
    remind_at: Time | None = None
    repeat: Repeat | None = None


class TaskPatch(Strict):
    """Any subset of the fields; null clears notes, due, remind_at and repeat."""

    # Absent is "unchanged"; null is refused for these (checked by the handler).
    title: Title | SkipJsonSchema[None] = None
    notes: Notes | None = None
    list: ListRef | SkipJsonSchema[None] = None
    done: bool | SkipJsonSchema[None] = None
    due: Time | None = None
    remind_at: Time | None = None
    repeat: Repeat | None = None
    assignee_id: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=64),
            Field(description="A member of the task's list (its owner included); null: nobody"),
        ]
        | None
    ) = None


class TaskListQuery(BaseModel):
    # Query strings are text: "20" is a valid limit here (not in JSON bodies).
    model_config = ConfigDict(extra="forbid")

    list: ListRef | SkipJsonSchema[None] = None
    status: Literal["open", "done", "all"] = Field(
        default="open", description="open (default), done or all"
    )
    q: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=SEARCH_MAX_LENGTH),
            Field(
                description="Search: typos and word prefixes match, best match first; "
                "one page (no cursor)"
            ),
        ]
        | SkipJsonSchema[None]
    ) = None
    limit: Annotated[int, Field(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT
    cursor: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=CURSOR_MAX_LENGTH),
            Field(description="next_cursor of the previous page"),
        ]
        | SkipJsonSchema[None]
    ) = None


class ListOut(BaseModel):
    id: str
    key: Literal["inbox", "today", "later", "someday"] | None = Field(
        description="The built-in list's key; null for the user's own lists"
    )
    name: str = Field(description="Built-in lists: in the user's language")
    open_count: int
    owner_id: str
    role: Literal["owner", "editor", "viewer"] = Field(description="The caller's role")
    members_count: int = Field(description="People who see the list, the owner included")

    @classmethod
    def of(cls, view: ListView) -> ListOut:
        return cls(
            id=view.id, key=view.key, name=view.name, open_count=view.open_count,
            owner_id=view.owner_id, role=view.role, members_count=view.members_count,
        )  # fmt: skip


class ListsOut(BaseModel):
    items: list[ListOut]


class TaskOut(BaseModel):
    id: str
    title: str
    notes: str
    list_id: str
    done: bool
    done_at: datetime | None
    due: datetime | None
    remind_at: datetime | None
    repeat: str | None
    created_at: datetime
    updated_at: datetime
    when_text: str | None = Field(
        default=None,
        description="The reminder (else the due time) as people say it, in the user's "
        'language and time zone: "today 10 AM", "завтра 09:00", "Wed, Dec 9, 6:30 PM"',
    )
    repeat_text: str | None = Field(
        default=None,
        description='The repeat in words, in the user\'s language: "every weekday at 8 AM", '
        '"каждые 2 часа"',
    )
    due_text: str | None = Field(
        default=None,
        description="The due time in the same words, only when the task has a reminder at "
        "another time (else null: `when_text` already says it)",
    )
    overdue: bool = Field(
        default=False,
        description="Open, and the time `when_text` names has passed (the page shows it in red)",
    )
    # Shared lists: user ids (created_by/updated_by: the list owner's for older tasks).
    created_by: str
    updated_by: str
    assignee_id: str | None
    version: int = Field(
        description='Goes up with every change of the task; `If-Match: "<version>"` on PATCH '
        "or DELETE makes the write conditional (409 with the current task if it changed)"
    )

    @classmethod
    def of(cls, task: Task | TaskView, texts: Humanizer | None = None) -> TaskOut:
        return cls(**cls.row(task, texts))

    @staticmethod
    def row(task: Task | TaskView, texts: Humanizer | None = None) -> dict[str, Any]:
        """The same object as a plain dict, for the page's fast path (tasks_handlers): no
        model per task. Dumped with orjson's OPT_UTC_Z it is byte-for-byte what the model
        dumps (tests/unit/test_task_json.py)."""
        return {
            "id": str(task.id), "title": task.title, "notes": task.notes,
            "list_id": task.list_id, "done": task.done, "done_at": task.done_at,
            "due": task.due, "remind_at": task.remind_at, "repeat": task.repeat,
            "created_at": task.created_at, "updated_at": task.updated_at,
            "when_text": texts.task_when(task.remind_at, task.due) if texts else None,
            "repeat_text": texts.repeat(task.repeat) if texts else None,
            "due_text": texts.due_apart(task.remind_at, task.due) if texts else None,
            "overdue": texts.overdue(task.remind_at, task.due, task.done) if texts else False,
            "created_by": task.created_by or task.user_id,
            "updated_by": task.updated_by or task.created_by or task.user_id,
            "assignee_id": task.assignee_id,
            "version": task.version,
        }  # fmt: skip


class TaskPageOut(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None
