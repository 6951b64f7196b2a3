"""Group chats (issue 25, part 3): a Telegram group keeps one list, an ordinary list of
its owner's with the group's chat id on it (`TaskList.group_chat_id`), so every rule of
lists, tasks, sharing and reminders applies unchanged.

- Owned by whoever brought it about: the person who added the bot to the group, or, when
  the bot was there before, whoever first used `/list` or `/add` there.
- Everyone else who acts on it in the chat becomes an editor (`Sharing.enlist`): a Telegram
  group's members are known only when they act, and acting in the chat is the proof of
  membership. The list is then theirs to see in `/lists`, the REST API and the Mini App, as
  any shared list.
- The bot removed from the group: the list stays (`group_left`), reminders of its tasks go
  to the people again; added back: the same list. The group becoming a supergroup (a new
  chat id): the list follows (`migrate`, idempotent).
- Reminders of its tasks go to the group while the bot is in it (`chat_for_task`, asked by
  the reminder delivery at send time, so a move or a migration needs no re-planning).

docs/sharing.md, "Group chats", has the decisions."""

from __future__ import annotations

import logging

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from models import ListMember, Task, TaskList
from server.services.common.errors import InvalidInput, QuotaExceeded
from server.services.common.mongo import at_least, eq, find_one, insert
from server.services.sharing.access import Role
from server.services.sharing.service import Sharing
from server.services.tasks.lists import (
    LIST_NAME_MAX_LENGTH,
    RESERVED_NAMES,
    Lists,
    UserRef,
    clean_list_name,
    custom_lists,
    normalize_list_name,
    object_id,
)

log = logging.getLogger(__name__)

NAME_ATTEMPTS = 5  # "Family", "Family (2)" … before the chat id makes the name unique


class Groups:
    def __init__(self, lists: Lists, sharing: Sharing) -> None:
        self.lists = lists
        self.sharing = sharing

    async def find(self, chat_id: int) -> TaskList | None:
        """The group's list, if it has one (whether the bot is in the group or not)."""
        return await find_one(TaskList, eq(group_chat_id=chat_id))

    async def open(
        self, chat_id: int, title: str | None, user_id: UserRef
    ) -> tuple[TaskList, Role]:
        """The group's list for a person acting on it in the chat, and their role: created
        (theirs) when the group has none; else they are enlisted as an editor (Conflict when
        a sharing quota is full). Acting in the chat means the bot is in it."""
        uid = await self.lists.ensure_builtins(user_id)
        found = await self.find(chat_id)
        if found is None:
            found = await self._create(chat_id, title, uid)
        if found.group_left:
            await self.returned(chat_id)
            found.group_left = 0
        role = await self.sharing.enlist(uid, found)
        return found, role

    async def added(
        self, chat_id: int, title: str | None, user_id: UserRef
    ) -> tuple[TaskList, bool]:
        """The bot was added to the group by `user_id`: the group's list, made theirs if the
        group has none (True), or the same list as before (False)."""
        found = await self.find(chat_id)
        if found is not None:
            await self.returned(chat_id)
            found.group_left = 0
            return found, False
        uid = await self.lists.ensure_builtins(user_id)
        return await self._create(chat_id, title, uid), True

    async def left(self, chat_id: int) -> None:
        """The bot is out of the group: the list stays, nothing more is sent there."""
        await TaskList.get_pymongo_collection().update_one(
            eq(group_chat_id=chat_id), {"$set": {"group_left": 1}}
        )

    async def returned(self, chat_id: int) -> None:
        await TaskList.get_pymongo_collection().update_one(
            eq(group_chat_id=chat_id), {"$set": {"group_left": 0}}
        )

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """The group became a supergroup: its list follows the new id. Idempotent (both
        service messages, and several processes, may say so): once moved, nothing matches
        the old id. If a command in the new chat made a list first (a race with this
        message), that list is dropped when it is still empty; otherwise both stay, and the
        old one keeps the old id (logged)."""
        if old_chat_id == new_chat_id:
            return
        lists = TaskList.get_pymongo_collection()
        try:
            await lists.update_one(
                eq(group_chat_id=old_chat_id), {"$set": {"group_chat_id": new_chat_id}}
            )
            return
        except DuplicateKeyError:
            pass
        newer = await self.find(new_chat_id)
        if newer is None:  # gone meanwhile: try once more
            await lists.update_one(
                eq(group_chat_id=old_chat_id), {"$set": {"group_chat_id": new_chat_id}}
            )
            return
        has_tasks = await Task.get_pymongo_collection().find_one(
            eq(user_id=newer.user_id, list_id=str(newer.id)), {"_id": 1}
        )
        if has_tasks is not None:
            log.warning("group %s became %s, which has its own list already: both kept",
                        old_chat_id, new_chat_id)  # fmt: skip
            return
        await lists.delete_one(eq(_id=newer.id, user_id=newer.user_id))
        await ListMember.get_pymongo_collection().delete_many(eq(list_id=str(newer.id)))
        await lists.update_one(
            eq(group_chat_id=old_chat_id), {"$set": {"group_chat_id": new_chat_id}}
        )

    # The reminder delivery's router (server/services/reminders/delivery.py, GroupChats)

    async def chat_for_task(self, task_id: PydanticObjectId) -> int | None:
        """The group chat a task's reminder goes to: its list's group, while the bot is in
        it; None for every other task. Two lookups by `_id`, at send time."""
        task = await Task.get_pymongo_collection().find_one({"_id": task_id}, {"list_id": 1})
        list_oid = object_id(str(task["list_id"])) if task is not None else None
        if list_oid is None:
            return None
        found = await TaskList.get_pymongo_collection().find_one(
            eq(_id=list_oid), {"group_chat_id": 1, "group_left": 1}
        )
        if found is None or not isinstance(found.get("group_chat_id"), int):
            return None
        return None if found.get("group_left") else int(found["group_chat_id"])

    async def chat_moved(self, old_chat_id: int, new_chat_id: int) -> None:
        await self.migrate(old_chat_id, new_chat_id)

    async def chat_gone(self, chat_id: int) -> None:
        """Telegram refused a message to the group (the bot was removed unseen)."""
        await self.left(chat_id)

    # Internals

    async def _create(self, chat_id: int, title: str | None, uid: str) -> TaskList:
        index = [("user_id", 1), ("name_normalized", 1)]
        if await at_least(TaskList, custom_lists(uid), self.lists.max_lists, index):
            raise QuotaExceeded("lists", self.lists.max_lists)
        for name in _names(title, chat_id):
            normalized = normalize_list_name(name)
            if normalized in RESERVED_NAMES:
                continue
            task_list = TaskList(
                user_id=uid, name=name, name_normalized=normalized, group_chat_id=chat_id
            )
            try:
                await insert(task_list)
                return task_list
            except DuplicateKeyError:
                # Another first action in this group made its list: that one is the list.
                # Otherwise the owner has a list of this name already: the next name.
                winner = await self.find(chat_id)
                if winner is not None:
                    return winner
        raise AssertionError("the last name holds the chat id, unique")  # pragma: no cover


def _names(title: str | None, chat_id: int) -> list[str]:
    """The group's title as the list's name, then numbered, then with the chat id (unique)."""
    try:
        base = clean_list_name((title or "").strip())[: LIST_NAME_MAX_LENGTH - 24].strip()
    except InvalidInput:
        base = "Group"
    base = base or "Group"
    numbered = [f"{base} ({n})" for n in range(2, NAME_ATTEMPTS + 1)]
    return [base, *numbered, f"{base} · {chat_id}"]
