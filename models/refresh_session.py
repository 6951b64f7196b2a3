from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from models.clock import utcnow


class RefreshSession(Document):
    """One login session: a family of refresh tokens, of which only the newest is valid."""

    user_id: PydanticObjectId
    family_id: str
    token_hash: str  # SHA-256 of the current refresh token; the token itself is never stored
    expires_at: datetime
    revoked: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "refresh_sessions"
        indexes = [
            IndexModel([("token_hash", ASCENDING)], name="token_hash_unique", unique=True),
            IndexModel([("family_id", ASCENDING)], name="family_unique", unique=True),
            IndexModel([("user_id", ASCENDING)], name="user"),
            IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]


class SpentRefreshToken(Document):
    """A refresh token already exchanged. Inserting it is the atomic 'spend' (unique index);
    finding it again later means the token was stolen or replayed, so the family is revoked."""

    token_hash: str
    family_id: str
    expires_at: datetime

    class Settings:
        name = "spent_refresh_tokens"
        indexes = [
            IndexModel([("token_hash", ASCENDING)], name="token_hash_unique", unique=True),
            IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]
