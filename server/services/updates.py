"""Recording Telegram updates: durable before the webhook answers, and once per update_id."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from models import TelegramUpdate
from models._time import utcnow

# Telegram stops redelivering an update within a day; a week leaves a wide margin.
KEEP_FOR = timedelta(days=7)


async def record_update(update_id: int, payload: dict[str, Any]) -> bool:
    """Store the update; return False when it was already recorded (a redelivery)."""
    now = utcnow()
    try:
        await TelegramUpdate(
            update_id=update_id, payload=payload, received_at=now, expires_at=now + KEEP_FOR
        ).insert()
    except DuplicateKeyError:
        return False
    return True
