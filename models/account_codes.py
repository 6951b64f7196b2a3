from datetime import datetime

from beanie import Document, PydanticObjectId
from pymongo import ASCENDING, IndexModel


class LinkCode(Document):
    """A one-time code in a `t.me/<bot>?start=link_<code>` deep link that binds the Telegram
    account which opens it to `user_id`. Only the code's SHA-256 is stored (it is the _id)."""

    id: str  # type: ignore[assignment]  # SHA-256 of the code
    user_id: PydanticObjectId
    expires_ms: int  # epoch ms; compared in queries, so a number
    # The Telegram id that redeemed it (0: nobody yet). Claimed atomically: one of two racing
    # Telegram accounts wins; the winner may resume after a crash.
    claimed_by: int = 0
    claimed_until: int = 0  # epoch ms: the claim's lease (a resumed handling waits for it)
    expires_at: datetime  # for the TTL purge only

    class Settings:
        name = "link_codes"
        indexes = [
            IndexModel([("user_id", ASCENDING)], name="user_unique", unique=True),
            IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]


class ResetCode(Document):
    """A password-reset code sent by the bot: one per user (the _id), stored as an HMAC,
    a limited number of tries."""

    id: PydanticObjectId  # the user's id
    code_hash: str
    attempts: int = 0
    expires_ms: int
    expires_at: datetime  # for the TTL purge only

    class Settings:
        name = "reset_codes"
        indexes = [IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0)]


class UsedLoginHash(Document):
    """A Telegram Login Widget payload already signed in with (its `hash`, hashed again): a
    replay of the same payload is refused while it could still pass the freshness check."""

    id: str  # type: ignore[assignment]  # SHA-256 of the payload's hash
    expires_at: datetime  # for the TTL purge only: after it the payload is stale anyway

    class Settings:
        name = "used_login_hashes"
        indexes = [IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0)]
