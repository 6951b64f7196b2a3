"""PATCH /api/auth/me (the user's own username, time zone, language) and
POST /api/tasks/parse (what the natural-language parser understands; saves nothing)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from server.api.assistant_schemas import ClarifyOut, MePatch, ParseOut, ParseRequest
from server.api.body import read_json
from server.api.client import client_address
from server.api.responses import json_response
from server.api.schemas import UserOut
from server.auth.principal import protected, require_user
from server.http.problems import Problem
from server.keys import SERVICES
from server.services.accounts.profile import UNSET
from server.services.dates.humanize import Humanizer
from server.services.dates.parse import parse


@protected
async def patch_me(request: web.Request) -> web.Response:
    user_id = require_user(request)
    body = await read_json(request, MePatch)
    sent = body.model_fields_set
    if "username" in sent and body.username is None:
        error = {"field": "username", "message": "cannot be removed", "type": "not_null"}
        raise Problem(422, "Invalid fields: username", slug="validation-error", errors=[error])
    user = await request.app[SERVICES].profiles.update(
        user_id,
        username=body.username if body.username is not None else UNSET,
        timezone=body.timezone if "timezone" in sent else UNSET,
        language=body.language if "language" in sent else UNSET,
        client=client_address(request),
    )
    return json_response(UserOut.of(user))


@protected
async def parse_text(request: web.Request) -> web.Response:
    user_id = require_user(request)
    body = await read_json(request, ParseRequest)
    user = await request.app[SERVICES].users.get(user_id)
    name = body.timezone or user.timezone or "UTC"
    zone = ZoneInfo(name)
    now = request.app[SERVICES].tasks.clock()  # the clock Today and the task JSON read
    result = parse(body.text, now, zone)
    language = user.language or request.headers.get("Accept-Language", "")[:2]
    texts = Humanizer.for_user(language, name, now)
    clarify = (
        ClarifyOut(
            reason=result.clarify.reason,
            options=list(result.clarify.options),
            repeats=[r or "" for r in result.clarify.repeats],
            options_text=[texts.when(at) or "" for at in result.clarify.options],
            repeats_text=[texts.repeat(r) or "" for r in result.clarify.repeats],
        )
        if result.clarify is not None
        else None
    )
    out = ParseOut(
        title=result.title, remind_at=result.when, repeat=result.repeat, due=result.when,
        timezone=name, phrase=result.phrase, clarify=clarify,
        when_text=texts.when(result.when), repeat_text=texts.repeat(result.repeat),
    )  # fmt: skip
    return json_response(out)
