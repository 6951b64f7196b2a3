"""JSON answers from pydantic models."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from server.api.auth_handlers import NO_STORE


def json_response(model: BaseModel, status: int = 200, *, no_store: bool = False) -> web.Response:
    """`no_store` for answers carrying credentials (RFC 6749 §5.1)."""
    return web.json_response(
        model.model_dump(mode="json"), status=status, headers=NO_STORE if no_store else None
    )
