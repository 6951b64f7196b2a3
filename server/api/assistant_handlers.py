"""PATCH /api/auth/me (the user's own username, time zone, language) and
POST /api/tasks/parse (what the natural-language parser understands; saves nothing)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from server.api.assistant_schemas import ClarifyOut, MePatch, ParseOut, ParseRequest, ReadingOut
from server.api.body import read_json
from server.api.client import client_address
from server.api.responses import json_response
from server.api.schemas import UserOut
from server.auth.principal import protected, require_user
from server.http.problems import Problem
from server.keys import SERVICES
from server.services.accounts.profile import UNSET
from server.services.dates.humanize import Humanizer
from server.services.tasks.capture import Reading, capture


@protected
async def patch_me(request: web.Request) -> web.Response:
    user_id = require_user(request)
    body = await read_json(request, MePatch)
    sent = body.model_fields_set
    for field in ("username", "notify_changes"):
        if field in sent and getattr(body, field) is None:
            error = {"field": field, "message": "cannot be removed", "type": "not_null"}
            raise Problem(422, f"Invalid fields: {field}", slug="validation-error", errors=[error])
    user = await request.app[SERVICES].profiles.update(
        user_id,
        username=body.username if body.username is not None else UNSET,
        timezone=body.timezone if "timezone" in sent else UNSET,
        language=body.language if "language" in sent else UNSET,
        notify_changes=body.notify_changes if body.notify_changes is not None else UNSET,
        client=client_address(request),
    )
    return json_response(UserOut.of(user))


@protected
async def parse_text(request: web.Request) -> web.Response:
    """What the text means and exactly what saving it would store (tasks/capture.py, the
    bot's path too)."""
    user_id = require_user(request)
    body = await read_json(request, ParseRequest)
    services = request.app[SERVICES]
    user = await services.users.get(user_id)
    name = body.timezone or user.timezone or "UTC"
    now = services.tasks.clock()  # the clock Today and the task JSON read
    read = capture(body.text, now, ZoneInfo(name))
    language = user.language or request.headers.get("Accept-Language", "")[:2]
    texts = Humanizer.for_user(language, name, now)

    def out(at: Reading) -> ReadingOut:
        return ReadingOut(
            remind_at=at.remind_at, due=at.due, repeat=at.repeat,
            when_text=texts.when(at.remind_at), repeat_text=texts.repeat(at.repeat),
        )  # fmt: skip

    clarify = read.parsed.clarify
    clarify_out = (
        ClarifyOut(
            reason=clarify.reason,
            options=list(clarify.options),
            repeats=[r or "" for r in clarify.repeats],
            options_text=[texts.when(at) or "" for at in clarify.options],
            repeats_text=[texts.repeat(r) or "" for r in clarify.repeats],
            readings=[out(at) for at in read.options],
        )
        if clarify is not None
        else None
    )
    chosen = read.reading
    result = ParseOut(
        title=read.parsed.title, remind_at=chosen.remind_at if chosen else None,
        repeat=read.parsed.repeat, due=chosen.due if chosen else None, timezone=name,
        phrase=read.parsed.phrase, clarify=clarify_out,
        when_text=texts.when(chosen.remind_at if chosen else None),
        repeat_text=texts.repeat(read.parsed.repeat),
    )  # fmt: skip
    return json_response(result)
