"""/api/lists and /api/tasks: read the input, call the lists or tasks service, shape the
answer. Every route needs a user (a bot acting as itself gets 403)."""

from __future__ import annotations

import orjson
from aiohttp import web
from beanie import PydanticObjectId
from pydantic import BaseModel

from models import Task
from server.api.body import read_json, read_query
from server.api.etag import if_match, version_tag, with_etag
from server.api.responses import json_response
from server.api.task_schemas import (
    ListIn,
    ListOut,
    ListsOut,
    TaskIn,
    TaskListQuery,
    TaskOut,
    TaskPatch,
)
from server.auth.principal import protected, require_user
from server.http.problems import Problem
from server.keys import SERVICES
from server.services.common.errors import TaskChanged
from server.services.dates.humanize import Humanizer
from server.services.tasks.service import (
    UNSET,
    TaskChanges,
    TaskDraft,
    TaskPage,
    TaskQuery,
)


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return json_response(model, status)


async def _texts(request: web.Request, user_id: PydanticObjectId) -> Humanizer:
    """How this user reads times (`when_text`, `repeat_text`): their language (else the
    browser's) and time zone. One read of the user by id (~1 ms)."""
    user = await request.app[SERVICES].users.get(user_id)
    language = user.language or request.headers.get("Accept-Language", "")[:2]
    return Humanizer.for_user(language, user.timezone, request.app[SERVICES].tasks.clock())


def _page(page: TaskPage, texts: Humanizer) -> web.Response:
    """A TaskPageOut, without building a model per task: the page is the hot path (50 tasks
    through pydantic models cost more than the whole rest of the request)."""
    body = {
        "items": [TaskOut.row(task, texts) for task in page.items],
        "next_cursor": page.next_cursor,
    }
    return web.Response(
        body=orjson.dumps(body, option=orjson.OPT_UTC_Z),
        content_type="application/json",
        charset="utf-8",
    )


def _task(task: Task, texts: Humanizer, status: int = 200) -> web.Response:
    """One task, with its version as the `ETag` (what `If-Match` names on its writes)."""
    response = _json(TaskOut.of(task, texts), status)
    response.headers["ETag"] = version_tag(task.version)
    return response


async def _conflict(request: web.Request, user_id: PydanticObjectId, exc: TaskChanged) -> Problem:
    """The service refused a write based on an older version: a 409 carrying the task as it
    is now (`current`, and its tag), so the client can show it and re-apply or drop its edit
    without another request."""
    current = TaskOut.of(exc.current, await _texts(request, user_id))
    return Problem(
        409,
        str(exc),
        slug="task-changed",
        headers={"ETag": version_tag(exc.current.version)},
        extra={"current": current.model_dump(mode="json")},
    )


@protected
async def list_lists(request: web.Request) -> web.Response:
    user_id = require_user(request)
    views = await request.app[SERVICES].lists.overview(user_id)
    return with_etag(request, _json(ListsOut(items=[ListOut.of(view) for view in views])))


@protected
async def create_list(request: web.Request) -> web.Response:
    user_id = require_user(request)
    body = await read_json(request, ListIn)
    view = await request.app[SERVICES].lists.create(user_id, body.name)
    return _json(ListOut.of(view), 201)


@protected
async def rename_list(request: web.Request) -> web.Response:
    user_id = require_user(request)
    body = await read_json(request, ListIn)
    view = await request.app[SERVICES].lists.rename(user_id, request.match_info["id"], body.name)
    return _json(ListOut.of(view))


@protected
async def delete_list(request: web.Request) -> web.Response:
    user_id = require_user(request)
    await request.app[SERVICES].lists.delete(user_id, request.match_info["id"])
    return web.Response(status=204)


@protected
async def list_tasks(request: web.Request) -> web.Response:
    user_id = require_user(request)
    query = read_query(request, TaskListQuery)
    page = await request.app[SERVICES].tasks.page(
        user_id,
        TaskQuery(
            list_ref=query.list,
            status=query.status,
            text=query.q,
            limit=query.limit,
            cursor=query.cursor,
        ),
    )
    return with_etag(request, _page(page, await _texts(request, user_id)))


@protected
async def create_task(request: web.Request) -> web.Response:
    user_id = require_user(request)
    body = await read_json(request, TaskIn)
    task = await request.app[SERVICES].tasks.create(
        user_id,
        TaskDraft(
            title=body.title,
            notes=body.notes,
            list_ref=body.list,
            due=body.due,
            remind_at=body.remind_at,
            repeat=body.repeat,
        ),
    )
    return _task(task, await _texts(request, user_id), 201)


@protected
async def get_task(request: web.Request) -> web.Response:
    user_id = require_user(request)
    task = await request.app[SERVICES].tasks.get(user_id, request.match_info["id"])
    return _task(task, await _texts(request, user_id))


@protected
async def update_task(request: web.Request) -> web.Response:
    user_id = require_user(request)
    expected = if_match(request)  # a malformed header refuses the request before the body
    body = await read_json(request, TaskPatch)
    given = body.model_fields_set
    nulls = [
        name for name in ("title", "list", "done") if name in given and getattr(body, name) is None
    ]
    if nulls:
        errors = [{"field": name, "message": "Cannot be null", "type": "null"} for name in nulls]
        raise Problem(
            422, f"Invalid fields: {', '.join(nulls)}", slug="validation-error", errors=errors
        )

    def value(name: str) -> object:
        return getattr(body, name) if name in given else UNSET

    changes = TaskChanges(
        title=value("title"),  # type: ignore[arg-type]
        notes=value("notes"),  # type: ignore[arg-type]
        list_ref=value("list"),  # type: ignore[arg-type]
        done=value("done"),  # type: ignore[arg-type]
        due=value("due"),  # type: ignore[arg-type]
        remind_at=value("remind_at"),  # type: ignore[arg-type]
        repeat=value("repeat"),  # type: ignore[arg-type]
        assignee_id=value("assignee_id"),  # type: ignore[arg-type]
    )
    try:
        task = await request.app[SERVICES].tasks.update(
            user_id, request.match_info["id"], changes, expected=expected
        )
    except TaskChanged as exc:
        raise await _conflict(request, user_id, exc) from None
    return _task(task, await _texts(request, user_id))


@protected
async def delete_task(request: web.Request) -> web.Response:
    user_id = require_user(request)
    expected = if_match(request)
    try:
        await request.app[SERVICES].tasks.delete(
            user_id, request.match_info["id"], expected=expected
        )
    except TaskChanged as exc:
        raise await _conflict(request, user_id, exc) from None
    return web.Response(status=204)
