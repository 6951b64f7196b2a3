"""The one rule deciding who may read, change or manage a list and its tasks.

Every list and task operation of the lists and tasks services asks here (and nowhere else):
the owner may do everything; an `editor` everything but sharing and deleting the list; a
`viewer` only read. Anyone else gets "not found" (a stranger must not learn that a list
exists), a member short of the role gets Forbidden (403).

Nothing is cached: each check reads the membership by its `_id`, so a removed member loses
access at once in every process (one indexed lookup, ~the cost of loading the list itself).
"""

from __future__ import annotations

import enum
from typing import Literal

from models import ListMember, TaskList
from models.sharing import member_key
from server.services.common.errors import Forbidden, ListNotFound
from server.services.common.mongo import eq, find_one

Role = Literal["owner", "editor", "viewer"]


class Need(enum.IntEnum):
    READ = 0
    WRITE = 1  # tasks of the list, and its name
    MANAGE = 2  # invites, members, ownership, deleting the list


LEVEL: dict[Role, Need] = {"viewer": Need.READ, "editor": Need.WRITE, "owner": Need.MANAGE}


def read_only(need: Need) -> Forbidden:
    # Forbidden itself (the HTTP adapter maps error types exactly, not their subclasses).
    what = "change this list" if need is Need.WRITE else "share or delete this list"
    return Forbidden(f"Your role in this shared list does not allow you to {what}")


async def role_of(user_id: str, task_list: TaskList) -> Role | None:
    """The user's role in the list, or None when they have none."""
    if task_list.user_id == user_id:
        return "owner"
    if task_list.key is not None:
        return None  # built-in lists are never shared
    member = await find_one(ListMember, eq(_id=member_key(str(task_list.id), user_id)))
    return None if member is None else member.role


async def require(user_id: str, task_list: TaskList, need: Need) -> Role:
    """The user's role if it allows `need`; ListNotFound for non-members, ReadOnly for a
    member whose role falls short."""
    role = await role_of(user_id, task_list)
    if role is None:
        raise ListNotFound()
    if LEVEL[role] < need:
        raise read_only(need)
    return role
