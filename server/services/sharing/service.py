"""Sharing a list: invitations, members and their roles, ownership; and what happens to
shared lists when an account is deleted or merged (an `AccountDataOwner`).

Who may do what is decided by the access rule (server/services/sharing/access.py); this
service only changes memberships. Multi-document changes (transfer, account deletion) are
idempotent steps in an order where a crash half-way leaves every person with at most the
access they had before or after, and a retry finishes the job (no transactions on the
embedded server: docs/embedded-database.md)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import ListInvite, ListMember, TaskList, User
from models.clock import from_ms, to_ms, utcnow
from models.sharing import MemberRole, member_key
from server.services.accounts.account_data import Holdings
from server.services.accounts.telegram_channel import TelegramChannel
from server.services.common.errors import (
    Conflict,
    InvalidInput,
    ListNameTaken,
    ListNotFound,
    NotFound,
)
from server.services.common.mongo import eq, find_one, insert
from server.services.sharing.access import Need, Role, role_of
from server.services.tasks.lists import Lists, ListView, UserRef, object_id, user_key
from server.services.tasks.service import Tasks

ROLES: tuple[str, ...] = get_args(MemberRole)
CODE_BYTES = 12  # 16 URL-safe characters, 96 random bits
CODE_MAX_LENGTH = 64  # Telegram's /start payload limit; longer is no code of ours
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class SharingLimits:
    members_per_list: int = 20  # besides the owner
    shared_lists_per_user: int = 20  # lists one shares (owns, with members) or joined
    open_invites_per_list: int = 20
    invite_ttl_default: int = 7 * 24 * 3600  # seconds
    invite_ttl_max: int = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class InviteView:
    code: str
    list_id: str
    role: MemberRole
    expires_at: datetime
    telegram_url: str | None  # None until the bot's username is known
    web_url: str | None  # None without PUBLIC_URL


@dataclass(frozen=True, slots=True)
class InvitePreview:
    list_id: str
    list_name: str
    owner_name: str
    role: MemberRole
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class MemberView:
    user_id: str
    name: str
    role: Role
    joined_at: datetime
    owner: bool


@dataclass(frozen=True, slots=True)
class Membership:
    """One person in one shared list, for the export: a member of a list the user owns, or
    the user themself in a list someone else owns (then `name` is the list's)."""

    list_id: str
    user_id: str
    name: str
    role: MemberRole
    joined_at: datetime


def display_name(user: User | None) -> str:
    if user is None:
        return "?"
    full = " ".join(part for part in (user.first_name, user.last_name) if part)
    return (
        full or user.username or (f"@{user.telegram_username}" if user.telegram_username else "?")
    )


async def _user(user_id: str) -> User | None:
    oid = object_id(user_id)
    return await find_one(User, {"_id": oid}) if oid is not None else None


class Sharing:
    def __init__(
        self,
        lists: Lists,
        tasks: Tasks,
        channel: TelegramChannel,
        public_url: str | None,
        limits: SharingLimits | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.lists = lists
        self.tasks = tasks
        self.channel = channel
        self.public_url = public_url.rstrip("/") if public_url else None
        self.limits = limits or SharingLimits()
        self.clock = clock

    # Invitations

    async def create_invite(
        self, user_id: UserRef, list_id: str, role: str, expires_in: int | None = None
    ) -> InviteView:
        uid = user_key(user_id)
        if role not in ROLES:
            raise InvalidInput("role", "The role must be editor or viewer")
        ttl = self.limits.invite_ttl_default if expires_in is None else expires_in
        if not 60 <= ttl <= self.limits.invite_ttl_max:
            raise InvalidInput(
                "expires_in", f"expires_in must be 60..{self.limits.invite_ttl_max} seconds"
            )
        task_list = await self.lists.resolve(uid, list_id, Need.MANAGE)
        if task_list.key is not None:
            raise Conflict("Built-in lists cannot be shared")
        lid = str(task_list.id)
        if await self._count(ListMember, eq(list_id=lid)) >= (self.limits.members_per_list):
            raise Conflict(f"A list can have at most {self.limits.members_per_list} members")
        open_invites = await self._open_invites(lid)
        if len(open_invites) >= self.limits.open_invites_per_list:
            raise Conflict("Too many open invites for this list; revoke some first")
        await self._check_lists_quota(uid, lid)
        now = to_ms(self.clock())
        invite = ListInvite(
            id=secrets.token_urlsafe(CODE_BYTES),
            list_id=lid,
            owner_id=uid,
            role=role,  # checked above
            created_ms=now,
            expires_ms=now + ttl * 1000,
            expires_at=from_ms(now + ttl * 1000),
        )
        await insert(invite)
        return self._invite_view(invite)

    async def invites(self, user_id: UserRef, list_id: str) -> list[InviteView]:
        task_list = await self.lists.resolve(user_id, list_id, Need.MANAGE)
        return [self._invite_view(i) for i in await self._open_invites(str(task_list.id))]

    async def revoke(self, user_id: UserRef, list_id: str, code: str) -> None:
        task_list = await self.lists.resolve(user_id, list_id, Need.MANAGE)
        result = await ListInvite.get_pymongo_collection().delete_one(
            eq(_id=code, list_id=str(task_list.id))
        )
        if result.deleted_count != 1:
            raise NotFound("No such invite")

    async def preview(self, code: str) -> InvitePreview:
        """What the joiner confirms: the list, its owner, the role. NotFound for a code that
        is unknown, used, revoked or expired (one answer for all: never tell which)."""
        invite, task_list = await self._open(code)
        return InvitePreview(
            list_id=str(task_list.id),
            list_name=task_list.name or "",
            owner_name=display_name(await _user(task_list.user_id)),
            role=invite.role,
            expires_at=from_ms(invite.expires_ms),
        )

    async def accept(self, user_id: UserRef, code: str) -> ListView:
        uid = await self.lists.ensure_builtins(user_id)
        invite, task_list = await self._open(code)
        lid = str(task_list.id)
        if await role_of(uid, task_list) is None:
            if await self._count(ListMember, eq(list_id=lid)) >= (self.limits.members_per_list):
                raise Conflict(f"This list already has {self.limits.members_per_list} members")
            joined = await self._count(ListMember, eq(user_id=uid))
            if joined >= self.limits.shared_lists_per_user:
                raise Conflict(
                    f"You are already in {self.limits.shared_lists_per_user} shared lists"
                )
            now = to_ms(self.clock())
            # The claim: deleting it. One joiner per code, only while it is open.
            claimed = await ListInvite.get_pymongo_collection().find_one_and_delete(
                {**eq(_id=code), "expires_ms": {"$gt": now}}
            )
            if claimed is None:
                raise NotFound("No such invite (it may have expired, been used or revoked)")
            member = ListMember(
                id=member_key(lid, uid),
                list_id=lid,
                user_id=uid,
                owner_id=task_list.user_id,
                role=invite.role,
                joined_ms=now,
            )
            with contextlib.suppress(DuplicateKeyError):  # joined twice at once: one row
                await insert(member)
        # else: the owner or a member already; the invite stays open for someone else.
        return await self._list_view(uid, lid)

    async def enlist(self, user_id: UserRef, task_list: TaskList) -> Role:
        """A person acting on a group's list in its chat (docs/sharing.md, "Group chats"):
        being in the chat is their invitation, so they become an editor at once, within the
        same quotas as a joiner. A role they already have is kept (an owner who made them a
        viewer keeps them one). Conflict when a quota is full."""
        uid = user_key(user_id)
        role = await role_of(uid, task_list)
        if role is not None:
            return role
        lid = str(task_list.id)
        if await self._count(ListMember, eq(list_id=lid)) >= self.limits.members_per_list:
            raise Conflict(f"This list already has {self.limits.members_per_list} members")
        if await self._count(ListMember, eq(user_id=uid)) >= self.limits.shared_lists_per_user:
            raise Conflict(f"You are already in {self.limits.shared_lists_per_user} shared lists")
        member = ListMember(
            id=member_key(lid, uid),
            list_id=lid,
            user_id=uid,
            owner_id=task_list.user_id,
            role="editor",
            joined_ms=to_ms(self.clock()),
        )
        with contextlib.suppress(DuplicateKeyError):  # two first actions at once: one row
            await insert(member)
        return "editor"

    # Members

    async def members(self, user_id: UserRef, list_id: str) -> list[MemberView]:
        """The owner first, then the members, longest-standing first."""
        task_list = await self.lists.resolve(user_id, list_id, Need.READ)
        owner = await _user(task_list.user_id)
        found = [
            MemberView(
                user_id=task_list.user_id,
                name=display_name(owner),
                role="owner",
                joined_at=task_list.created_at,
                owner=True,
            )
        ]
        rows = (
            ListMember.get_pymongo_collection()
            .find(eq(list_id=str(task_list.id)))
            .sort("joined_ms", 1)
            .limit(self.limits.members_per_list)
        )
        async for row in rows:
            member = ListMember.model_validate(row)
            found.append(
                MemberView(
                    user_id=member.user_id,
                    name=display_name(await _user(member.user_id)),
                    role=member.role,
                    joined_at=from_ms(member.joined_ms),
                    owner=False,
                )
            )
        return found

    async def set_role(
        self, user_id: UserRef, list_id: str, member_id: str, role: str
    ) -> MemberView:
        if role not in ROLES:
            raise InvalidInput("role", "The role must be editor or viewer")
        task_list = await self.lists.resolve(user_id, list_id, Need.MANAGE)
        updated = await ListMember.get_pymongo_collection().find_one_and_update(
            eq(_id=member_key(str(task_list.id), member_id)),
            {"$set": {"role": role}},
            return_document=ReturnDocument.AFTER,
        )
        if updated is None:
            raise NotFound("No such member")
        member = ListMember.model_validate(updated)
        return MemberView(
            user_id=member.user_id,
            name=display_name(await _user(member.user_id)),
            role=member.role,
            joined_at=from_ms(member.joined_ms),
            owner=False,
        )

    async def remove(self, user_id: UserRef, list_id: str, member_id: str) -> None:
        """The owner removes a member; a member removes themself (leaves). Access ends at
        once: the access rule reads the membership on every request."""
        uid = user_key(user_id)
        need = Need.READ if member_id == uid else Need.MANAGE
        task_list, role = await self.lists.access(uid, list_id, need)
        if role == "owner" and member_id == uid:
            raise Conflict("The owner cannot leave the list; transfer it to a member first")
        result = await ListMember.get_pymongo_collection().delete_one(
            eq(_id=member_key(str(task_list.id), member_id))
        )
        if result.deleted_count != 1:
            raise NotFound("No such member")
        # Their assignments and reminders in the list go back to the owner.
        await self.tasks.release_member(task_list.user_id, str(task_list.id), member_id)

    async def transfer(self, user_id: UserRef, list_id: str, new_owner: str) -> ListView:
        """The owner hands the list to a member; the former owner stays, as an editor."""
        uid = user_key(user_id)
        task_list = await self.lists.resolve(uid, list_id, Need.MANAGE)
        if new_owner == uid:
            return await self._list_view(uid, str(task_list.id))
        if await role_of(new_owner, task_list) is None:
            raise InvalidInput("user_id", "The new owner must be a member of the list")
        await self._transfer(task_list, new_owner, keep_old=True)
        return await self._list_view(uid, str(task_list.id))

    # Export (server/services/portability/export.py)

    async def owned_members(self, user_id: UserRef) -> list[Membership]:
        """The members of the lists the user owns (not the owner), by list, longest-standing
        first. Bounded: members per list times shared lists per user (quotas)."""
        rows = ListMember.get_pymongo_collection().find(eq(owner_id=user_key(user_id)))
        members = sorted(
            [ListMember.model_validate(row) async for row in rows],
            key=lambda m: (m.list_id, m.joined_ms, m.user_id),
        )
        return [
            Membership(
                list_id=m.list_id,
                user_id=m.user_id,
                name=display_name(await _user(m.user_id)),
                role=m.role,
                joined_at=from_ms(m.joined_ms),
            )
            for m in members
        ]

    async def joined(self, user_id: UserRef) -> list[Membership]:
        """The user's own memberships of lists others own (the list's name, the role, since
        when); a membership whose list is gone is left out. Bounded by the quota."""
        uid = user_key(user_id)
        rows = ListMember.get_pymongo_collection().find(eq(user_id=uid))
        found = []
        async for row in rows:
            member = ListMember.model_validate(row)
            oid = object_id(member.list_id)
            task_list = await find_one(TaskList, {"_id": oid}) if oid is not None else None
            if task_list is not None and task_list.user_id != uid:
                found.append(
                    Membership(
                        list_id=member.list_id,
                        user_id=uid,
                        name=task_list.name or "",
                        role=member.role,
                        joined_at=from_ms(member.joined_ms),
                    )
                )
        return sorted(found, key=lambda m: (m.joined_at, m.list_id))

    # Accounts (an AccountDataOwner: server/services/accounts/account_data.py)

    async def holdings(self, user_id: PydanticObjectId) -> Holdings:
        """Nothing more to count: the lists a user owns are counted with their tasks (the
        tasks service); memberships follow the user through a merge."""
        return Holdings()

    async def erase_user(self, user_id: PydanticObjectId) -> None:
        """Before the user's lists are erased: each list they own with members goes to its
        longest-standing member; then their memberships and invites go."""
        uid = user_key(user_id)
        owned = ListMember.get_pymongo_collection().find(eq(owner_id=uid), {"list_id": 1})
        for lid in {row["list_id"] async for row in owned}:
            oid = object_id(lid)
            task_list = await find_one(TaskList, {"_id": oid}) if oid is not None else None
            heir = (
                await ListMember.get_pymongo_collection()
                .find(eq(list_id=lid))
                .sort("joined_ms", 1)
                .limit(1)
                .to_list()
            )
            if task_list is None or not heir:
                continue
            await self._transfer(task_list, str(heir[0]["user_id"]), keep_old=False)
            await self.tasks.release_member(task_list.user_id, lid, uid)
        # In the lists they were a member of: their assignments and reminders go to the owner.
        joined = ListMember.get_pymongo_collection().find(eq(user_id=uid))
        async for row in joined:
            await self.tasks.release_member(str(row["owner_id"]), str(row["list_id"]), uid)
        await ListMember.get_pymongo_collection().delete_many(eq(user_id=uid))
        await ListInvite.get_pymongo_collection().delete_many(eq(owner_id=uid))

    async def move_all(self, from_user_id: PydanticObjectId, to_user_id: PydanticObjectId) -> None:
        """An account merge: the memberships of one become the other's (runs before the
        tasks service moves the lists themselves)."""
        src, dst = user_key(from_user_id), user_key(to_user_id)
        if src == dst:
            return
        members = ListMember.get_pymongo_collection()
        # dst in a list src owns: dst becomes its owner, so no longer a member.
        async for row in members.find(eq(user_id=dst)):
            if row["owner_id"] == src:
                await members.delete_one(eq(_id=row["_id"]))
        async for row in members.find(eq(user_id=src)):
            member = ListMember.model_validate(row)
            oid = object_id(member.list_id)
            task_list = await find_one(TaskList, {"_id": oid}) if oid is not None else None
            heir = dst  # dst has access after this step either way
            if task_list is not None and await role_of(dst, task_list) is None:
                moved = member.model_copy(
                    update={"id": member_key(member.list_id, dst), "user_id": dst}
                )
                with contextlib.suppress(DuplicateKeyError):  # a retry
                    await insert(moved)
            if task_list is not None:  # src's assignments and reminders there: dst's now
                await self.tasks.release_member(task_list.user_id, member.list_id, src, to=heir)
            await members.delete_one(eq(_id=member.id))
        await members.update_many(eq(owner_id=src), {"$set": {"owner_id": dst}})
        await ListInvite.get_pymongo_collection().update_many(
            eq(owner_id=src), {"$set": {"owner_id": dst}}
        )

    # Internals

    async def _transfer(self, task_list: TaskList, new_owner: str, *, keep_old: bool) -> None:
        old, lid = task_list.user_id, str(task_list.id)
        members = ListMember.get_pymongo_collection()
        if keep_old:
            with contextlib.suppress(DuplicateKeyError):
                await insert(
                    ListMember(
                        id=member_key(lid, old),
                        list_id=lid,
                        user_id=old,
                        owner_id=old,
                        role="editor",
                        joined_ms=to_ms(self.clock()),
                    )
                )
        try:
            await TaskList.get_pymongo_collection().update_one(
                eq(_id=task_list.id, user_id=old), {"$set": {"user_id": new_owner}}
            )
        except DuplicateKeyError:
            # The new owner has a list of that name: nothing changed, undo the first step.
            if keep_old:
                await members.delete_one(eq(_id=member_key(lid, old)))
            raise ListNameTaken() from None
        await members.delete_one(eq(_id=member_key(lid, new_owner)))
        await members.update_many(eq(list_id=lid), {"$set": {"owner_id": new_owner}})
        await ListInvite.get_pymongo_collection().update_many(
            eq(list_id=lid), {"$set": {"owner_id": new_owner}}
        )
        await self.tasks.change_owner(lid, old, new_owner)
        task_list.user_id = new_owner

    async def _open(self, code: str) -> tuple[ListInvite, TaskList]:
        gone = NotFound("No such invite (it may have expired, been used or revoked)")
        if not code or len(code) > CODE_MAX_LENGTH:
            raise gone
        invite = await find_one(ListInvite, eq(_id=code))
        if invite is None or invite.expires_ms <= to_ms(self.clock()):
            raise gone
        oid = object_id(invite.list_id)
        task_list = await find_one(TaskList, {"_id": oid}) if oid is not None else None
        if task_list is None:
            raise gone
        return invite, task_list

    async def _open_invites(self, lid: str) -> list[ListInvite]:
        now = to_ms(self.clock())
        # Used and revoked ones are deleted; expired ones linger until the TTL purge, so
        # the scan is bounded by the invites made within the longest expiry.
        rows = ListInvite.get_pymongo_collection().find(eq(list_id=lid)).sort("created_ms", 1)
        found = [ListInvite.model_validate(row) async for row in rows]
        return [i for i in found if i.expires_ms > now]

    async def _check_lists_quota(self, uid: str, lid: str) -> None:
        """Sharing one more list: what the user shares (owned lists with members) and the
        lists they joined count together."""
        owned = ListMember.get_pymongo_collection().find(eq(owner_id=uid), {"list_id": 1})
        shared = {row["list_id"] async for row in owned} | {lid}
        joined = await self._count(ListMember, eq(user_id=uid))
        if len(shared) + joined > self.limits.shared_lists_per_user:
            raise Conflict(f"You can share at most {self.limits.shared_lists_per_user} lists")

    @staticmethod
    async def _count(model: type[ListMember | ListInvite], query: dict[str, Any]) -> int:
        # Counted with `find` on the index (count_documents is unreliable on the embedded
        # server: server/services/common/mongo.py).
        rows = model.get_pymongo_collection().find(query, {"_id": 1})
        return len(await rows.to_list())

    async def _list_view(self, uid: str, lid: str) -> ListView:
        for view in await self.lists.overview(uid):
            if view.id == lid:
                return view
        raise ListNotFound()

    def _invite_view(self, invite: ListInvite) -> InviteView:
        username = self.channel.username
        return InviteView(
            code=invite.id,
            list_id=invite.list_id,
            role=invite.role,
            expires_at=from_ms(invite.expires_ms),
            telegram_url=f"https://t.me/{username}?start=join_{invite.id}" if username else None,
            web_url=f"{self.public_url}/app/#join={invite.id}" if self.public_url else None,
        )
