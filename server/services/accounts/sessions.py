"""A user's sessions: listing them, ending one, ending all (with every access token issued so
far). The single write that ends everything is the user's `tokens_valid_after` instant: access
tokens issued before it are refused (AccessGate) and so are refreshes of sessions created before
it (AuthService.refresh), so marking each session revoked afterwards is only tidying up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from models import RefreshSession, User
from models.clock import epoch_ms, from_ms, to_ms, utcnow
from server.services.accounts.access_gate import AccessGate
from server.services.accounts.auth import LIVE
from server.services.accounts.users import Users
from server.services.common.errors import NotFound, UserNotFound
from server.services.common.mongo import eq, same_id

MAX_LISTED = 100  # most recently used first; older ones still work, they are just not listed


def live_of(user_id: PydanticObjectId) -> dict[str, Any]:
    """The user's sessions not revoked. `user_id` is an ObjectId, which nx-27017 matches
    outside `_id` only through `$in` (`same_id`), and that scans the sessions collection on
    the embedded server (MongoDB uses the `user` index). A cold path (the sessions screen,
    log out everywhere), registered as such in tests/integration/test_query_plans.py."""
    return {"user_id": same_id(user_id), "revoked": LIVE}


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    current: bool


class Sessions:
    def __init__(self, users: Users, gate: AccessGate) -> None:
        self._users = users
        self._gate = gate

    async def list(self, user_id: PydanticObjectId, current: str | None) -> list[SessionInfo]:
        """The user's live sessions, most recently used first; `current` is the caller's."""
        user = await self._users.get(user_id)
        now = utcnow()
        docs = (
            await RefreshSession.find(live_of(user_id))
            .sort("-last_used_ms")
            .limit(MAX_LISTED)
            .to_list()
        )
        return [
            SessionInfo(
                id=doc.family_id,
                created_at=doc.created_at,
                last_used_at=from_ms(doc.last_used_ms),
                user_agent=doc.user_agent,
                current=doc.family_id == current,
            )
            for doc in docs
            if doc.expires_at > now and to_ms(doc.created_at) >= user.tokens_valid_after
        ]

    async def end(self, user_id: PydanticObjectId, session_id: str) -> None:
        """End one of the user's sessions: its refresh token and its access tokens stop
        working. Another user's session, or one already ended, is not found."""
        result = await RefreshSession.get_pymongo_collection().update_many(
            {**eq(family_id=session_id), "user_id": same_id(user_id), "revoked": LIVE},
            {"$set": {"revoked": True}},
        )
        if result.matched_count == 0:
            raise NotFound("No such session")
        self._gate.note_sessions_ended([session_id])

    async def end_all(self, user_id: PydanticObjectId, **also: Any) -> tuple[User, int]:
        """End every session and every access token issued so far, in one write to the user
        (with `also`: fields to set in that same write, e.g. a new password hash, so the two
        cannot be half done). Return the updated user and the instant (epoch ms)."""
        valid_after = epoch_ms()
        user = await self._users.get(user_id)
        valid_after = max(valid_after, user.tokens_valid_after)  # never moves back
        result = await User.get_pymongo_collection().update_one(
            {"_id": user_id}, {"$set": {"tokens_valid_after": valid_after, **also}}
        )
        if result.matched_count == 0:
            raise UserNotFound()
        user = user.model_copy(update={"tokens_valid_after": valid_after, **also})
        self._gate.note_user(user)
        # Tidying up (the instant above already ended them): a session marked revoked is no
        # longer listed, and a reuse of its tokens is recognised.
        live = await family_ids(RefreshSession.get_pymongo_collection(), live_of(user_id))
        if live:
            await RefreshSession.get_pymongo_collection().update_many(
                {"user_id": same_id(user_id), "family_id": {"$in": live}},
                {"$set": {"revoked": True}},
            )
            self._gate.note_sessions_ended(live)
        return user, valid_after


async def family_ids(sessions: Any, query: dict[str, Any]) -> list[str]:
    """The session ids matching `query` (a find, not `distinct`: the embedded server's
    distinct cannot filter by an ObjectId)."""
    docs = await sessions.find(query, {"family_id": 1, "_id": 0}).to_list()
    return [doc["family_id"] for doc in docs]
