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
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId
from beanie.odm.utils.dump import get_dict
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import Task, TaskList, TaskTally, User
from models.clock import utcnow
from server.services.accounts.account_data import Holdings
from server.services.common.errors import (
    ConcurrentChange,
    CreationRateExceeded,
    Forbidden,
    InvalidInput,
    ListNotFound,
    QuotaExceeded,
    TaskChanged,
    TaskNotFound,
    TooManyAttempts,
)
from server.services.common.mongo import at_least, eq, insert
from server.services.common.throttle import Limit, RateLimiter
from server.services.dates.occurrences import RuleError, RuleTooCostly, next_occurrence
from server.services.dates.rrule import DEFAULT_MIN_GAP, normalize_rrule
from server.services.reminders.port import Advanced, DeliveryEvent, ReminderPlan, ReminderPlanner
from server.services.sharing.access import Need, require
from server.services.sharing.merge import follow_merged_list
from server.services.tasks.lists import Lists, UserRef, custom_lists, object_id, user_key
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
# Per query of a shared list (its unassigned tasks' reminder and due times, what is assigned
# to the user): with up to SHARING_MAX_LISTS_PER_USER such lists, Today must not read
# thousands of tasks. A long family list adds at most this many of each to one's Today.
SHARED_TODAY_MAX = 50
TODAY_TOTAL = 3 * TODAY_MAX  # the most Today shows (its page cursors go no further)

Status = Literal["open", "done", "all"]
Clock = Callable[[], datetime]
# The versions a write may be based on (REST: the tags of `If-Match`); None: any (last writer
# wins, as the bot's buttons and clients without `If-Match` want).
Expected = frozenset[int] | None


class ChangeObserver(Protocol):
    """Told of every change a person makes to a task (shared lists' change notifications,
    server/services/sharing/notices.py): `kind` is added, done, edited, deleted or moved
    (out of `list_id`)."""

    async def changed(self, actor: str, kind: str, task: Task, list_id: str) -> None: ...


class Unset(enum.Enum):
    """A field a change leaves alone (None is a value: it clears)."""

    UNSET = enum.auto()


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class TaskLimits:
    """Per-user quotas and the repeat rule's smallest gap (settings QUOTA_*, REPEAT_*; see
    docs/quotas-and-repeats.md). The tasks quota reads a kept count, walking the user's index
    only near the quota and every tenth of it (`Tasks._check_tasks_quota`)."""

    max_tasks: int = 10_000  # every task, done or not: storage is what a flood costs
    max_active_reminders: int = 1_000  # open tasks with a reminder
    tasks_per_minute: int = 60  # creations per user per minute
    repeat_min_gap: int = DEFAULT_MIN_GAP  # seconds between two occurrences of a repeat


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
    assignee_id: str | Unset | None = UNSET  # a member of the task's list (shared lists)


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


def clean_repeat(
    value: str | None, min_gap: int = DEFAULT_MIN_GAP, *, probe: bool = True
) -> str | None:
    """The rule canonical, or InvalidInput("repeat"). Bounded work whatever the text: its
    form, value counts and smallest gap are checked before it is expanded, and the expansion
    (does it occur at all) runs under a candidate budget (server/services/dates/). Without
    `probe` that expansion is left to check_schedule, which expands from the real start:
    one budget per request, not two."""
    if value is None:
        return None
    try:
        return normalize_rrule(value, min_gap, probe=probe)
    except ValueError as exc:
        raise InvalidInput("repeat", f"Not a usable RRULE: {exc}") from None


def check_schedule(
    repeat: str, remind_at: datetime, now: datetime, zone: ZoneInfo, min_gap: int
) -> None:
    """A repeating reminder must have a next occurrence the reminder engine can find within
    its budget from this start (a start in 1900 is fine: the engine jumps to now); else the
    rule is refused now rather than silently dropped after the first send."""
    try:
        next_occurrence(repeat, remind_at, max(now, remind_at), zone, min_gap=min_gap, strict=True)
    except RuleTooCostly:
        raise InvalidInput(
            "repeat", "The rule does not occur again from remind_at within a plannable time"
        ) from None
    except RuleError as exc:
        raise InvalidInput("repeat", f"Not a usable RRULE from remind_at: {exc}") from None


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


def version_is(version: int) -> dict[str, Any]:
    """The condition "the stored task is still at `version`" of a guarded write. A document
    without the field (written before it existed, or by hand) is at version 0: `$in` with
    null matches a missing field on MongoDB and on nx-27017 alike, where `$eq: 0` would miss
    it and every write of such a task would fail as a concurrent change."""
    return {"version": {"$eq": version}} if version else {"version": {"$in": [0, None]}}


