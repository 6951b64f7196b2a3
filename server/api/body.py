"""Reading a request body into a pydantic model, with a clear 4xx for every way it can fail.

Everything here is linear in the body's size, and an error document is bounded whatever the
body holds: at most MAX_ERRORS errors, each with a capped field name and message.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.http.problems import Problem

M = TypeVar("M", bound=BaseModel)
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_ERRORS = 10  # errors listed in one validation problem; the rest are counted, not echoed
MAX_FIELD_NAME = 64  # characters of a client-chosen field name echoed back
MAX_MESSAGE = 200  # characters of one error message


async def read_json(request: web.Request, model: type[M]) -> M:
    _require_type(request, (JSON,))
    return _validate_json(model, await request.read())


async def read_json_or_form(request: web.Request, model: type[M], form_model: type[M]) -> M:
    if _require_type(request, (JSON, FORM)) == JSON:
        return _validate_json(model, await request.read())
    # Parsed here as UTF-8 whatever the declared charset: an unknown or hostile charset
    # must give a clear 400, never a decoding error.
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "The form is not valid UTF-8", slug="malformed-form") from None
    # A form never needs more fields than its schema has; counting separators first refuses
    # a body of 30,000 empty fields before it is split.
    max_fields = len(form_model.model_fields)
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:
        error = _field_error("body", f"At most {max_fields} fields", "too_many_fields")
        raise Problem(
            422, f"The form has more than {max_fields} fields", slug="validation-error",
            errors=[error],
        ) from None  # fmt: skip
    fields = dict(pairs)
    if len(fields) != len(pairs):
        repeated = sorted(key for key, seen in Counter(key for key, _ in pairs).items() if seen > 1)
        errors = [_field_error(_echo(name), "Field repeated", "repeated") for name in repeated]
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
    # one error per field is kept, and no more than MAX_ERRORS (a body of 5,000 unknown keys
    # must not get 5,000 errors back).
    by_field: dict[str, dict[str, str]] = {}
    hidden = 0
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        field = _echo(str(error["loc"][0])) if error["loc"] else "body"
        if field in by_field:
            continue
        if len(by_field) == MAX_ERRORS:
            hidden += 1
            continue
        by_field[field] = _field_error(field, error["msg"], error["type"])
    errors = list(by_field.values())
    names = ", ".join(by_field) + (f" and {hidden} more" if hidden else "")
    return Problem(422, f"Invalid fields: {names}", slug="validation-error", errors=errors)


def _echo(name: str) -> str:
    """A client-chosen name as it may appear in an answer: capped, and only the characters a
    field name is made of (anything else is shown as "?"), so no escaping can multiply its
    size and no markup or control character is reflected."""
    return "".join(
        c if c.isascii() and (c.isalnum() or c in "_.-") else "?" for c in name[:MAX_FIELD_NAME]
    )


def _field_error(field: str, message: str, kind: str) -> dict[str, str]:
    return {"field": field, "message": message[:MAX_MESSAGE], "type": kind[:MAX_FIELD_NAME]}
