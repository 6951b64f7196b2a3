"""Reading a request body into a pydantic model, with a clear 4xx for every way it can fail."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.http.problems import Problem

M = TypeVar("M", bound=BaseModel)
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


async def read_json(request: web.Request, model: type[M]) -> M:
    _require_type(request, (JSON,))
    return _validate_json(model, await request.read())


async def read_json_or_form(request: web.Request, model: type[M], form_model: type[M]) -> M:
    if _require_type(request, (JSON, FORM)) == JSON:
        return _validate_json(model, await request.read())
    # Parsed here as UTF-8 whatever the declared charset: an unknown or hostile charset
    # must give a clear 400, never a decoding error.
    try:
        pairs = parse_qsl((await request.read()).decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise Problem(400, "The form is not valid UTF-8", slug="malformed-form") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        repeated = sorted({key for key, _ in pairs if sum(k == key for k, _ in pairs) > 1})
        errors = [_field_error(name[:64], "Field repeated", "repeated") for name in repeated]
        raise Problem(
            422, "Each form field may appear once", slug="validation-error", errors=errors
        )
    return _validate(model=form_model, data=fields)


def read_query(request: web.Request, model: type[M]) -> M:
    """The query string into a model (unknown or repeated parameters are a 422)."""
    pairs = list(request.query.items())
    fields = dict(pairs)
    if len(fields) != len(pairs):
        repeated = sorted({key for key, _ in pairs if sum(k == key for k, _ in pairs) > 1})
        errors = [_field_error(name[:64], "Parameter repeated", "repeated") for name in repeated]
        raise Problem(
            422, "Each query parameter may appear once", slug="validation-error", errors=errors
        )
    return _validate(model=model, data=fields)


def _require_type(request: web.Request, accepted: tuple[str, ...]) -> str:
    if request.content_type not in accepted:
        raise Problem(
            415,
            f"Content-Type must be {' or '.join(accepted)}",
            slug="unsupported-media-type",
            headers={"Accept-Post": ", ".join(accepted)},
        )
    return request.content_type


def _validate_json(model: type[M], raw: bytes) -> M:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise Problem(400, "The body is not valid JSON", slug="malformed-json") from None
        raise _validation_problem(exc) from None


def _validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_problem(exc) from None


def _validation_problem(exc: ValidationError) -> Problem:
    # The bodies are flat: the first location part is the field. Deeper parts are pydantic's
    # union branch names ("grant_type.literal['password']"), which mean nothing to a client;
    # one error per field is kept.
    by_field: dict[str, dict[str, str]] = {}
    for error in exc.errors(include_url=False, include_input=False):
        # Capped: an unknown field's name is the client's text, echoed back.
        field = str(error["loc"][0])[:64] if error["loc"] else "body"
        by_field.setdefault(field, _field_error(field, error["msg"], error["type"]))
    errors = list(by_field.values())
    names = ", ".join(by_field)
    return Problem(422, f"Invalid fields: {names}", slug="validation-error", errors=errors)


def _field_error(field: str, message: str, kind: str) -> dict[str, str]:
    return {"field": field, "message": message, "type": kind}