def check_expected(task: Task, expected: Expected) -> None:
    """The write was based on another version than the stored one: TaskChanged with it."""
    if expected is not None and task.version not in expected:
        raise TaskChanged(task)


def order_key(created_at: datetime, task_id: ObjectId) -> str:
    millis = int(created_at.timestamp() * 1000)
    return f"{millis:013d}{task_id}"


def encode_cursor(key: str) -> str:
    """Opaque: the tag, 8 bytes of epoch ms and the 12-byte id, base64url without padding."""
    millis, oid = int(key[:13]), ObjectId(key[13:])
    raw = _CURSOR_TAG + millis.to_bytes(8, "big") + oid.binary
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unpack(cursor: str, tag: bytes, size: int) -> bytes:
    """A cursor's bytes after checking its form and tag; InvalidInput("cursor") otherwise."""
    bad = InvalidInput("cursor", "Not a cursor from this API; start again without it")
    if not cursor.isascii() or len(cursor) > CURSOR_MAX_LENGTH:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise bad from None
    if len(raw) != size or not raw.startswith(tag):
        raise bad
    return raw


def decode_cursor(cursor: str) -> str:
    """The order key a cursor stands for; InvalidInput("cursor") for anything else."""
    raw = _unpack(cursor, _CURSOR_TAG, 22)
    millis = int.from_bytes(raw[2:10], "big")
    key = f"{millis:013d}{ObjectId(raw[10:])}"
    # one spelling per cursor (no stray padding bits), and a time that fits the key
    if millis >= 10**13 or encode_cursor(key) != cursor:
        raise InvalidInput("cursor", "Not a cursor from this API; start again without it")
    return key


_OFFSET_TAG = b"o1"


