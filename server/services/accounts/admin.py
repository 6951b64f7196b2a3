"""What admins may do: list and search users, deactivate and reactivate them (but not another
admin); and what the CLI does (`python -m server promote|demote|deactivate <username>`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from beanie import PydanticObjectId
from bson import ObjectId
from bson.errors import InvalidId

from models import User
from server.services.accounts.access_gate import AccessGate
from server.services.accounts.sessions import Sessions
from server.services.accounts.users import Users, is_telegram_id, normalize_username
from server.services.common.errors import Conflict, Forbidden, InvalidInput, NotFound, UserNotFound

Role = Literal["user", "admin"]
MAX_QUERY_LENGTH = 64


@dataclass(frozen=True, slots=True)
class UserPage:
    items: list[User]
    next_cursor: str | None


class Admin:
    def __init__(self, users: Users, sessions: Sessions, gate: AccessGate) -> None:
        self._users = users
        self._sessions = sessions
        self._gate = gate

    async def require_admin(self, actor_id: PydanticObjectId) -> User:
        # Read on every admin request, not cached: a demotion takes effect at once.
        actor = await self._users.get(actor_id)
        if actor.role != "admin":
            raise Forbidden("Only admins may do this")
        return actor

    async def list_users(
        self, actor_id: PydanticObjectId, q: str | None, cursor: str | None, limit: int
    ) -> UserPage:
        """Users in creation order (by id), `limit` per page. `q` matches the start of the
        username (case-insensitively), of the Telegram username or first name, or a Telegram
        id or user id exactly. `cursor` is the last id of the previous page."""
        await self.require_admin(actor_id)
        clauses: list[dict[str, Any]] = []
        if cursor is not None:
            try:
                clauses.append({"_id": {"$gt": ObjectId(cursor)}})
            except (InvalidId, TypeError):
                raise InvalidInput("cursor", "Not a cursor this API returned") from None
        if q := (q or "").strip()[:MAX_QUERY_LENGTH]:
            prefix = "^" + re.escape(q)
            matches: list[dict[str, Any]] = [
                {"username_normalized": {"$regex": "^" + re.escape(normalize_username(q))}},
                {"telegram_username": {"$regex": prefix, "$options": "i"}},
                {"first_name": {"$regex": prefix, "$options": "i"}},
            ]
            if q.isdigit() and len(q) <= 16 and is_telegram_id(int(q)):
                matches.append({"telegram_id": int(q)})
            if ObjectId.is_valid(q):
                matches.append({"_id": ObjectId(q)})
            clauses.append({"$or": matches})
        query = {"$and": clauses} if clauses else {}
        users = await User.find(query).sort("+_id").limit(limit + 1).to_list()
        more = len(users) > limit
        users = users[:limit]
        return UserPage(users, str(users[-1].id) if more else None)

    async def set_active(self, actor_id: PydanticObjectId, user_id: str, active: bool) -> User:
        """Deactivate (signs in by no scheme; every session and token ends) or reactivate
        (may sign in again; old tokens stay dead)."""
        await self.require_admin(actor_id)
        try:
            user = await self._users.get(user_id)
        except UserNotFound:
            raise NotFound("No such user") from None
        assert user.id is not None
        if user.id == actor_id and not active:
            raise Conflict("Admins cannot deactivate themselves")
        if user.role == "admin" and not active:
            # One stolen admin session must not lock every other admin out: an admin is
            # deactivated by an operator (`python -m server deactivate`, or demote first).
            raise Forbidden("Admins cannot deactivate another admin; an operator can (the CLI)")
        if not active:
            return await self.deactivate(user)
        await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": {"active": True}})
        reactivated: User = user.model_copy(update={"active": True})
        self._gate.note_user(reactivated)
        return reactivated

    async def deactivate(self, user: User) -> User:
        """Deactivate: every session and token ends. No role check (the CLI's way in)."""
        assert user.id is not None
        deactivated, _ = await self._sessions.end_all(user.id, active=False)
        return deactivated

    async def deactivate_by_name(self, username: str) -> User:
        """The operator's deactivation (`python -m server deactivate <username>`), admins
        included."""
        user = await self._users.find_by_username(username)
        if user is None:
            raise NotFound(f"No user named {username!r}")
        return await self.deactivate(user)

    async def set_role(self, username: str, role: Role) -> User:
        user = await self._users.find_by_username(username)
        if user is None:
            raise NotFound(f"No user named {username!r}")
        await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": {"role": role}})
        changed: User = user.model_copy(update={"role": role})
        return changed
