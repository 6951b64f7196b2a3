"""The two log formats: plain lines for a person at a terminal (the default) and one JSON
object per line for log drains (`LOG_FORMAT=json`). Both take a record's message through
`safe_message` (secrets masked, control characters escaped) and carry the request and update
ids, so neither format can leak a secret or be split into forged lines by request data."""

from __future__ import annotations

import logging
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from server.observability.redaction import escape_controls, redact
from server.observability.request_context import ContextFilter

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"
# The fields of a JSON line; an `extra=` key is kept only when named here.
JSON_EXTRAS = ("request_id", "update_id", "http")


def safe_message(record: logging.LogRecord) -> str:
    """The record's message as both formats write it: secrets masked (again: arguments are
    masked by the record factory at creation, this also covers records made elsewhere) and
    control characters escaped, so one record is one line."""
    return escape_controls(redact(record.getMessage()))


def _context(record: logging.LogRecord) -> str:
    parts = [
        f"{name}={value}"
        for name in ("request_id", "update_id")
        if (value := getattr(record, name, None)) is not None
    ]
    return f" [{' '.join(parts)}]" if parts else ""


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(PLAIN_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.message = safe_message(record)
        record.context = _context(record)
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        # A traceback stays multi-line for the reader; secrets are masked in it all the same.
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        if record.stack_info:
            line += "\n" + redact(self.formatStack(record.stack_info))
        return line


class JsonFormatter(_JsonFormatter):
    """{"time", "level", "logger", "message", "request_id"?, "update_id"?, "http"?,
    "exc_info"?}: one object per line (JSON escapes every control character itself)."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        line = {
            "time": log_data.get("time"),
            "level": log_data.get("level"),
            "logger": log_data.get("logger"),
            "message": safe_message(record),
        }
        # Only our own extra fields: a library's `extra=` could carry anything.
        for key in (*JSON_EXTRAS, "exc_info", "stack_info"):
            if log_data.get(key) is not None:
                line[key] = log_data[key]
        log_data.clear()
        log_data.update(line)

    def formatException(self, ei: Any) -> str:
        return redact(str(super().formatException(ei)))

    def formatStack(self, stack_info: str) -> str:
        return redact(str(super().formatStack(stack_info)))


def make_handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler (stderr by default) writing `log_format` ("plain" or "json"), with
    the request/update ids added to every record it writes."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else PlainFormatter())
    handler.addFilter(ContextFilter())
    return handler
