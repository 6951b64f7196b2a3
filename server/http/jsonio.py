"""One JSON style on every route: compact UTF-8 (no spaces after separators, no `\\u`
escapes), the same bytes pydantic's serializer writes for the model-backed answers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def dumps(data: Any) -> str:
    """`json.dumps` as aiohttp's `json_response` expects it, compact and unescaped."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def json_response(
    data: Any, *, status: int = 200, content_type: str = "application/json"
) -> web.Response:
    return web.json_response(data, status=status, content_type=content_type, dumps=dumps)