def encode_offset(offset: int) -> str:
    """A cursor for Today's pages: a position in the merged, time-sorted view."""
    raw = _OFFSET_TAG + offset.to_bytes(2, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_offset(cursor: str) -> int:
    offset = int.from_bytes(_unpack(cursor, _OFFSET_TAG, 4)[2:], "big")
    if offset > TODAY_TOTAL or encode_offset(offset) != cursor:
        raise InvalidInput("cursor", "Not a cursor from this API; start again without it")
    return offset


def end_of_day(now: datetime, zone: ZoneInfo) -> datetime:
    """The first instant of tomorrow on the user's clock, in UTC (midnight of a day that
    starts with a DST jump is normalised by the round trip through UTC)."""
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
    return midnight.astimezone(UTC)


def _in_today(task: TaskView, uid: str, today_id: str, end: datetime) -> bool:
    """Whether a candidate belongs in `uid`'s Today (the rule in `Tasks.today`)."""
    if task.list_id == today_id:
        return True  # put there by hand
    if task.assignee_id is not None and task.assignee_id != uid:
        return False  # someone else's to do
    times = [when for when in (task.remind_at, task.due) if when is not None]
    if times:
        return min(times) < end
    return task.assignee_id == uid


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
        limits: TaskLimits | None = None,
        limiter: RateLimiter | None = None,
        observer: ChangeObserver | None = None,
    ) -> None:
        self.lists = lists
        self.planner = planner
        self.search_backend = search
        self.clock = clock
        lists.today_count = self.today_count
        self.limits = limits or TaskLimits()
        self.limiter = limiter or RateLimiter()
        self._rate = Limit("task-create", self.limits.tasks_per_minute, 60)
        self.observer = observer  # told of every change a person makes (None: nobody)

    # Reading

    async def get(self, user_id: UserRef, task_id: str | PydanticObjectId) -> Task:
        uid = await self.lists.ensure_builtins(user_id)
        return await self._load_for(uid, task_id, Need.READ)

    async def page(self, user_id: UserRef, query: TaskQuery) -> TaskPage:
        """A page of tasks, newest first; keyset-paged on (created, id), so tasks added or
        completed between pages neither repeat nor go missing. With `text`: the best
        matches, one page (no cursor)."""
        uid = await self.lists.ensure_builtins(user_id)
        if not 1 <= query.limit <= PAGE_MAX:
            raise InvalidInput("limit", f"limit must be 1..{PAGE_MAX}")
        list_id, owner, is_today = None, uid, False
        if query.list_ref is not None:
            task_list = await self.lists.resolve(uid, query.list_ref)
            list_id, owner = str(task_list.id), task_list.user_id  # a shared list: the owner's
            # Today (built in, so never shared: `resolve` gives only the caller's own) fills
            # itself: its own rule and pages. Its key says so without reading the caller's
            # Today list again (a round trip on every page, every 3 s per polling client).
            is_today = task_list.key == "today"
        if is_today and query.text is None and query.status == "open":
            return await self._today_page(uid, query.limit, query.cursor)
        after = decode_cursor(query.cursor) if query.cursor is not None else None
        # Without a list: the user's own tasks and those of the lists shared with them.
        shared = await self.lists.shared_with(uid) if list_id is None else []
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
                owner, text, list_id=list_id, done=done, limit=query.limit
            )
            for other in shared:  # own matches first, then each shared list's
                if len(found) >= query.limit:
                    break
                found += await self.search_backend.search(
                    other.user_id, text, list_id=str(other.id), done=done, limit=query.limit
                )
            return TaskPage(items=found[: query.limit], next_cursor=None)
        filters: dict[str, Any] = eq(user_id=owner)
        if list_id is not None:
            filters |= eq(list_id=list_id)
        if done is not None:
            filters |= eq(done=done)
        if after is not None:
            filters["order_key"] = {"$lt": after}
        items: list[TaskView] = []
        # One indexed query for the user's own, one per shared list (bounded by the quota),
        # merged newest first: the same keyset cursor pages through all of them.
        for one in [filters] + [
            {**filters, "user_id": o.user_id, "list_id": str(o.id)} for o in shared
        ]:
            cursor = (
                Task.get_pymongo_collection()
                .find(one, VIEW_FIELDS)
                .sort("order_key", -1)
                .limit(query.limit + 1)
            )
            items += [TaskView.of(doc) async for doc in cursor]
        if shared:
            items.sort(key=lambda view: view.order_key, reverse=True)
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
        list_id, owner = str(task_list.id), task_list.user_id  # a shared list: the owner's
        if task_list.key == "today":
            everything = await self.today(uid)
            return task_list, everything[max(offset, 0) : max(offset, 0) + limit], len(everything)
        total = await self.lists.open_count(owner, list_id)
        cursor = (
            Task.get_pymongo_collection()
            .find(eq(user_id=owner, list_id=list_id, done=False), VIEW_FIELDS)
            .sort("order_key", -1)
            .skip(max(offset, 0))
            .limit(limit)
        )
        return task_list, [TaskView.of(doc) async for doc in cursor], total

    async def today(self, user_id: UserRef, now: datetime | None = None) -> list[TaskView]:
        """Today fills itself: the open tasks whose reminder or due time falls today on the
        user's clock or before (overdue), wherever they are, plus those put in Today by hand;
        each once, timed ones first by time. The rule for GET /api/tasks?list=today, the
        bot's /today and the morning digest (docs/sharing.md, "Today and the digest").

        Shared lists: a task assigned to someone else is theirs, not in this Today (in one's
        own lists too); a task assigned to the user is in it when its time falls today or
        before, or when it has no time (the assignment puts it there, as putting one's own
        task in Today by hand does); an unassigned one by its time, like one's own.

        Indexed queries, each bounded: three for the user's own tasks (equality on the user
        and `done`, then the list or a range on the time; TODAY_MAX each); per list shared
        with them, its unassigned tasks' reminder and due times and what is assigned to
        them (newest first, whatever its time); per own list with members, what is assigned
        to them (`list_tasks`; SHARED_TODAY_MAX each). The lists are bounded by the
        shared-lists quota, the whole by TODAY_TOTAL."""
        uid = await self.lists.ensure_builtins(user_id)
        end = end_of_day(now or self.clock(), await self._zone(uid))
        today_id = await self._today_id(uid)
        base = eq(user_id=uid, done=False)
        sources: list[tuple[dict[str, Any], str, int, int]] = [
            ({**base, **eq(list_id=today_id)}, "order_key", -1, TODAY_MAX),
            ({**base, "remind_at": {"$lt": end}}, "remind_at", 1, TODAY_MAX),
            ({**base, "due": {"$lt": end}}, "due", 1, TODAY_MAX),
        ]
        joined = await self.lists.shared_with(uid)
        owned = await self.lists.members_counts(uid)  # own lists with members, by id
        for owner, list_id in [(doc.user_id, str(doc.id)) for doc in joined] + [
            (uid, list_id) for list_id in owned
        ]:
            in_list = eq(user_id=owner, list_id=list_id, done=False)
            if owner != uid:  # one's own timed tasks are found by the queries above
                # Unassigned ones only (null matches an absent field too, on both servers):
                # what others are assigned must not use up the bound. Not `$in: [null, uid]`:
                # nx-27017 cannot translate `$in` beside a time range and reads the whole
                # collection (test_query_plans.py); the user's own come from the next query.
                nobodys = {**in_list, **eq(assignee_id=None)}
                sources += [
                    ({**nobodys, "remind_at": {"$lt": end}}, "remind_at", 1, SHARED_TODAY_MAX),
                    ({**nobodys, "due": {"$lt": end}}, "due", 1, SHARED_TODAY_MAX),
                ]
            sources.append(({**in_list, **eq(assignee_id=uid)}, "order_key", -1, SHARED_TODAY_MAX))
        found: dict[str, TaskView] = {}
        collection = Task.get_pymongo_collection()
        for filters, field, direction, limit in sources:
            cursor = collection.find(filters, VIEW_FIELDS).sort(field, direction)
            async for doc in cursor.limit(limit):
                view = TaskView.of(doc)
                if _in_today(view, uid, today_id, end):
                    found.setdefault(str(view.id), view)
        return sorted(found.values(), key=_today_order)[:TODAY_TOTAL]

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

    async def create(self, user_id: UserRef, draft: TaskDraft, *, paced: bool = True) -> Task:
        """A new task, within the user's quotas. `paced`: counted against the tasks-per-minute
        rate; an import (one request, bounded by its size and the count quotas) is not."""
        uid = await self.lists.ensure_builtins(user_id)
        title = clean_title(draft.title)
        notes = clean_notes(draft.notes)
        due = clean_time("due", draft.due)
        remind_at = clean_time("remind_at", draft.remind_at)
        repeat = clean_repeat(draft.repeat, self.limits.repeat_min_gap, probe=remind_at is None)
        task_list = await self._list_for(uid, draft.list_ref or "inbox")
        now = self.clock()
        if repeat is not None and remind_at is not None:
            check_schedule(repeat, remind_at, now, await _zone(uid), self.limits.repeat_min_gap)
        await self._check_quotas(uid, reminder=remind_at is not None, paced=paced)
        task_id = PydanticObjectId()
        task = Task(
            id=task_id,
            user_id=task_list.user_id,  # a task is kept with its list's owner's data
            created_by=uid,
            updated_by=uid,
            remind_by=uid if remind_at is not None else None,
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
        await self._tell(uid, "added", task, task.list_id)
        return task

    async def update(
        self, user_id: UserRef, task_id: str | PydanticObjectId, changes: TaskChanges,
        occurrence: datetime | None = None, *, for_good: bool = False,
        expected: Expected = None,
    ) -> Task:  # fmt: skip
        """Change any of the fields; every value is checked before anything is written.
        Done on a task that repeats completes this occurrence (`occurrence`, else its current
        time) and moves it to the next (tasks/repeating.py); it stays open. `for_good`: done
        is done, repeat or not (an import restoring a task that was completed). `expected`:
        the versions the caller's change was based on; if the task is at another (someone
        changed it since, or changes it while this write runs), TaskChanged with the current
        task and nothing written (docs/sharing.md, "Concurrent edits")."""
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
            values["remind_by"] = uid if values["remind_at"] is not None else None
        if not isinstance(changes.repeat, Unset):
            # The expansion (does it occur) waits until the start is known: one budget.
            values["repeat"] = clean_repeat(changes.repeat, self.limits.repeat_min_gap, probe=False)
        task = await self._load_for(uid, task_id, Need.WRITE)
        check_expected(task, expected)  # before any further check: the edit is already stale
        if not isinstance(changes.list_ref, Unset):
            target = await self._list_for(uid, changes.list_ref)
            # Into another owner's list: the task goes with that list's data.
            values["list_id"], values["user_id"] = str(target.id), target.user_id
        if not isinstance(changes.assignee_id, Unset):
            values["assignee_id"] = await self._assignee(
                changes.assignee_id, values.get("list_id", task.list_id)
            )
        done = changes.done
        repeat = values.get("repeat", task.repeat)
        remind_at = values.get("remind_at", task.remind_at)
        if ("repeat" in values or "remind_at" in values) and repeat is not None:
            min_gap = self.limits.repeat_min_gap
            if remind_at is not None:
                check_schedule(repeat, remind_at, self.clock(), await _zone(uid), min_gap)
            elif "repeat" in values:
                clean_repeat(repeat, min_gap)  # no start: does it occur at all
        still_open = not (done if not isinstance(done, Unset) else task.done)
        if values.get("remind_at") is not None and task.remind_at is None and still_open:
            await self._check_reminder_quota(uid)
        # The user's zone only for Done on a task that repeats (or is made to): the rule's days.
        repeats = values.get("repeat", task.repeat)
        zone = await self._zone(uid) if done is True and repeats and not for_good else None

        def apply(doc: Task, now: datetime) -> None:
            for name, value in values.items():
                setattr(doc, name, value)
            doc.updated_by = uid
            if done is True and not doc.done and zone is not None:
                moved = after_done(doc, zone, now, occurrence)
                if moved is not None:
                    doc.remind_at, doc.due = moved.remind_at, moved.due
                    doc.done_count, doc.last_done_at = doc.done_count + 1, now
                    return
            if not isinstance(done, Unset) and done != doc.done:
                doc.done, doc.done_at = done, (now if done else None)

        was_in, was_owner, was = task.list_id, task.user_id, task.version
        was_done, was_count = task.done, task.done_count
        changed = await self._change(task, apply, expected=expected)
        if changed.user_id != was_owner:  # into another owner's list: the task is theirs now
            await _tally(was_owner, -1)
            await _tally(changed.user_id, 1)
        if changed.version != was:  # something changed: tell the list's other members
            if changed.list_id != was_in:  # out of the old list (its owner's), into the new
                await self._tell(uid, "moved", changed.model_copy(update={"user_id": was_owner}),
                                 was_in)  # fmt: skip
                await self._tell(uid, "added", changed, changed.list_id)
            elif (changed.done and not was_done) or changed.done_count > was_count:
                await self._tell(uid, "done", changed, changed.list_id)
            else:
                await self._tell(uid, "edited", changed, changed.list_id)
        return changed

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

    async def reminder_delivered(self, event: DeliveryEvent) -> None:
        """What reminder delivery did (server/services/reminders/port.py), subscribed in the
        composition root. The task's `remind_at` is the truth; delivery only re-arms a repeat
        at its next occurrence, and the task follows it here (Advanced)."""
        if isinstance(event, Advanced):
            await self.set_remind_at(event.task_id, event.to)

    async def set_remind_at(
        self, task_id: str | PydanticObjectId, remind_at: datetime | None
    ) -> Task | None:
        """A repeating reminder advanced (`reminder_delivered`): set the next time without a
        user check and WITHOUT telling the planner (the reminder already is there). None when
        the task is gone."""
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

    async def delete(
        self, user_id: UserRef, task_id: str | PydanticObjectId, *, expected: Expected = None
    ) -> None:
        """`expected`: as for `update`; the delete is then guarded by the version, so a task
        changed meanwhile is not deleted (TaskChanged with it)."""
        uid = await self.lists.ensure_builtins(user_id)
        task = await self._load_for(uid, task_id, Need.WRITE)
        check_expected(task, expected)
        oid = task.id
        guard = version_is(task.version) if expected is not None else {}
        result = await Task.get_pymongo_collection().delete_one(
            {**eq(_id=oid, user_id=task.user_id), **guard}
        )
        if result.deleted_count != 1:
            if expected is not None:  # changed (TaskChanged) or deleted (TaskNotFound) meanwhile
                check_expected(await self._load(task.user_id, oid), expected)  # type: ignore[arg-type]
            raise TaskNotFound()
        await _tally(task.user_id, -1)
        await self.planner.forget_task(PydanticObjectId(oid))
        await self.search_backend.unindex(str(oid))
        await self._tell(uid, "deleted", task, task.list_id)

    async def release_member(
        self, owner: str, list_id: str, member: str, to: str | None = None
    ) -> None:
        """A member left a shared list (or their account went or merged into `to`): their
        assignments and the reminders they set in it pass to `to` (None: nobody, so the
        reminder goes to the list's owner), and the reminders are planned again, so nothing
        of the list reaches them any more."""
        collection = Task.get_pymongo_collection()
        for field in ("assignee_id", "remind_by"):
            rows = collection.find(
                eq({field: member}, user_id=owner, list_id=list_id),
                NO_TERMS,
            )
            async for doc in rows:

                def apply(task: Task, now: datetime) -> None:
                    if task.assignee_id == member:
                        task.assignee_id = to
                    if task.remind_by == member:
                        task.remind_by = to

                try:
                    await self._change(Task.model_validate(doc), apply)
                except TaskNotFound:
                    continue  # deleted meanwhile

    async def change_owner(self, list_id: str, from_user: str, to_user: str) -> None:
        """A shared list changed owner: its tasks follow (idempotent), with their reminders
        and search terms."""
        await self.lists.move_tasks(from_user, list_id, list_id, to_user=to_user)
        await _forget_tallies(from_user, to_user)
        await self.search_backend.reindex_user(to_user)
        await self.search_backend.reindex_user(from_user)
        reminders = Task.get_pymongo_collection().find(
            {**eq(user_id=to_user, list_id=list_id), "remind_at": {"$ne": None}}, NO_TERMS
        )
        async for doc in reminders:
            await self.planner.plan(_plan(Task.model_validate(doc)))

    # Accounts

    async def holdings(self, user_id: UserRef) -> Holdings:
        """The user's own lists (not the built-ins, which are merged) and tasks: what
        `move_all` would move, for the linking confirmation screen. Index counts."""
        uid = user_key(user_id)
        # Counted with indexed finds of `_id`s: `count_documents` is not index-served on the
        # embedded server (it scans everyone's tasks: common/mongo.at_least). A custom list
        # is one with a name (built-ins have none).
        lists = TaskList.get_pymongo_collection().find(custom_lists(uid), {"_id": 1})
        tasks = Task.get_pymongo_collection().find(eq(user_id=uid), {"_id": 1})
        return Holdings(lists=len(await lists.to_list()), tasks=len(await tasks.to_list()))

    async def move_all(self, from_user_id: UserRef, to_user_id: UserRef) -> None:
        """Merge one user's lists and tasks into another's (account linking). Lists of the
        same name (case-insensitively) and the built-ins are merged; other lists change owner.
        No transaction: idempotent steps, each keyed so that a retry after a crash finishes
        the job (a list is deleted only after its tasks moved; leftovers are swept last)."""
        src, dst = user_key(from_user_id), user_key(to_user_id)
        if src == dst:
            return
        await self.lists.ensure_builtins(dst)
        for task_list in await TaskList.find(eq(user_id=src)).to_list():
            target = await self._merge_target(dst, task_list)
            if target is None:
                # No list of that name: it changes owner (its id stays) ...
                try:
                    await TaskList.get_pymongo_collection().update_one(
                        eq(_id=task_list.id, user_id=src), {"$set": {"user_id": dst}}
                    )
                    target = task_list
                except DuplicateKeyError:
                    # ... unless one appeared meanwhile: then it is merged into that one.
                    target = await self._merge_target(dst, task_list)
                    if target is None:
                        raise
            await self.lists.move_tasks(src, str(task_list.id), str(target.id), to_user=dst)
            if target.id != task_list.id:
                # A shared list merged into one of the same name: its members and invites
                # follow before it goes (a retry finds it again until then).
                await follow_merged_list(str(task_list.id), target)
                await TaskList.get_pymongo_collection().delete_one(
                    eq(_id=task_list.id, user_id=src)
                )
        # Tasks left behind by an interrupted run: their list is gone or already moved.
        inbox = await self.lists.builtin(dst, "inbox")
        for list_id in await Task.get_pymongo_collection().distinct("list_id", eq(user_id=src)):
            oid = object_id(str(list_id))
            owner = await TaskList.find_one({"_id": oid}) if oid is not None else None
            target_id = (
                str(list_id) if owner is not None and owner.user_id == dst else str(inbox.id)
            )
            await self.lists.move_tasks(src, str(list_id), target_id, to_user=dst)
        self.lists.forget(src)
        await _forget_tallies(src, dst)
        await self.planner.forget_user(PydanticObjectId(src))
        await self.search_backend.reindex_user(dst)
        # Who set a reminder or is assigned (shared lists): the merged account is now dst.
        tasks = Task.get_pymongo_collection()
        for field in ("remind_by", "assignee_id"):
            await tasks.update_many(eq({field: src}, user_id=dst), {"$set": {field: dst}})
        # The moved reminders now belong to the other user.
        reminders = Task.get_pymongo_collection().find(
            {**eq(user_id=dst), "remind_at": {"$ne": None}}, NO_TERMS
        )
        async for doc in reminders:
            await self.planner.plan(_plan(Task.model_validate(doc)))

    async def erase_user(self, user_id: UserRef) -> None:
        """Delete every list and task of the user (account deletion). Idempotent: reminders
        are forgotten first, so none fires for a task about to go."""
        uid = user_key(user_id)
        self.lists.forget(uid)
        await self.planner.forget_user(PydanticObjectId(uid))
        await Task.get_pymongo_collection().delete_many(eq(user_id=uid))
        await TaskList.get_pymongo_collection().delete_many(eq(user_id=uid))
        await _forget_tallies(uid)
        await self.search_backend.reindex_user(uid)
        self.lists.forget(uid)

    # Quotas

    async def _check_quotas(self, uid: str, *, reminder: bool, paced: bool = True) -> None:
        """Refuse a creation over the user's quotas: the rate first (one counter upsert),
        then the counts (see docs/quotas-and-repeats.md for the figures)."""
        if paced:
            try:
                await self.limiter.hit((self._rate, uid))
            except TooManyAttempts as exc:
                raise CreationRateExceeded(self.limits.tasks_per_minute, exc.retry_after) from None
        await self._check_tasks_quota(uid)
        if reminder:
            await self._check_reminder_quota(uid)

    async def _check_tasks_quota(self, uid: str) -> None:
        """The tasks quota without walking the user's tasks on every creation (the walk of
        `at_least` grows with them: 20 ms at 3,000 tasks on the embedded server, 155 ms at
        10,000). The creation is counted first in the user's kept count (`TaskTally`, one
        atomic `$inc` of a small document, so concurrent creations see each other); that
        count is only a hint (a crash between two writes, a path that moves tasks without
        counting them), so the exact check (`at_least`) still decides whenever the hint is
        within `_slack` of the quota, and after every `_slack` creations whatever the hint
        says: a wrong hint can never let a user more than `_slack` past the quota. No hint
        yet (the first creation after the upgrade, a merge or a change of owner): counted
        exactly, once."""
        limit = self.limits.max_tasks
        slack = _slack(limit)
        tallies = TaskTally.get_pymongo_collection()
        tally = await tallies.find_one_and_update(
            {"_id": uid}, {"$inc": {"n": 1, "since": 1}}, return_document=ReturnDocument.AFTER
        )
        if tally is None:
            held = await _count(eq(user_id=uid), limit)
            refused = held >= limit
            await tallies.update_one(
                {"_id": uid}, {"$set": {"n": held + (not refused), "since": 0}}, upsert=True
            )
            if refused:
                raise QuotaExceeded("tasks", limit)
            return
        if tally["n"] - 1 < limit - slack and tally["since"] < slack:
            return  # well below the quota, and checked exactly not long ago
        if await at_least(Task, eq(user_id=uid), limit, _USER_TASKS):
            await tallies.update_one({"_id": uid}, {"$inc": {"n": -1}})  # not created
            raise QuotaExceeded("tasks", limit)
        await tallies.update_one({"_id": uid}, {"$set": {"since": 0}})

    async def _check_reminder_quota(self, uid: str) -> None:
        """The n-th open task with a reminder, along the index of the user's reminder times:
        the walk passes only tasks that have a reminder (at most the quota), not every open
        task of the user."""
        active = {**eq(user_id=uid, done=False), "remind_at": {"$ne": None}}
        if await at_least(Task, active, self.limits.max_active_reminders, _USER_REMIND_TIMES):
            raise QuotaExceeded("reminders", self.limits.max_active_reminders)

    # Internals

    async def _load(self, uid: str, task_id: str | PydanticObjectId) -> Task:
        oid = object_id(task_id)
        doc = (
            await Task.get_pymongo_collection().find_one(eq(_id=oid, user_id=uid))
            if oid is not None
            else None
        )
        if doc is None:
            raise TaskNotFound()
        task: Task = Task.model_validate(doc)
        return task

    async def _load_for(self, uid: str, task_id: str | PydanticObjectId, need: Need) -> Task:
        """A task the user may `need` (the access rule, decided by the task's list):
        TaskNotFound for anyone who is neither its list's owner nor a member."""
        oid = object_id(task_id)
        doc = await Task.get_pymongo_collection().find_one({"_id": oid}) if oid else None
        if doc is None:
            raise TaskNotFound()
        task: Task = Task.model_validate(doc)
        list_oid = object_id(task.list_id)
        task_list = await TaskList.find_one({"_id": list_oid}) if list_oid else None
        if task_list is None:  # its list is being deleted: the owner's alone
            if task.user_id != uid:
                raise TaskNotFound()
            return task
        try:
            await require(uid, task_list, need)
        except ListNotFound:
            raise TaskNotFound() from None
        return task

    async def _assignee(self, assignee: str | None, list_id: str) -> str | None:
        """An assignee must be the list's owner or one of its members."""
        if assignee is None:
            return None
        list_oid = object_id(list_id)
        task_list = await TaskList.find_one({"_id": list_oid}) if list_oid else None
        bad = InvalidInput(
            "assignee_id", "The assignee must be the owner or an editor of the task's list"
        )
        if task_list is None or object_id(assignee) is None:
            raise bad
        try:  # someone who can act on the reminder it brings them (Done, Snooze)
            await require(assignee, task_list, Need.WRITE)
        except (ListNotFound, Forbidden):
            raise bad from None
        return assignee

    async def _list_for(self, uid: str, ref: str) -> TaskList:
        try:
            return await self.lists.resolve(uid, ref, Need.WRITE)
        except ListNotFound:
            raise InvalidInput(
                "list", "No such list (an id or inbox, today, later, someday)"
            ) from None

    async def _merge_target(self, dst: str, task_list: TaskList) -> TaskList | None:
        if task_list.key is not None:
            return await self.lists.builtin(dst, task_list.key)
        return await TaskList.find_one(eq(user_id=dst, name_normalized=task_list.name_normalized))

    async def _change(
        self,
        task: Task,
        apply: Callable[[Task, datetime], None],
        *,
        plan: bool = True,
        expected: Expected = None,
    ) -> Task:
        """Write the whole task (replace_one, so datetimes and booleans keep their types on
        the embedded server too), guarded by its version; on a concurrent change, reload and
        apply again, unless the change was based on `expected` versions: then the other
        write wins and this one is refused with the task it made (TaskChanged)."""
        collection = Task.get_pymongo_collection()
        for _ in range(WRITE_ATTEMPTS):
            check_expected(task, expected)
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
                {**eq(_id=task.id, user_id=before.user_id), **version_is(read_version)},
                get_dict(task, to_db=True),
            )
            if result.matched_count == 1:
                if plan:
                    await self._after_write(task, previous=before.terms)
                else:
                    await self.search_backend.index(task, before.terms)
                return task
            task = await self._load(before.user_id, task.id)  # type: ignore[arg-type]
        raise ConcurrentChange()

    async def _tell(self, actor: str, kind: str, task: Task, list_id: str) -> None:
        """The observer hears of the change; the change stands whatever it answers."""
        if self.observer is None:
            return
        try:
            await self.observer.changed(actor, kind, task, list_id)
        except Exception:
            log.warning("change of task %s not told to the observer", task.id, exc_info=True)

    async def _after_write(
        self, task: Task, *, created: bool = False, previous: list[str] | None = None
    ) -> None:
        await self.search_backend.index(task, previous or [])
        await self.planner.plan(_plan(task, created=created))


