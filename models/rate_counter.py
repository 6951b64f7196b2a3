from datetime import datetime

from beanie import Document
from pymongo import ASCENDING, IndexModel


class RateCounter(Document):
    """Attempts in one fixed time window for one subject (a hashed username or address).
    Shared by every web process; expires with its window."""

    id: str  # type: ignore[assignment]  # "<limit>:<subject hash>:<window number>"
    attempts: int
    expires_at: datetime

    class Settings:
        name = "rate_counters"
        indexes = [IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0)]
