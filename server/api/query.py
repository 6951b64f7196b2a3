"""Reading the query string into a pydantic model, with a 422 naming the parameter."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.http.problems import Problem

M = TypeVar("M", bound=BaseModel)


def read_query(request: web.Request, model: type[M]) -> M:
    names = list(request.query.keys())
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        errors = [{"field": name[:64], "message": "Parameter repeated", "type": "repeated"}
                  for name in repeated]  # fmt: skip
        raise Problem(422, "Each query parameter may appear once", slug="validation-error",
                      errors=errors)  # fmt: skip
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        by_field: dict[str, dict[str, str]] = {}
        for error in exc.errors(include_url=False, include_input=False):
            field = str(error["loc"][0])[:64] if error["loc"] else "query"
            by_field.setdefault(
                field, {"field": field, "message": error["msg"], "type": error["type"]}
            )
        raise Problem(
            422,
            f"Invalid query parameters: {', '.join(by_field)}",
            slug="validation-error",
            errors=list(by_field.values()),
        ) from None
