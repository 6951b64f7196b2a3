"""One class per Authorization scheme. Each returns a Principal, or None to refuse."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web
from beanie import PydanticObjectId
from bson.errors import InvalidId

from server.auth.principal import Principal
from server.services.errors import InvalidToken
from server.services.tokens import AccessTokens


class Authenticator(Protocol):
    scheme: str  # as written in WWW-Authenticate; matched case-insensitively

    async def authenticate(self, credentials: str, request: web.Request) -> Principal | None: ...


class BearerAuthenticator:
    """A user's access JWT."""

    scheme = "Bearer"

    def __init__(self, access: AccessTokens) -> None:
        self._access = access

    async def authenticate(self, credentials: str, request: web.Request) -> Principal | None:
        try:
            user_id = PydanticObjectId(self._access.verify(credentials))
        except (InvalidToken, InvalidId, TypeError):
            return None
        return Principal(kind="user", scheme="Bearer", user_id=user_id)
