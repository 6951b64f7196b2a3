from __future__ import annotations

from typing import Literal, NamedTuple, TypeVar

from aiohttp import web
from beanie import PydanticObjectId

from server.http.problems import Problem

H = TypeVar("H")


class Principal(NamedTuple):
    """The authenticated caller. `user_id` is None only for a bot acting as itself.
    (A NamedTuple: immutable, and built per request at half a frozen dataclass's cost.)"""

    kind: Literal["user", "bot"]
    scheme: str
    user_id: PydanticObjectId | None = None
    bot_name: str | None = None
    session_id: str | None = None  # a Bearer token's session (`sid`): which session is "current"


PRINCIPAL_KEY = web.RequestKey("principal", Principal)


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL_KEY]


def require_user(request: web.Request) -> PydanticObjectId:
    """The user the request acts for; a bot acting as itself gets a 403 that says what to add."""
    principal = principal_of(request)
    if principal.user_id is None:
        raise Problem(403, "This needs a user: send X-Telegram-User-Id", slug="user-required")
    return principal.user_id


def protected(handler: H) -> H:
    """Mark a handler as requiring credentials; the auth middleware enforces it."""
    handler.__requires_auth__ = True  # type: ignore[attr-defined]
    return handler
