"""Turns every failure into a problem document; adds the headers every response carries."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler
from pymongo.errors import ConnectionFailure, PyMongoError

from server.http.problems import Problem
from server.keys import METRICS
from server.services.common.errors import (
    AccountDeactivated,
    BuiltinList,
    ConcurrentChange,
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidInitData,
    InvalidInput,
    InvalidLoginData,
    InvalidResetCode,
    InvalidToken,
    ListNameTaken,
    ListNotFound,
    NotConfigured,
    NotFound,
    PasswordTooCommon,
    QuotaExceeded,
    ServiceError,
    StaleConfirmation,
    TaskChanged,
    TaskNotFound,
    TooManyAttempts,
    Unavailable,
    UsernameTaken,
    UserNotFound,
    WrongPassword,
)

log = logging.getLogger(__name__)

DB_RETRY_AFTER = "5"

# How each refusal of the service layer reads over HTTP: (status, slug).
SERVICE_ERRORS: dict[type[ServiceError], tuple[int, str]] = {
    UsernameTaken: (409, "username-taken"),
    InvalidCredentials: (401, "invalid-credentials"),
    InvalidToken: (401, "invalid-token"),
    UserNotFound: (401, "user-not-found"),
    InvalidInitData: (401, "invalid-init-data"),
    NotConfigured: (404, "not-configured"),
    ListNotFound: (404, "list-not-found"),
    TaskNotFound: (404, "task-not-found"),
    ListNameTaken: (409, "list-name-taken"),
    BuiltinList: (409, "builtin-list"),
    ConcurrentChange: (409, "concurrent-change"),
    # The task handlers answer it with the current task; this is the same status elsewhere.
    TaskChanged: (409, "task-changed"),
    InvalidLoginData: (401, "invalid-login-data"),
    AccountDeactivated: (403, "account-deactivated"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not-found"),
    Conflict: (409, "conflict"),
    QuotaExceeded: (409, "quota-exceeded"),
    Unavailable: (503, "unavailable"),
}
# Refusals about one request field: 422 naming it (field, type).
FIELD_ERRORS: dict[type[ServiceError], str] = {
    WrongPassword: "wrong_password",
    InvalidResetCode: "invalid_code",
    StaleConfirmation: "stale_confirmation",
}


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as problem:
        return problem.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "WWW-Authenticate")}
        # aiohttp's own texts ("404: Not Found") add nothing; its 413 text names the limit.
        text = exc.text or ""
        detail = exc.reason if text.startswith(f"{exc.status}:") or not text else text
        return Problem(exc.status, detail, headers=headers).response()
    except ServiceError as exc:
        return _service_problem(exc).response()
    except PyMongoError as exc:
        request.app[METRICS].db_error(exc)
        if isinstance(exc, ConnectionFailure) or exc.timeout:
            log.warning(
                "database unavailable: %s %s: %s", request.method, request.path, type(exc).__name__
            )
            return Problem(
                503,
                "The database is unavailable; try again shortly",
                slug="database-unavailable",
                headers={"Retry-After": DB_RETRY_AFTER},
            ).response()
        log.exception("database error on %s %s", request.method, request.path)
        return _internal_error()
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _internal_error()


def _service_problem(exc: ServiceError) -> Problem:
    if isinstance(exc, InvalidInitData) and exc.field is not None:
        # Signed by Telegram but incomplete: the client's data, not its identity, is wrong.
        field = f"{exc.field_prefix}{exc.field}"
        kind = "init_data" if exc.field_prefix else "login_data"
        error = {"field": field, "message": str(exc), "type": kind}
        return Problem(422, str(exc), slug="validation-error", errors=[error])
    if isinstance(exc, TooManyAttempts):
        return Problem(429, str(exc), slug="too-many-attempts",
                       headers={"Retry-After": str(exc.retry_after)})  # fmt: skip
    if isinstance(exc, InvalidInput):
        error = {"field": exc.field, "message": str(exc), "type": "invalid"}
        return Problem(422, f"Invalid fields: {exc.field}", slug="validation-error",
                       errors=[error])  # fmt: skip
    if isinstance(exc, PasswordTooCommon):
        error = {"field": exc.field, "message": str(exc), "type": "password_too_common"}
        return Problem(422, str(exc), slug="validation-error", errors=[error])
    if (error_type := FIELD_ERRORS.get(type(exc))) is not None:
        field = "code" if isinstance(exc, InvalidResetCode) else getattr(exc, "field", "body")
        if isinstance(exc, WrongPassword | StaleConfirmation) and exc.missing:
            error_type = "missing"
        error = {"field": field, "message": str(exc), "type": error_type}
        return Problem(422, str(exc), slug="validation-error", errors=[error])
    if isinstance(exc, Unavailable):
        return Problem(503, str(exc), slug="unavailable", headers={"Retry-After": "10"})
    status, slug = SERVICE_ERRORS.get(type(exc), (400, "bad-request"))
    # RFC 9110: every 401 names a scheme the client could use.
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else None
    return Problem(status, str(exc), slug=slug, headers=headers)


def _internal_error() -> web.Response:
    return Problem(500, "An unexpected error occurred", slug="internal-error").response()


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
