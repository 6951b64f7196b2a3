"""A user's lists: the four built-ins (created on first sight, race-free) and their own."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from beanie import PydanticObjectId
from beanie.odm.utils.dump import get_dict
from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import BulkWriteError, DuplicateKeyError

from models import ListInvite, ListMember, Task, TaskList, User
from models.task_list import BUILTIN_KEYS, BuiltinKey
from server.services.common.errors import (
    BuiltinList,
    InvalidInput,
    ListNameTaken,
    ListNotFound,
    QuotaExceeded,
    UserNotFound,
)
from server.services.common.mongo import at_least, eq, find_one
from server.services.sharing.access import Need, Role, require

Language = Literal["en", "ru"]
UserRef = PydanticObjectId | str

# The built-in lists' names, computed at output from the key and the user's language.
BUILTIN_NAMES: dict[BuiltinKey, dict[Language, str]] = {
    "inbox": {"en": "Inbox", "ru": "Входящие"},
    "today": {"en": "Today", "ru": "Сегодня"},
    "later": {"en": "Later", "ru": "Позже"},
    "someday": {"en": "Someday", "ru": "Когда-нибудь"},
}
LIST_NAME_MAX_LENGTH = 100
DUPLICATE_KEY = 11000  # MongoDB's error code (nx-27017 reports the same)


def preferred_language(stored: str | None, language_code: str | None) -> Language:
    """The user's stored choice first, else Telegram's `language_code`; English by default."""
    for code in (stored, language_code):
        if code:
            return "ru" if code.lower().startswith("ru") else "en"
    return "en"


def user_key(user_id: UserRef) -> str:
    """Users are referred to by their id as a 24-hex string in lists and tasks."""
    return str(user_id)


def object_id(value: str | PydanticObjectId) -> ObjectId | None:
    """A path id as an ObjectId, or None when it cannot be one (so: not found)."""
    if isinstance(value, ObjectId):
        return value
    if not isinstance(value, str) or len(value) != 24:
        return None
    try:
        return ObjectId(value)
    except InvalidId:
        return None


def normalize_list_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# A list of one's own may not be called like a built-in in any language: "Inbox" and
# "Входящие" are the same list to a bilingual user.
RESERVED_NAMES = frozenset(
    normalize_list_name(name)
    for key, names in BUILTIN_NAMES.items()
    for name in (key, *names.values())
)


def clean_list_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput("name", "The name must not be empty")
    if len(cleaned) > LIST_NAME_MAX_LENGTH:
        raise InvalidInput("name", f"The name must be at most {LIST_NAME_MAX_LENGTH} characters")
    if not cleaned.isprintable():
        raise InvalidInput("name", "The name must be printable text")
    return cleaned


@dataclass(frozen=True, slots=True)
class ListView:
    id: str
    key: BuiltinKey | None
    name: str
    open_count: int
    # Shared lists (docs/sharing.md): the owner, the caller's role, and how many people see
    # the list (the owner included: 1 for a list nobody else sees).
    owner_id: str = ""
    role: Role = "owner"
    members_count: int = 1


def display_name(task_list: TaskList, lang: Language) -> str:
    if task_list.key is not None:
        return BUILTIN_NAMES[task_list.key][lang]
    return task_list.name or ""


def custom_lists(uid: str) -> dict[str, Any]:
    """The user's own lists, not the built-ins (which have no name_normalized). `$gt: ""`
    and not `$type: "string"`: nx-27017 cannot translate `$type` to SQL and filters every
    list of every user in Python (measured: a plain SCAN of task_lists); `$gt: ""` is a
    range on the (user_id, name_normalized) index there. On MongoDB `$gt` on a string
    matches strings only (type bracketing), the same lists; the `user` index serves it.
    """
    return {**eq(user_id=uid), "name_normalized": {"$gt": ""}}


class Lists:
    """The lists of each user. Built-ins are ensured on first sight of a user in this process
    (the `_ensured` set makes later calls free); the unique index on (user_id, key) decides
    between processes and concurrent requests."""

    def __init__(self, max_ensured: int = 100_000, max_lists: int = 100) -> None:
        self._ensured: set[str] = set()
        self._max_ensured = max_ensured
        # Today's count is not its members' count: Today fills itself (the tasks service's
        # rule, which sets this when it is built on these lists).
        self.today_count: Callable[[str], Awaitable[int]] | None = None
        self.max_lists = max_lists  # a user's own lists (built-ins not counted): QUOTA_LISTS

    async def ensure_builtins(self, user_id: UserRef, *, just_read: bool = False) -> str:
        """Create whichever built-in lists the user lacks; returns the user key. A user that
        no longer exists gets none (UserNotFound); `just_read`: the caller has just read or
        created the user (/start), so that lookup is not made again."""
        uid = user_key(user_id)
        if uid in self._ensured:
            return uid
        oid = object_id(uid)
        users = User.get_pymongo_collection()
        if oid is None or (
            not just_read and await users.find_one({"_id": oid}, {"_id": 1}) is None
        ):
            raise UserNotFound()
        # One round trip for the four (was a read and four inserts: /start's largest cost):
        # inserted unordered, and those that exist already (made by a concurrent first
        # request, another process, an earlier run) fail alone on the unique index.
        lists = [get_dict(TaskList(user_id=uid, key=key), to_db=True) for key in BUILTIN_KEYS]
        try:
            await TaskList.get_pymongo_collection().insert_many(lists, ordered=False)
        except BulkWriteError as exc:
            details = exc.details
            if details.get("writeConcernErrors") or any(
                error.get("code") != DUPLICATE_KEY for error in details.get("writeErrors", [])
            ):
                raise
        if len(self._ensured) >= self._max_ensured:
            self._ensured.clear()  # a crude bound: refilling costs one query per user
        self._ensured.add(uid)
        return uid

    def forget(self, user_id: UserRef) -> None:
        """The user's lists were erased or merged away: ensure them again if seen again."""
        self._ensured.discard(user_key(user_id))

    async def language(self, user_id: UserRef) -> Language:
        oid = object_id(user_key(user_id))
        user = await User.find_one({"_id": oid}) if oid is not None else None
        if user is None:
            raise UserNotFound()
        return preferred_language(user.language, user.language_code)

    async def all(self, user_id: UserRef) -> list[TaskList]:
        """Built-ins first in their order, then the user's own by name, then the lists shared
        with them by name."""
        uid = await self.ensure_builtins(user_id)
        found = await TaskList.find(eq(user_id=uid)).to_list()
        order = {key: i for i, key in enumerate(BUILTIN_KEYS)}
        own = sorted(
            found,
            key=lambda doc: (
                (0, order[doc.key], "") if doc.key else (1, 0, doc.name_normalized or "")
            ),
        )
        shared = sorted(
            await self.shared_with(uid), key=lambda doc: (doc.name_normalized or "", str(doc.id))
        )
        return own + shared

    async def shared_with(self, uid: str) -> list[TaskList]:
        """The lists the user is a member of (bounded by the shared-lists quota): one indexed
        query for the memberships, one lookup by `_id` per list (`$in` would scan on the
        embedded server). A membership whose list is gone is skipped."""
        members = ListMember.get_pymongo_collection().find(eq(user_id=uid), {"list_id": 1})
        found: list[TaskList] = []
        async for row in members:
            oid = object_id(str(row["list_id"]))
            doc = await find_one(TaskList, {"_id": oid}) if oid is not None else None
            if doc is not None and doc.user_id != uid:
                found.append(doc)
        return found

    async def shared_names(self, user_id: UserRef) -> dict[str, str]:
        """The lists others see too, by id: those shared with the user and their own lists
        with members. For views that mix lists (Today, the digest) to mark where a shared
        task comes from ("👥 Groceries"). Built-ins are never shared, so names are names."""
        uid = user_key(user_id)
        owned = await self.members_counts(uid)
        return {
            str(doc.id): doc.name or ""
            for doc in await self.all(uid)
            if doc.user_id != uid or str(doc.id) in owned
        }

    async def open_counts(self, user_id: UserRef) -> dict[str, int]:
        """Open tasks per list id: the list ids of the user's open tasks, counted here. Not a
        `$group`: the embedded server counts the whole collection before every aggregation
        (`SELECT COUNT(1)`, a scan of everyone's tasks); this find is served by the
        `user_tasks` index and costs what the user's own open tasks cost."""
        cursor = Task.get_pymongo_collection().find(
            eq(user_id=user_key(user_id), done=False), {"list_id": 1, "_id": 0}
        )
        counts = Counter([str(doc.get("list_id")) async for doc in cursor])
        return dict(counts)

    async def open_count(self, owner_id: str, list_id: str) -> int:
        """Open tasks of one list (a shared one: its owner's tasks), on the list's index. Not
        a `$group`: the embedded server counts the whole collection before every aggregation
        (a scan of everyone's tasks, as in `open_counts`); this find of `_id`s is served by
        the `list_tasks` index and costs what the list's open tasks cost."""
        cursor = Task.get_pymongo_collection().find(
            eq(user_id=owner_id, list_id=list_id, done=False), {"_id": 1}
        )
        return len(await cursor.to_list())

    async def overview(self, user_id: UserRef, lang: Language | None = None) -> list[ListView]:
        """Every list (shared ones too) with its name in the user's language, its open-task
        count and its members."""
        uid = user_key(user_id)
        found = await self.all(uid)
        counts = await self.open_counts(uid)
        roles: dict[str, Role] = {}
        people = await self.members_counts(uid)
        for doc in found:
            if doc.user_id != uid:  # shared with the user: the owner's counts, their role
                counts[str(doc.id)] = await self.open_count(doc.user_id, str(doc.id))
                people.update(await self.members_counts(doc.user_id))
                roles[str(doc.id)] = await require(uid, doc, Need.READ)
            elif doc.key == "today" and self.today_count is not None:
                counts[str(doc.id)] = await self.today_count(uid)  # Today fills itself
        lang = lang or await self.language(uid)
        return [
            self.view(doc, lang, counts, role=roles.get(str(doc.id), "owner"), people=people)
            for doc in found
        ]

    async def members_counts(self, owner_id: str) -> dict[str, int]:
        """How many people see each of the owner's lists (the owner included), for lists
        with members. One indexed query (bounded: members per list times shared lists)."""
        rows = ListMember.get_pymongo_collection().find(eq(owner_id=owner_id), {"list_id": 1})
        counts: dict[str, int] = {}
        async for row in rows:
            counts[row["list_id"]] = counts.get(row["list_id"], 1) + 1
        return counts

    def view(
        self,
        task_list: TaskList,
        lang: Language,
        counts: dict[str, int],
        *,
        role: Role = "owner",
        people: dict[str, int] | None = None,
    ) -> ListView:
        return ListView(
            id=str(task_list.id),
            key=task_list.key,
            name=display_name(task_list, lang),
            open_count=counts.get(str(task_list.id), 0),
            owner_id=task_list.user_id,
            role=role,
            members_count=(people or {}).get(str(task_list.id), 1),
        )

    async def builtin(self, user_id: UserRef, key: BuiltinKey) -> TaskList:
        uid = await self.ensure_builtins(user_id)
        found = await find_one(TaskList, eq(user_id=uid, key=key))
        if found is None:  # erased under us; ensure again next time
            self.forget(uid)
            raise ListNotFound()
        return found

    async def resolve(self, user_id: UserRef, ref: str, need: Need = Need.READ) -> TaskList:
        """A list by id or built-in key, if the user may do `need` with it (the access rule,
        server/services/sharing/access.py): a list that is neither theirs nor shared with
        them is not found; a role short of `need` is Forbidden."""
        return (await self.access(user_id, ref, need))[0]

    async def access(self, user_id: UserRef, ref: str, need: Need) -> tuple[TaskList, Role]:
        """`resolve`, with the user's role."""
        if ref in BUILTIN_KEYS:
            return await self.builtin(user_id, ref), "owner"
        uid = await self.ensure_builtins(user_id)
        oid = object_id(ref)
        found = await find_one(TaskList, eq(_id=oid)) if oid else None
        if found is None:
            raise ListNotFound()
        return found, await require(uid, found, need)

    async def create(self, user_id: UserRef, name: str) -> ListView:
        uid = await self.ensure_builtins(user_id)
        cleaned = clean_list_name(name)
        normalized = normalize_list_name(cleaned)
        if normalized in RESERVED_NAMES:
            raise ListNameTaken()
        index = [("user_id", 1), ("name_normalized", 1)]
        if await at_least(TaskList, custom_lists(uid), self.max_lists, index):
            raise QuotaExceeded("lists", self.max_lists)
        task_list = TaskList(user_id=uid, name=cleaned, name_normalized=normalized)
        try:
            await task_list.insert()
        except DuplicateKeyError:
            raise ListNameTaken() from None
        return self.view(task_list, await self.language(uid), {})

    async def rename(self, user_id: UserRef, list_id: str, name: str) -> ListView:
        task_list, role = await self.access(user_id, list_id, Need.WRITE)
        if task_list.key is not None:
            raise BuiltinList()
        cleaned = clean_list_name(name)
        normalized = normalize_list_name(cleaned)
        if normalized in RESERVED_NAMES:
            raise ListNameTaken()
        try:
            # Strings only: safe as a $set on the embedded server too.
            await TaskList.get_pymongo_collection().update_one(
                eq(_id=task_list.id, user_id=task_list.user_id),
                {"$set": {"name": cleaned, "name_normalized": normalized}},
            )
        except DuplicateKeyError:
            raise ListNameTaken() from None
        task_list.name, task_list.name_normalized = cleaned, normalized
        owner = task_list.user_id
        return self.view(
            task_list,
            await self.language(user_id),
            await self.open_counts(owner),
            role=role,
            people=await self.members_counts(owner),
        )

    async def delete(self, user_id: UserRef, list_id: str) -> None:
        """Delete a list of the user's own; its tasks go to Inbox. In resumable steps (no
        transaction): move the tasks, delete the list, move again whatever a concurrent
        request added meanwhile. A retry after a failure finishes the job."""
        task_list = await self.resolve(user_id, list_id, Need.MANAGE)
        if task_list.key is not None:
            raise BuiltinList()
        inbox = await self.builtin(user_id, "inbox")
        await self.move_tasks(task_list.user_id, str(task_list.id), str(inbox.id))
        await TaskList.get_pymongo_collection().delete_one(
            eq(_id=task_list.id, user_id=task_list.user_id)
        )
        await self.move_tasks(task_list.user_id, str(task_list.id), str(inbox.id))
        # A shared list's members and open invites go with it (after the list: a retry
        # finds them by the list id still).
        await ListMember.get_pymongo_collection().delete_many(eq(list_id=str(task_list.id)))
        await ListInvite.get_pymongo_collection().delete_many(eq(list_id=str(task_list.id)))

    async def move_tasks(
        self, uid: str, from_list: str, to_list: str, to_user: str | None = None
    ) -> int:
        """Move every task of a list (strings and an `$inc`: safe as updates everywhere)."""
        changes: dict[str, Any] = {"list_id": to_list}
        if to_user is not None:
            changes["user_id"] = to_user
        result = await Task.get_pymongo_collection().update_many(
            eq(user_id=uid, list_id=from_list),
            {"$set": changes, "$inc": {"version": 1}},
        )
        return int(result.modified_count)