# The keys of the tasks' user_tasks and user_remind_times indexes: the quota counts walk them.
_USER_TASKS = [("user_id", 1), ("done", 1), ("order_key", -1)]
_USER_REMIND_TIMES = [("user_id", 1), ("done", 1), ("remind_at", 1)]


def _slack(limit: int) -> int:
    """How far below the tasks quota its kept count is trusted, and how many creations may
    pass between two exact checks: a tenth of the quota."""
    return max(1, limit // 10)


async def _tally(uid: str, change: int) -> None:
    """Count tasks in or out of the user's kept count (the tasks quota's hint); no count
    kept yet: nothing to change (the first creation counts exactly)."""
    await TaskTally.get_pymongo_collection().update_one({"_id": uid}, {"$inc": {"n": change}})


async def _forget_tallies(*uids: str) -> None:
    """Tasks moved between users in bulk (a merge, a list's new owner) or were erased: the
    kept counts are dropped, and the next creation counts exactly."""
    await TaskTally.get_pymongo_collection().delete_many({"_id": {"$in": list(uids)}})


async def _count(query: dict[str, Any], cap: int) -> int:
    """How many tasks match, counting no further than `cap` (indexed finds of `_id`s:
    `count_documents` is not index-served on the embedded server)."""
    cursor = Task.get_pymongo_collection().find(query, {"_id": 1}).limit(cap)
    return len(await cursor.to_list())


async def _zone(uid: str) -> ZoneInfo:
    """The user's zone (UTC when unset or unknown): repeat rules run on their wall clock."""
    oid = object_id(uid)
    doc = await User.get_pymongo_collection().find_one({"_id": oid}, {"timezone": 1})
    try:
        return ZoneInfo(doc["timezone"]) if doc and doc.get("timezone") else ZoneInfo("UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _plan(task: Task, *, created: bool = False) -> ReminderPlan:
    assert task.id is not None
    # Shared lists: to the assignee, else to whoever set the reminder, else the list's owner.
    recipient = task.assignee_id or task.remind_by or task.user_id
    return ReminderPlan(
        task_id=task.id,
        user_id=PydanticObjectId(recipient),
        title=task.title,
        remind_at=task.remind_at,
        repeat=task.repeat,
        done=task.done,
        created=created,
    )
