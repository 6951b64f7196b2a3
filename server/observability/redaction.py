"""Keeps secrets and forged lines out of every log record, whoever logs it.

Libraries log what they see: python-telegram-bot logs its Bot API URL (which contains the bot
token) and setWebhook's parameters (the webhook secret); httpx logs request URLs; a traceback
quotes whatever its exception carries. And a request path, a header or a username can hold a
newline or a terminal escape. A record factory sees every record at creation, before any
handler or formatter, so what it rewrites is what every handler writes:

- configured secrets, and anything shaped like a credential (a JWT; what follows `Bearer`,
  `Bot` or `tma`), are masked in the message and in the traceback;
- control characters (newline, ESC, DEL, C1, Unicode line separators, bidi overrides) in the
  message are escaped (`\\n`, `\\x1b`), so no input can start a line of its own or recolour a
  terminal. A traceback keeps its line breaks, but every one of its lines is indented: a line
  that starts at the margin is always the start of a record.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "[REDACTED]"
_secrets: set[str] = set()
_installed = False
_formatter = logging.Formatter()

# A JWT (three base64url parts; the first is a JSON header, so it starts "eyJ"), and the
# credential after one of this API's Authorization schemes.
_CREDENTIAL = re.compile(
    r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*"
    r"|\b(?P<scheme>Bearer|Bot|tma) +[^\s'\"]{16,}"
)
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_CONTROL_BUT_NEWLINE = re.compile(_CONTROL.pattern.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f"))


def _mask_credential(match: re.Match[str]) -> str:
    scheme = match.group("scheme")
    return f"{scheme} {MASK}" if scheme else MASK


def _escape_char(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def redact(text: str) -> str:
    """`text` with configured secrets and credential-shaped strings masked."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _CREDENTIAL.sub(_mask_credential, text)


def escape_controls(text: str) -> str:
    """`text` on one line: every control character written as its escape."""
    return _CONTROL.sub(_escape_char, text)


def _clean_block(text: str) -> str:
    """A traceback or stack, masked, its control characters escaped but for line breaks,
    every line indented."""
    text = _CONTROL_BUT_NEWLINE.sub(_escape_char, redact(text))
    return "\n".join("  " + line for line in text.split("\n"))


# Loggers that would otherwise record sensitive data as a matter of course: httpx writes request
# URLs (Bot API URLs contain the bot token); PyMongo's DEBUG command log writes documents
# (password and refresh-token hashes).
QUIETED = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "pymongo.command": logging.INFO}


def harden_logging(secrets: Iterable[str]) -> None:
    """Mask the configured secrets in every log record, escape control characters, and quiet
    the loggers above."""
    install_redaction(secrets)
    for name, level in QUIETED.items():
        logging.getLogger(name).setLevel(level)


def install_redaction(secrets: Iterable[str]) -> None:
    """Add secrets to mask (idempotent; short strings are ignored) and install the record
    factory once."""
    global _installed
    _secrets.update(s for s in secrets if len(s) >= 8)
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's to report
            return record
        cleaned = escape_controls(redact(message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatted now, masked, and kept as exc_text, which formatters print as it is.
            record.exc_text = _clean_block(_formatter.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = _clean_block(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
