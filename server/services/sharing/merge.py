"""A shared list merged into another (an account merge folds a list into the surviving
account's list of the same name, `Tasks.move_all`): its members and open invites follow it
into the surviving list, so nobody who could see the merged list loses it.

Here, not in the sharing service, because the tasks service calls it at the moment it merges
two lists (the sharing service is built on the tasks service, not the other way round). Only
the sharing collections are touched; who may do what stays the access rule's."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from models import ListInvite, ListMember, TaskList
from models.sharing import member_key
from server.services.common.mongo import eq, insert

# When a member is in both lists, the stronger role stays: neither list's owner had taken
# anything from them, so the merge must not either.
_STRENGTH = {"viewer": 0, "editor": 1}


async def follow_merged_list(from_list: str, into: TaskList) -> None:
    """Re-key the members and invites of `from_list` to `into` (owned by `into.user_id`).
    Idempotent, each row moved before the old one goes, so a retry after a crash finishes
    the job: the owner is never made a member of their own list, and a person in both lists
    stays one member (with the stronger role)."""
    target, owner = str(into.id), into.user_id
    members = ListMember.get_pymongo_collection()
    rows = members.find(eq(list_id=from_list))
    async for row in rows:
        member = ListMember.model_validate(row)
        if member.user_id != owner:
            key = member_key(target, member.user_id)
            moved = member.model_copy(update={"id": key, "list_id": target, "owner_id": owner})
            try:
                await insert(moved)
            except DuplicateKeyError:  # already a member of the surviving list (or a retry)
                if _STRENGTH[member.role] > _STRENGTH[await _role(target, member.user_id)]:
                    await members.update_one(eq(_id=key), {"$set": {"role": member.role}})
        await members.delete_one(eq(_id=member.id))
    await ListInvite.get_pymongo_collection().update_many(
        eq(list_id=from_list), {"$set": {"list_id": target, "owner_id": owner}}
    )


async def _role(list_id: str, user_id: str) -> str:
    doc = await ListMember.get_pymongo_collection().find_one(
        eq(_id=member_key(list_id, user_id)), {"role": 1}
    )
    return str(doc["role"]) if doc is not None else "editor"  # gone meanwhile: no raise
