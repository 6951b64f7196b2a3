from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.clock import epoch_ms, utcnow


class RefreshSession(Document):
    """One login session: a family of refresh tokens, of which only the newest is valid.
    Its `family_id` is also the session's public id and the `sid` claim of its access tokens."""

    user_id: PydanticObjectId
    # `str(user_id)`: what the user's sessions are looked up by. nx-27017 stores an ObjectId
    # outside `_id` as an object and matches it only through `$in`, which reads the whole
    # collection; a string equality is served by the `user_key` index there and on MongoDB.
    # None only in sessions written before the field (AuthService.key_sessions fills it in).
    user_key: str | None = None
    family_id: str
    token_hash: str  # SHA-256 of the current refresh token; the token itself is never stored
    expires_at: datetime
    revoked: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    # Epoch milliseconds, not a datetime: every refresh updates it with `$set`.
    last_used_ms: int = Field(default_factory=epoch_ms)
    user_agent: str | None = None  # as the client sent it at login or at the last refresh

    class Settings:
        name = "refresh_sessions"
        indexes = [
            IndexModel([("token_hash", ASCENDING)], name="token_hash_unique", unique=True),
            IndexModel([("family_id", ASCENDING)], name="family_unique", unique=True),
            IndexModel([("user_id", ASCENDING)], name="user"),
            # The sign-in's cap: a user's live sessions, most recently used first.
            IndexModel(
                [("user_key", ASCENDING), ("revoked", ASCENDING), ("last_used_ms", DESCENDING)],
                name="user_key",
            ),
            IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]


class SpentRefreshToken(Document):
    """A refresh token already exchanged. Inserting it is the atomic 'spend' (unique index);
    finding it again later means the token was stolen or replayed, so the family is revoked."""

    token_hash: str
    family_id: str
    expires_at: datetime
    # Whose it was, so deleting an account can find it (None in records older than the field).
    user_id: PydanticObjectId | None = None

    class Settings:
        name = "spent_refresh_tokens"
        indexes = [
            IndexModel([("token_hash", ASCENDING)], name="token_hash_unique", unique=True),
            IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
            IndexModel([("family_id", ASCENDING)], name="family"),
        ]
