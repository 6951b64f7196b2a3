"""Keeps configured secrets out of every log record, whoever logs it.

Libraries log what they see: python-telegram-bot logs its Bot API URL (which contains the bot
token) and setWebhook's parameters (the webhook secret); httpx logs request URLs. A record
factory sees every record at creation, before any handler, so redacting there covers all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

MASK = "[REDACTED]"
_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


# Loggers that would otherwise record sensitive data as a matter of course: httpx writes request
# URLs (Bot API URLs contain the bot token); PyMongo's DEBUG command log writes documents
# (password and refresh-token hashes).
QUIETED = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "pymongo.command": logging.INFO}


def harden_logging(secrets: Iterable[str]) -> None:
    """Mask the configured secrets in every log message and quiet the loggers above."""
    install_redaction(secrets)
    for name, level in QUIETED.items():
        logging.getLogger(name).setLevel(level)


def install_redaction(secrets: Iterable[str]) -> None:
    """Add secrets to mask in log messages (idempotent; short strings are ignored)."""
    global _installed
    _secrets.update(s for s in secrets if len(s) >= 8)
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if _secrets:
            try:
                message = record.getMessage()
            except Exception:  # a broken format string is the logging module's to report
                return record
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(factory)
