"""Shared lists: who may see a list besides its owner, and the invitations to join one.

Times are integer epoch milliseconds and keys strings, so every equality is served by an
index on the embedded server too (docs/embedded-database.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from beanie import Document
from pymongo import ASCENDING, IndexModel

MemberRole = Literal["editor", "viewer"]


class ListMember(Document):
    """One member of one list (the owner is `TaskList.user_id`, never a member row).
    `_id` is "<list_id>:<user_id>", so a user is a member of a list at most once, whatever
    races."""

    id: str  # type: ignore[assignment]
    list_id: str
    user_id: str
    owner_id: str  # the list's owner (kept in step on transfer): "my shared lists" by index
    role: MemberRole
    joined_ms: int  # longest-standing member first (account deletion hands the list over)

    class Settings:
        name = "list_members"
        indexes = [
            IndexModel([("user_id", ASCENDING), ("joined_ms", ASCENDING)], name="user"),
            IndexModel([("list_id", ASCENDING), ("joined_ms", ASCENDING)], name="list"),
            IndexModel([("owner_id", ASCENDING)], name="owner"),
        ]


class ListInvite(Document):
    """An invitation to one list with one role, single-use, until `expires_ms`. `_id` is the
    code itself: the owner lists and revokes open invites by code, so it is kept readable.
    Accepting deletes it (the claim), as revoking does; expired ones are purged by TTL."""

    id: str  # type: ignore[assignment]  # the random code
    list_id: str
    owner_id: str
    role: MemberRole
    created_ms: int
    expires_ms: int  # compared in queries: a number
    expires_at: datetime  # for the TTL purge only (written by insert: stays a date)

    class Settings:
        name = "list_invites"
        indexes = [
            IndexModel([("list_id", ASCENDING), ("created_ms", ASCENDING)], name="list"),
            IndexModel([("owner_id", ASCENDING)], name="owner"),
            IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]


def member_key(list_id: str, user_id: str) -> str:
    return f"{list_id}:{user_id}"
