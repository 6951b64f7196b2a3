"""A user's lists: the four built-ins (created on first sight, race-free) and their own."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from beanie import PydanticObjectId
from beanie.odm.utils.dump import get_dict
from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import BulkWriteError, DuplicateKeyError

from models import Task, TaskList, User
from models.task_list import BUILTIN_KEYS, BuiltinKey
from server.services.common.errors import (
    BuiltinList,
    InvalidInput,
    ListNameTaken,
    ListNotFound,
    UserNotFound,
)
from server.services.common.mongo import eq, find_one

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


def display_name(task_list: TaskList, lang: Language) -> str:
    if task_list.key is not None:
        return BUILTIN_NAMES[task_list.key][lang]
    return task_list.name or ""


class Lists:
    """The lists of each user. Built-ins are ensured on first sight of a user in this process
    (the `_ensured` set makes later calls free); the unique index on (user_id, key) decides
    between processes and concurrent requests."""

    def __init__(self, max_ensured: int = 100_000) -> None:
        self._ensured: set[str] = set()
        self._max_ensured = max_ensured

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
        """Built-ins first in their order, then the user's own by name."""
        uid = await self.ensure_builtins(user_id)
        found = await TaskList.find(eq(user_id=uid)).to_list()
        order = {key: i for i, key in enumerate(BUILTIN_KEYS)}
        return sorted(
            found,
            key=lambda doc: (
                (0, order[doc.key], "") if doc.key else (1, 0, doc.name_normalized or "")
            ),
        )

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

    async def overview(self, user_id: UserRef, lang: Language | None = None) -> list[ListView]:
        """Every list with its name in the user's language and its open-task count."""
        found = await self.all(user_id)
        counts = await self.open_counts(user_id)
        lang = lang or await self.language(user_id)
        return [self.view(doc, lang, counts) for doc in found]

    def view(self, task_list: TaskList, lang: Language, counts: dict[str, int]) -> ListView:
        return ListView(
            id=str(task_list.id),
            key=task_list.key,
            name=display_name(task_list, lang),
            open_count=counts.get(str(task_list.id), 0),
        )

    async def builtin(self, user_id: UserRef, key: BuiltinKey) -> TaskList:
        uid = await self.ensure_builtins(user_id)
        found = await find_one(TaskList, eq(user_id=uid, key=key))
        if found is None:  # erased under us; ensure again next time
            self.forget(uid)
            raise ListNotFound()
        return found

    async def resolve(self, user_id: UserRef, ref: str) -> TaskList:
        """A list by id or built-in key; another user's list is not found."""
        if ref in BUILTIN_KEYS:
            return await self.builtin(user_id, ref)
        uid = await self.ensure_builtins(user_id)
        oid = object_id(ref)
        found = await find_one(TaskList, eq(_id=oid, user_id=uid)) if oid else None
        if found is None:
            raise ListNotFound()
        return found

    async def create(self, user_id: UserRef, name: str) -> ListView:
        uid = await self.ensure_builtins(user_id)
        cleaned = clean_list_name(name)
        normalized = normalize_list_name(cleaned)
        if normalized in RESERVED_NAMES:
            raise ListNameTaken()
        task_list = TaskList(user_id=uid, name=cleaned, name_normalized=normalized)
        try:
            await task_list.insert()
        except DuplicateKeyError:
            raise ListNameTaken() from None
        return self.view(task_list, await self.language(uid), {})

    async def rename(self, user_id: UserRef, list_id: str, name: str) -> ListView:
        task_list = await self.resolve(user_id, list_id)
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
        uid = task_list.user_id
        return self.view(task_list, await self.language(uid), await self.open_counts(uid))

    async def delete(self, user_id: UserRef, list_id: str) -> None:
        """Delete a list of the user's own; its tasks go to Inbox. In resumable steps (no
        transaction): move the tasks, delete the list, move again whatever a concurrent
        request added meanwhile. A retry after a failure finishes the job."""
        task_list = await self.resolve(user_id, list_id)
        if task_list.key is not None:
            raise BuiltinList()
        inbox = await self.builtin(user_id, "inbox")
        await self.move_tasks(task_list.user_id, str(task_list.id), str(inbox.id))
        await TaskList.get_pymongo_collection().delete_one(
            eq(_id=task_list.id, user_id=task_list.user_id)
        )
        await self.move_tasks(task_list.user_id, str(task_list.id), str(inbox.id))

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
