"""The route table: each endpoint once, with the models it reads and answers. Both the
router and the OpenAPI document are built from it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

HandlerFn = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: HandlerFn
    summary: str
    tag: str
    request: type[BaseModel] | None = None
    form: type[BaseModel] | None = None  # alternative application/x-www-form-urlencoded body
    query: type[BaseModel] | None = None  # query string parameters (read with read_query)
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    # JSON Schemas of path parameters other than a plain string (for OpenAPI).
    path_schemas: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def path_parameters(self) -> list[str]:
        """The `{name}` parts of the path (matched as strings)."""
        return re.findall(r"\{(\w+)\}", self.path)

    @property
    def requires_auth(self) -> bool:
        return bool(getattr(self.handler, "__requires_auth__", False))


def add_endpoints(app: web.Application, endpoints: list[Endpoint]) -> None:
    for endpoint in endpoints:
        if endpoint.method == "GET":
            app.router.add_get(endpoint.path, endpoint.handler)  # HEAD too, for probes
        else:
            app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)
