"""Tasks: one service for the bot, the REST API and the Mini App. Every rule about a task
(what a title may be, what completing means, how pages and search work, what a reminder
planner is told) is here once."""

from __future__ import annotations

import base64
import binascii
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId
from beanie.odm.utils.dump import get_dict
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from models import Task, TaskList, User
from models.clock import utcnow
from server.services.common.errors import ConcurrentChange, InvalidInput, ListNotFound, TaskNotFound
from server.services.common.mongo import insert
from server.services.dates.rrule import normalize_rrule
from server.services.reminders.port import ReminderPlan, ReminderPlanner
from server.services.tasks.lists import Lists, UserRef, object_id, user_key
from server.services.tasks.repeating import after_done
from server.services.tasks.search_backend import NO_TERMS, SearchBackend
from server.services.tasks.views import VIEW_FIELDS, TaskView

log = logging.getLogger(__name__)

TITLE_MAX_LENGTH = 500
NOTES_MAX_LENGTH = 10_000
PAGE_MAX = 100
PAGE_DEFAULT = 50
CURSOR_MAX_LENGTH = 64
SEARCH_MAX_LENGTH = 200
EARLIEST_YEAR, LATEST_YEAR = 1900, 9998  # times beyond these are mistakes, not plans
WRITE_ATTEMPTS = 5
# Today is read from three indexed queries, each bounded: a Today longer than this is not
# read by anyone, and the bound keeps the request's work (and its event-loop time) small.
TODAY_MAX = 200

Status = Literal["open", "done", "all"]
Clock = Callable[[], datetime]


class Unset(enum.Enum):
    """A field a change leaves alone (None is a value: it clears)."""

    UNSET = enum.auto()


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class TaskDraft:
    title: str
    notes: str | None = None
    list_ref: str | None = None  # a list id or a built-in key; Inbox when None
    due: datetime | None = None
    remind_at: datetime | None = None
    repeat: str | None = None


@dataclass(frozen=True, slots=True)
class TaskChanges:
    title: str | Unset = UNSET
    notes: str | Unset | None = UNSET
    list_ref: str | Unset = UNSET
    done: bool | Unset = UNSET
    due: datetime | Unset | None = UNSET
    remind_at: datetime | Unset | None = UNSET
    repeat: str | Unset | None = UNSET


@dataclass(frozen=True, slots=True)
class TaskQuery:
    list_ref: str | None = None
    status: Status = "open"
    text: str | None = None  # search; best match first, one page
    limit: int = PAGE_DEFAULT
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class TaskPage:
    items: list[TaskView]
    next_cursor: str | None


# --- Rules for values (the HTTP schemas repeat the limits for OpenAPI; these decide) -------


def _is_text(text: str, allowed: str = "") -> bool:
    # No control characters (a title is one line; notes may have line breaks and tabs) and
    # no lone surrogates (not storable as UTF-8).
    return all(
        ch in allowed or ((ch.isprintable() or ch == " ") and not 0xD800 <= ord(ch) <= 0xDFFF)
        for ch in text
    )


def clean_title(title: str) -> str:
    cleaned = title.strip()
    if not cleaned:
        raise InvalidInput("title", "The title must not be empty")
    if len(cleaned) > TITLE_MAX_LENGTH:
        raise InvalidInput("title", f"The title must be at most {TITLE_MAX_LENGTH} characters")
    if not _is_text(cleaned):
        raise InvalidInput("title", "The title must be one line of printable text")
    return cleaned


def clean_notes(notes: str | None) -> str:
    cleaned = (notes or "").strip()
    if len(cleaned) > NOTES_MAX_LENGTH:
        raise InvalidInput("notes", f"Notes must be at most {NOTES_MAX_LENGTH} characters")
    if not _is_text(cleaned, allowed="\n\r\t"):
        raise InvalidInput("notes", "Notes must be printable text")
    return cleaned


