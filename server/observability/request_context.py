"""What a log line belongs to: the HTTP request id and the Telegram update id, carried in
context variables (so every line logged while handling one request or update carries them,
whichever module logs it) and added to log records by a logging filter."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-Id"
# Heroku's router sends a UUID (or the client's own id of 20-200 characters). Anything else
# that reaches a log line must be short and unable to forge a line or a field: no spaces, no
# quotes, no control characters.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,200}")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
update_id_var: ContextVar[int | None] = ContextVar("update_id", default=None)


def accept_request_id(presented: str | None) -> str:
    """The client's (or router's) X-Request-Id when it is safe to log, else a new one."""
    if presented is not None and _ACCEPTED_ID.fullmatch(presented):
        return presented
    # 128 random bits, as a UUID4 has, at a tenth of uuid4()'s cost (no system call per
    # request). An id needs to be unique, not unguessable.
    return f"{random.getrandbits(128):032x}"


def current_request_id() -> str | None:
    return request_id_var.get()


@contextmanager
def bound_request_id(request_id: str) -> Iterator[None]:
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


def bind_update_id(update_id: int | None) -> None:
    """For the rest of the current task (an update's handling runs in one task)."""
    update_id_var.set(update_id)


class ContextFilter(logging.Filter):
    """Adds `request_id` and `update_id` to every record a handler emits (an explicit
    `extra=` value wins: the access log passes the request id of the request it describes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        if getattr(record, "update_id", None) is None:
            record.update_id = update_id_var.get()
        return True
