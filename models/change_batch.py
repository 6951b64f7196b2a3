"""Change notifications of shared lists waiting to be sent (docs/sharing.md, "Change
notifications"): one document per (recipient, list, actor) collecting that actor's changes
until `due_ms`, then sent as one bot message.

Times are integer epoch milliseconds and counters integers: they are compared and changed by
`$set`/`$inc`, and the embedded server stores a `$set` datetime as a string
(docs/embedded-database.md). `expires_at` is written by the insert only (it stays a date) and
purges a batch nobody could send."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pymongo import ASCENDING, IndexModel

# What a change was, in the order a message lists them.
KINDS: tuple[str, ...] = ("added", "done", "edited", "deleted", "moved")


class ChangeBatch(Document):
    id: str  # type: ignore[assignment]  # "<recipient>:<list_id>:<actor>"
    recipient: str  # user ids as 24-hex strings, like Task.user_id
    list_id: str
    actor: str
    total: int = 0  # every change recorded, all kinds together
    # Per kind: how many, the first title (shown) and the last one (kept for what arrives
    # while the batch is being sent: see ChangeNotices._finish).
    n_added: int = 0
    n_done: int = 0
    n_edited: int = 0
    n_deleted: int = 0
    n_moved: int = 0
    t_added: str | None = None
    t_done: str | None = None
    t_edited: str | None = None
    t_deleted: str | None = None
    t_moved: str | None = None
    l_added: str | None = None
    l_done: str | None = None
    l_edited: str | None = None
    l_deleted: str | None = None
    l_moved: str | None = None
    first_ms: int = 0
    due_ms: int = 0  # first change + the window (moved on by quiet hours, a busy chat)
    lease_ms: int = 0  # a claim: the holder sends until then; then anyone may take it over
    claim: str | None = None
    attempts: int = 0
    expires_at: datetime  # TTL: a batch still here then is dropped

    class Settings:
        name = "change_batches"
        indexes = [
            # The claim and the idle loop's "when is the next one due": a range on due_ms.
            IndexModel([("due_ms", ASCENDING)], name="due"),
            IndexModel([("recipient", ASCENDING)], name="recipient"),
            IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]