def clean_time(field: str, value: datetime | None) -> datetime | None:
    """An aware time as UTC, to the millisecond (what MongoDB keeps)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, "The time needs a UTC offset (RFC 3339), e.g. 2030-01-31T09:00Z")
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput(field, "The time is out of range") from None
    if not EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
        raise InvalidInput(field, f"The year must be {EARLIEST_YEAR}..{LATEST_YEAR}")
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def clean_repeat(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_rrule(value)
    except ValueError as exc:
        raise InvalidInput("repeat", f"Not a usable RRULE: {exc}") from None


def title_and_notes(text: str) -> tuple[str, str]:
    """A task from free text (a chat message): the first line is the title, cut at a word
    to TITLE_MAX_LENGTH; when anything was cut or more lines follow, the whole text goes to
    the notes (cut to NOTES_MAX_LENGTH)."""
    printable = "".join(ch if _is_text(ch, "\n") else " " for ch in text).strip()
    lines = [" ".join(line.split()) for line in printable.splitlines() if line.strip()]
    if not lines:
        raise InvalidInput("title", "The title must not be empty")
    title = lines[0]
    if len(title) > TITLE_MAX_LENGTH:
        cut = title[: TITLE_MAX_LENGTH - 1]
        title = (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"
    whole = "\n".join(lines)
    notes = whole[:NOTES_MAX_LENGTH] if whole != title else ""
    return title, notes


# --- Cursors --------------------------------------------------------------------------------

_CURSOR_TAG = b"t1"


def order_key(created_at: datetime, task_id: ObjectId) -> str:
    millis = int(created_at.timestamp() * 1000)
    return f"{millis:013d}{task_id}"


def encode_cursor(key: str) -> str:
    """Opaque: the tag, 8 bytes of epoch ms and the 12-byte id, base64url without padding."""
    millis, oid = int(key[:13]), ObjectId(key[13:])
    raw = _CURSOR_TAG + millis.to_bytes(8, "big") + oid.binary
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> str:
    """The order key a cursor stands for; InvalidInput("cursor") for anything else."""
    bad = InvalidInput("cursor", "Not a cursor from this API; start again without it")
    if not cursor.isascii() or len(cursor) > CURSOR_MAX_LENGTH:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise bad from None
    if len(raw) != 22 or not raw.startswith(_CURSOR_TAG):
        raise bad
    millis = int.from_bytes(raw[2:10], "big")
    if millis >= 10**13:
        raise bad
    key = f"{millis:013d}{ObjectId(raw[10:])}"
    if encode_cursor(key) != cursor:  # one spelling per cursor (no stray padding bits)
        raise bad
    return key


_OFFSET_TAG = b"o1"


def encode_offset(offset: int) -> str:
    """A cursor for Today's pages: a position in the merged, time-sorted view."""
    raw = _OFFSET_TAG + offset.to_bytes(2, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_offset(cursor: str) -> int:
    bad = InvalidInput("cursor", "Not a cursor from this API; start again without it")
    if not cursor.isascii() or len(cursor) > CURSOR_MAX_LENGTH:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise bad from None
    if len(raw) != 4 or not raw.startswith(_OFFSET_TAG):
        raise bad
    offset = int.from_bytes(raw[2:], "big")
    if offset > 3 * TODAY_MAX or encode_offset(offset) != cursor:
        raise bad
    return offset


def end_of_day(now: datetime, zone: ZoneInfo) -> datetime:
    """The first instant of tomorrow on the user's clock, in UTC (midnight of a day that
    starts with a DST jump is normalised by the round trip through UTC)."""
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
    return midnight.astimezone(UTC)


def _today_order(task: TaskView) -> tuple[int, float, str]:
    """Timed tasks first, by their time (the reminder, else the due time; overdue first);
    then those put in Today by hand, newest first."""
    when = task.remind_at if task.remind_at is not None else task.due
    if when is None:
        return (1, 0.0, "".join(chr(0x10FFFF - ord(c)) for c in task.order_key))
    return (0, when.timestamp(), task.order_key)


# --- The service ------------------------------------------------------------------------------


class Tasks:
    def __init__(
        self,
        lists: Lists,
        planner: ReminderPlanner,
        search: SearchBackend,
        clock: Clock = utcnow,
    ) -> None:
        self.lists = lists
        self.planner = planner
        self.search_backend = search
        self.clock = clock
        lists.today_count = self.today_count

    # Reading

    async def get(self, user_id: UserRef, task_id: str | PydanticObjectId) -> Task:
        uid = await self.lists.ensure_builtins(user_id)
        return await self._load(uid, task_id)

    async def page(self, user_id: UserRef, query: TaskQuery) -> TaskPage:
        """A page of tasks, newest first; keyset-paged on (created, id), so tasks added or
        completed between pages neither repeat nor go missing. With `text`: the best
        matches, one page (no cursor)."""
        uid = await self.lists.ensure_builtins(user_id)
        if not 1 <= query.limit <= PAGE_MAX:
            raise InvalidInput("limit", f"limit must be 1..{PAGE_MAX}")
        list_id = None
        if query.list_ref is not None:
            list_id = str((await self.lists.resolve(uid, query.list_ref)).id)
        is_today = list_id is not None and list_id == await self._today_id(uid)
        if is_today and query.text is None and query.status == "open":
            return await self._today_page(uid, query.limit, query.cursor)
        after = decode_cursor(query.cursor) if query.cursor is not None else None
        done = {"open": False, "done": True, "all": None}[query.status]
        if query.text is not None:
            if after is not None:
                raise InvalidInput("cursor", "Search results are one page; drop the cursor")
            text = query.text.strip()
            if not text or len(text) > SEARCH_MAX_LENGTH:
                raise InvalidInput(
                    "q", f"The search text must be 1..{SEARCH_MAX_LENGTH} characters"
                )
            found = await self.search_backend.search(
                uid, text, list_id=list_id, done=done, limit=query.limit
            )
            return TaskPage(items=found, next_cursor=None)
        filters: dict[str, Any] = {"user_id": uid}
        if list_id is not None:
            filters["list_id"] = list_id
        if done is not None:
            filters["done"] = done
        if after is not None:
            filters["order_key"] = {"$lt": after}
        cursor = (
            Task.get_pymongo_collection()
            .find(filters, VIEW_FIELDS)
            .sort("order_key", -1)
            .limit(query.limit + 1)
        )
        items = [TaskView.of(doc) async for doc in cursor]
        more = len(items) > query.limit
        items = items[: query.limit]
        return TaskPage(
            items=items, next_cursor=encode_cursor(items[-1].order_key) if more else None
        )

    async def window(
        self, user_id: UserRef, list_ref: str, offset: int, limit: int
    ) -> tuple[TaskList, list[TaskView], int]:
        """Open tasks of a list by position, newest first (Today: as `today` orders it), and
        how many there are: for numbered pages (the bot's ◀ ▶), where an offset is what a
        button can carry."""
        uid = await self.lists.ensure_builtins(user_id)
        task_list = await self.lists.resolve(uid, list_ref)
        list_id = str(task_list.id)
        if task_list.key == "today":
            everything = await self.today(uid)
            return task_list, everything[max(offset, 0) : max(offset, 0) + limit], len(everything)
        total = (await self.lists.open_counts(uid)).get(list_id, 0)
        cursor = (
            Task.get_pymongo_collection()
            .find(
                {"user_id": {"$eq": uid}, "list_id": {"$eq": list_id}, "done": {"$eq": False}},
                VIEW_FIELDS,
            )
            .sort("order_key", -1)
            .skip(max(offset, 0))
            .limit(limit)
        )
        return task_list, [TaskView.of(doc) async for doc in cursor], total

    async def today(self, user_id: UserRef, now: datetime | None = None) -> list[TaskView]:
        """Today fills itself: the open tasks whose reminder or due time falls today on the
        user's clock or before (overdue), wherever they are, plus those put in Today by hand;
        each once, timed ones first by time. The rule for GET /api/tasks?list=today, the
        bot's /today and the morning digest. Three indexed queries (equality on the user and
        `done`, then the list or a range on the time), each bounded by TODAY_MAX."""
        uid = await self.lists.ensure_builtins(user_id)
        end = end_of_day(now or self.clock(), await self._zone(uid))
        base: dict[str, Any] = {"user_id": {"$eq": uid}, "done": {"$eq": False}}
        sources: list[tuple[dict[str, Any], str, int]] = [
            ({**base, "list_id": {"$eq": await self._today_id(uid)}}, "order_key", -1),
            ({**base, "remind_at": {"$lt": end}}, "remind_at", 1),
            ({**base, "due": {"$lt": end}}, "due", 1),
        ]
        found: dict[str, TaskView] = {}
        collection = Task.get_pymongo_collection()
        for filters, field, direction in sources:
            cursor = collection.find(filters, VIEW_FIELDS).sort(field, direction)
            async for doc in cursor.limit(TODAY_MAX):
                view = TaskView.of(doc)
                found.setdefault(str(view.id), view)
        return sorted(found.values(), key=_today_order)

    async def today_count(self, user_id: UserRef) -> int:
        return len(await self.today(user_id))

    async def _today_page(self, uid: str, limit: int, cursor: str | None) -> TaskPage:
        offset = decode_offset(cursor) if cursor is not None else 0
        everything = await self.today(uid)
        items = everything[offset : offset + limit]
        more = offset + limit < len(everything)
        return TaskPage(items=items, next_cursor=encode_offset(offset + limit) if more else None)

    async def _today_id(self, uid: str) -> str:
        return str((await self.lists.builtin(uid, "today")).id)

    async def _zone(self, uid: str) -> ZoneInfo:
        oid = object_id(uid)
        doc = (
            await User.get_pymongo_collection().find_one({"_id": oid}, {"timezone": 1})
            if oid is not None
            else None
        )
        try:
            return ZoneInfo(doc["timezone"]) if doc and doc.get("timezone") else ZoneInfo("UTC")
        except (ValueError, KeyError):
            return ZoneInfo("UTC")

    async def find(self, user_id: UserRef, text: str, limit: int = 10) -> list[TaskView]:
        """The user's open tasks matching `text`, best first."""
        page = await self.page(user_id, TaskQuery(text=text, limit=limit))
        return page.items

    # Writing

    async def create(self, user_id: UserRef, draft: TaskDraft) -> Task:
        uid = await self.lists.ensure_builtins(user_id)
        title = clean_title(draft.title)
        notes = clean_notes(draft.notes)
        due = clean_time("due", draft.due)
        remind_at = clean_time("remind_at", draft.remind_at)
        repeat = clean_repeat(draft.repeat)
        task_list = await self._list_for(uid, draft.list_ref or "inbox")
        now = self.clock()
        task_id = PydanticObjectId()
        task = Task(
            id=task_id,
            user_id=uid,
            list_id=str(task_list.id),
            title=title,
            notes=notes,
            due=due,
            remind_at=remind_at,
            repeat=repeat,
            created_at=now,
            updated_at=now,
            order_key=order_key(now, task_id),
            terms=self.search_backend.terms(title, notes),
        )
        await insert(task)
        await self._after_write(task, created=True)
        return task

    async def update(
        self, user_id: UserRef, task_id: str | PydanticObjectId, changes: TaskChanges,
        occurrence: datetime | None = None,
    ) -> Task:  # fmt: skip
        """Change any of the fields; every value is checked before anything is written.
        Done on a task that repeats completes this occurrence (`occurrence`, else its current
        time) and moves it to the next (tasks/repeating.py); it stays open."""
        uid = await self.lists.ensure_builtins(user_id)
        values: dict[str, Any] = {}
        if not isinstance(changes.title, Unset):
            values["title"] = clean_title(changes.title)
        if not isinstance(changes.notes, Unset):
            values["notes"] = clean_notes(changes.notes)
        if not isinstance(changes.due, Unset):
            values["due"] = clean_time("due", changes.due)
        if not isinstance(changes.remind_at, Unset):
            values["remind_at"] = clean_time("remind_at", changes.remind_at)
        if not isinstance(changes.repeat, Unset):
            values["repeat"] = clean_repeat(changes.repeat)
        task = await self._load(uid, task_id)
        if not isinstance(changes.list_ref, Unset):
            values["list_id"] = str((await self._list_for(uid, changes.list_ref)).id)
        done = changes.done
        # The user's zone only for Done on a task that repeats (or is made to): the rule's days.
        repeats = values.get("repeat", task.repeat)
        zone = await self._zone(uid) if done is True and repeats else None

        def apply(doc: Task, now: datetime) -> None:
            for name, value in values.items():
                setattr(doc, name, value)
            if done is True and not doc.done and zone is not None:
                moved = after_done(doc, zone, now, occurrence)
                if moved is not None:
                    doc.remind_at, doc.due = moved.remind_at, moved.due
                    doc.done_count, doc.last_done_at = doc.done_count + 1, now
                    return
            if not isinstance(done, Unset) and done != doc.done:
                doc.done, doc.done_at = done, (now if done else None)

        return await self._change(task, apply)

    async def complete(
        self, user_id: UserRef, task_id: str | PydanticObjectId, occurrence: datetime | None = None
    ) -> Task:
        """Done; on a repeating task, done for this occurrence (see `update`)."""
        return await self.update(user_id, task_id, TaskChanges(done=True), occurrence)

    async def stop_repeating(self, user_id: UserRef, task_id: str | PydanticObjectId) -> Task:
        """The repeat cleared; the task keeps its current time (REST: PATCH {"repeat": null})."""
        return await self.update(user_id, task_id, TaskChanges(repeat=None))

    async def reopen(self, user_id: UserRef, task_id: str | PydanticObjectId) -> Task:
        return await self.update(user_id, task_id, TaskChanges(done=False))

    async def move(self, user_id: UserRef, task_id: str | PydanticObjectId, list_ref: str) -> Task:
        return await self.update(user_id, task_id, TaskChanges(list_ref=list_ref))

    async def snooze(
        self, user_id: UserRef, task_id: str | PydanticObjectId, until: datetime
    ) -> Task:
        """Remind again at `until` (the reminder's Snooze buttons)."""
        return await self.update(user_id, task_id, TaskChanges(remind_at=until))

    async def set_remind_at(
        self, task_id: str | PydanticObjectId, remind_at: datetime | None
    ) -> Task | None:
        """For the reminder engine when a repeating reminder advances: set the next time
        without a user check and WITHOUT telling the planner (the caller is the planner).
        None when the task is gone."""
        value = clean_time("remind_at", remind_at)
        oid = object_id(task_id)
        doc = await Task.find_one({"_id": oid}) if oid is not None else None
        if doc is None:
            return None

        def apply(task: Task, now: datetime) -> None:
            task.remind_at = value

        try:
            return await self._change(doc, apply, plan=False)
        except TaskNotFound:
            return None

    async def delete(self, user_id: UserRef, task_id: str | PydanticObjectId) -> None:
        uid = await self.lists.ensure_builtins(user_id)
        oid = object_id(task_id)
        if oid is None:
            raise TaskNotFound()
        result = await Task.get_pymongo_collection().delete_one({"_id": oid, "user_id": uid})
        if result.deleted_count != 1:
            raise TaskNotFound()
        await self.planner.forget_task(PydanticObjectId(oid))
        await self.search_backend.unindex(str(oid))

    # Accounts

    async def move_all(self, from_user_id: UserRef, to_user_id: UserRef) -> None:
        """Merge one user's lists and tasks into another's (account linking). Lists of the
        same name (case-insensitively) and the built-ins are merged; other lists change owner.
        No transaction: idempotent steps, each keyed so that a retry after a crash finishes
        the job (a list is deleted only after its tasks moved; leftovers are swept last)."""
        src, dst = user_key(from_user_id), user_key(to_user_id)
        if src == dst:
            return
        await self.lists.ensure_builtins(dst)
        for task_list in await TaskList.find({"user_id": src}).to_list():
            target = await self._merge_target(dst, task_list)
            if target is None:
                # No list of that name: it changes owner (its id stays) ...
                try:
                    await TaskList.get_pymongo_collection().update_one(
                        {"_id": task_list.id, "user_id": src}, {"$set": {"user_id": dst}}
                    )
                    target = task_list
                except DuplicateKeyError:
                    # ... unless one appeared meanwhile: then it is merged into that one.
                    target = await self._merge_target(dst, task_list)
                    if target is None:
                        raise
            await self.lists.move_tasks(src, str(task_list.id), str(target.id), to_user=dst)
            if target.id != task_list.id:
                await TaskList.get_pymongo_collection().delete_one(
                    {"_id": task_list.id, "user_id": src}
                )
        # Tasks left behind by an interrupted run: their list is gone or already moved.
        inbox = await self.lists.builtin(dst, "inbox")
        for list_id in await Task.get_pymongo_collection().distinct("list_id", {"user_id": src}):
            oid = object_id(str(list_id))
            owner = await TaskList.find_one({"_id": oid}) if oid is not None else None
            target_id = (
                str(list_id) if owner is not None and owner.user_id == dst else str(inbox.id)
            )
            await self.lists.move_tasks(src, str(list_id), target_id, to_user=dst)
        self.lists.forget(src)
        await self.planner.forget_user(PydanticObjectId(src))
        await self.search_backend.reindex_user(dst)
        # The moved reminders now belong to the other user.
        reminders = Task.get_pymongo_collection().find(
            {"user_id": dst, "remind_at": {"$ne": None}}, NO_TERMS
        )
        async for doc in reminders:
            await self.planner.plan(_plan(Task.model_validate(doc)))

    async def erase_user(self, user_id: UserRef) -> None:
        """Delete every list and task of the user (account deletion). Idempotent: reminders
        are forgotten first, so none fires for a task about to go."""
        uid = user_key(user_id)
        self.lists.forget(uid)
        await self.planner.forget_user(PydanticObjectId(uid))
        await Task.get_pymongo_collection().delete_many({"user_id": uid})
        await TaskList.get_pymongo_collection().delete_many({"user_id": uid})
        await self.search_backend.reindex_user(uid)
        self.lists.forget(uid)

    # Internals

    async def _load(self, uid: str, task_id: str | PydanticObjectId) -> Task:
        oid = object_id(task_id)
        doc = (
            await Task.get_pymongo_collection().find_one({"_id": oid, "user_id": uid})
            if oid is not None
            else None
        )
        if doc is None:
            raise TaskNotFound()
        task: Task = Task.model_validate(doc)
        return task

    async def _list_for(self, uid: str, ref: str) -> TaskList:
        try:
            return await self.lists.resolve(uid, ref)
        except ListNotFound:
            raise InvalidInput(
                "list", "No such list (an id or inbox, today, later, someday)"
            ) from None

    async def _merge_target(self, dst: str, task_list: TaskList) -> TaskList | None:
        if task_list.key is not None:
            return await self.lists.builtin(dst, task_list.key)
        return await TaskList.find_one(
            {"user_id": dst, "name_normalized": task_list.name_normalized}
        )

    async def _change(
        self, task: Task, apply: Callable[[Task, datetime], None], *, plan: bool = True
    ) -> Task:
        """Write the whole task (replace_one, so datetimes and booleans keep their types on
        the embedded server too), guarded by its version; on a concurrent change, reload and
        apply again."""
        collection = Task.get_pymongo_collection()
        for _ in range(WRITE_ATTEMPTS):
            before = task.model_copy(deep=True)
            now = self.clock()
            apply(task, now)
            if task == before:
                return task  # nothing changes: nothing written, nothing planned
            task.updated_at = now
            task.terms = self.search_backend.terms(task.title, task.notes)
            read_version = before.version
            task.version = read_version + 1
            result = await collection.replace_one(
                {"_id": task.id, "user_id": task.user_id, "version": read_version},
                get_dict(task, to_db=True),
            )
            if result.matched_count == 1:
                if plan:
                    await self._after_write(task)
                else:
                    await self.search_backend.index(task)
                return task
            task = await self._load(task.user_id, task.id)  # type: ignore[arg-type]
        raise ConcurrentChange()

    async def _after_write(self, task: Task, *, created: bool = False) -> None:
        await self.search_backend.index(task)
        await self.planner.plan(_plan(task, created=created))


def _plan(task: Task, *, created: bool = False) -> ReminderPlan:
    assert task.id is not None
    return ReminderPlan(
        task_id=task.id,
        user_id=PydanticObjectId(task.user_id),
        title=task.title,
        remind_at=task.remind_at,
        repeat=task.repeat,
        done=task.done,
        created=created,
    )
