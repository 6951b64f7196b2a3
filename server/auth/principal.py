from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

from aiohttp import web
from beanie import PydanticObjectId

H = TypeVar("H")


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller. `user_id` is None only for a bot acting as itself."""

    kind: Literal["user", "bot"]
    scheme: str
    user_id: PydanticObjectId | None = None
    bot_name: str | None = None


PRINCIPAL_KEY = web.RequestKey("principal", Principal)


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL_KEY]


def protected(handler: H) -> H:
    """Mark a handler as requiring credentials; the auth middleware enforces it."""
    handler.__requires_auth__ = True  # type: ignore[attr-defined]
    return handler
