"""Import: this service's own export (docs/export.schema.json) or Todoist's CSV template
(docs/import.md), into the caller's account.

Three steps: parse and validate the whole file in a worker thread (the first bad value is a
ImportRejected naming its row and field, and nothing is written); find which items earlier
imports already created (keyed by the item's id in the file, or a digest of a CSV row);
create the rest through the lists and tasks services, so reminders are planned like any
other task's.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from models import User
from models.clock import utcnow
from models.data_links import ImportKey
from models.task_list import BUILTIN_KEYS, BuiltinKey
from server.services.common.errors import InvalidInput, ServiceError
from server.services.common.mongo import eq
from server.services.dates.occurrences import RuleError, next_occurrence
from server.services.dates.zones import get_zone
from server.services.portability.feed import zone_for
from server.services.tasks.lists import (
    BUILTIN_NAMES,
    RESERVED_NAMES,
    Lists,
    clean_list_name,
    normalize_list_name,
)
from server.services.tasks.service import (
    TaskChanges,
    TaskDraft,
    Tasks,
    clean_notes,
    clean_repeat,
    clean_time,
    clean_title,
)

Format = Literal["export", "todoist"]
FORMATS: tuple[Format, ...] = ("export", "todoist")
MAX_IMPORT_BYTES = 8 * 1024 * 1024  # the default of IMPORT_MAX_BYTES
# Row limits (documented in docs/import.md): per-user quotas are another change's; until
# they exist, one import adds at most this many.
MAX_TASKS = 10_000
MAX_LISTS = 200


class ImportRejected(ServiceError):
    """The file, or one value in it: `row` is the 1-based row (a CSV line, or the index in
    the export's `tasks`/`lists` array plus one), `field` the column or key."""

    def __init__(self, detail: str, field: str, row: int | None = None) -> None:
        super().__init__(detail)
        self.field = field
        self.row = row


@dataclass(frozen=True, slots=True)
class ListItem:
    source_id: str
    key: BuiltinKey | None
    name: str | None  # a list of one's own


@dataclass(frozen=True, slots=True)
class TaskItem:
    source_id: str
    list_source: str | None  # a ListItem.source_id; None: Inbox
    title: str
    notes: str
    done: bool
    due: datetime | None
    remind_at: datetime | None
    repeat: str | None


@dataclass
class ImportPlan:
    lists: list[ListItem] = field(default_factory=list)
    tasks: list[TaskItem] = field(default_factory=list)
    timezone: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class ImportReport:
    lists: int  # lists created
    tasks: int  # tasks created
    reminders: int  # of those, with a reminder planned
    skipped: int  # tasks an earlier import already created

    def summary(self) -> str:
        return (
            f"{self.tasks} tasks in {self.lists} new lists, {self.reminders} reminders; "
            f"{self.skipped} already imported"
        )


# --- Parsing (pure; runs in a worker thread) -----------------------------------------------


def _rejected(exc: InvalidInput, field: str, row: int) -> ImportRejected:
    return ImportRejected(str(exc), field, row)


def _time_value(value: Any, field: str, row: int) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ImportRejected("Expected an RFC 3339 time or null", field, row)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return clean_time(field, parsed)
    except ValueError:
        raise ImportRejected("Not an RFC 3339 time", field, row) from None
    except InvalidInput as exc:
        raise _rejected(exc, field, row) from None


def _text(item: dict[str, Any], name: str, row: int, *, required: bool = False) -> str | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ImportRejected("Expected a string", name, row)
    return value


def parse_export(raw: bytes) -> ImportPlan:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ImportRejected("The body is not valid JSON", "body") from None
    if not isinstance(document, dict):
        raise ImportRejected("Expected a JSON object (an export)", "body")
    if document.get("schema_version") != 1:
        raise ImportRejected("Unsupported schema_version (this server reads 1)", "schema_version")
    lists, tasks = document.get("lists", []), document.get("tasks", [])
    if not isinstance(lists, list) or not isinstance(tasks, list):
        raise ImportRejected("lists and tasks must be arrays", "lists" if not isinstance(
            lists, list) else "tasks")  # fmt: skip
    if len(lists) > MAX_LISTS + len(BUILTIN_KEYS):
        raise ImportRejected(f"At most {MAX_LISTS} lists per import", "lists")
    if len(tasks) > MAX_TASKS:
        raise ImportRejected(f"At most {MAX_TASKS} tasks per import", "tasks")
    plan = ImportPlan()
    preferences = document.get("preferences") or {}
    if isinstance(preferences, dict):
        zone = preferences.get("timezone")
        plan.timezone = zone if isinstance(zone, str) and get_zone(zone) is not None else None
        language = preferences.get("language")
        plan.language = language if language in ("en", "ru") else None
    seen: set[str] = set()
    for row, item in enumerate(lists, 1):
        if not isinstance(item, dict):
            raise ImportRejected("Expected an object", "lists", row)
        source = _text(item, "id", row, required=True)
        assert source is not None
        key = item.get("key")
        if key is not None:
            if key not in BUILTIN_KEYS:
                raise ImportRejected("Not a built-in list key", "key", row)
            plan.lists.append(ListItem(source, key, None))
        else:
            name = _text(item, "name", row, required=True)
            assert name is not None
            try:
                plan.lists.append(ListItem(source, None, clean_list_name(name)))
            except InvalidInput as exc:
                raise ImportRejected(str(exc), "name", row) from None
        seen.add(source)
    for row, item in enumerate(tasks, 1):
        if not isinstance(item, dict):
            raise ImportRejected("Expected an object", "tasks", row)
        source = _text(item, "id", row, required=True)
        list_id = _text(item, "list_id", row)
        if list_id is not None and list_id not in seen:
            raise ImportRejected("No list with this id in the file", "list_id", row)
        title, notes = item.get("title"), item.get("notes")
        try:
            if not isinstance(title, str):
                raise InvalidInput("title", "Expected a string")
            clean_title_ = clean_title(title)
            notes_ = clean_notes(notes if isinstance(notes, str) else None)
            repeat_value = _text(item, "repeat", row)
            repeat = clean_repeat(repeat_value)
        except InvalidInput as exc:
            raise _rejected(exc, exc.field, row) from None
        done = item.get("done", False)
        if not isinstance(done, bool):
            raise ImportRejected("Expected true or false", "done", row)
        assert source is not None
        plan.tasks.append(
            TaskItem(
                source_id=source,
                list_source=list_id,
                title=clean_title_,
                notes=notes_,
                done=done,
                due=_time_value(item.get("due"), "due", row),
                remind_at=_time_value(item.get("remind_at"), "remind_at", row),
                repeat=repeat,
            )
        )
    return plan


# Todoist's CSV template (docs/import.md): the columns read; others are ignored.
TODOIST_REQUIRED = ("TYPE", "CONTENT")
TODOIST_TYPES = ("task", "section", "note", "")


def _todoist_date(text: str, zone: ZoneInfo, row: int) -> tuple[datetime | None, bool]:
    """A DATE cell: an ISO date (due that day, all day) or date and time (due then, and
    reminded then). (moment, has_time); other phrases are refused by row and field."""
    value = text.strip()
    if not value:
        return None, False
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").date()
            return datetime.combine(day, time(0, 0), zone), False
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ImportRejected(
            "DATE must be YYYY-MM-DD or YYYY-MM-DD HH:MM (see docs/import.md)", "DATE", row
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment, True


def parse_todoist(raw: bytes, default_zone: ZoneInfo) -> ImportPlan:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected("The CSV is not UTF-8", "body") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [name for name in TODOIST_REQUIRED if name not in header]
    if missing:
        raise ImportRejected(f"Missing column {missing[0]}", missing[0], 1)
    plan = ImportPlan()
    section: ListItem | None = None
    sections: dict[str, ListItem] = {}
    digests: Counter[str] = Counter()
    last: TaskItem | None = None
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise ImportRejected(f"Not a CSV file: {exc}", "body") from None
    if len(rows) > MAX_TASKS:
        raise ImportRejected(f"At most {MAX_TASKS} rows per import", "body")
    for index, cells in enumerate(rows):
        row = index + 2  # line 1 is the header
        kind = (cells.get("TYPE") or "").strip().lower()
        content = (cells.get("CONTENT") or "").strip()
        if kind not in TODOIST_TYPES:
            raise ImportRejected("TYPE must be task, section or note", "TYPE", row)
        if kind == "":
            continue  # Todoist's blank separator rows
        if kind == "section":
            name = _clean_name(content, row)
            normalized = normalize_list_name(name)
            section = sections.get(normalized)
            if section is None:
                section = ListItem(f"section:{normalized}", None, name)
                sections[normalized] = section
                plan.lists.append(section)
                if len(plan.lists) > MAX_LISTS:
                    raise ImportRejected(f"At most {MAX_LISTS} sections", "TYPE", row)
            continue
        if kind == "note":
            if last is None:
                raise ImportRejected("A note must follow a task", "TYPE", row)
            try:
                notes = clean_notes(f"{last.notes}\n{content}".strip())
            except InvalidInput as exc:
                raise ImportRejected(str(exc), "CONTENT", row) from None
            plan.tasks[-1] = last = _replace_notes(last, notes)
            continue
        zone_name = (cells.get("TIMEZONE") or "").strip()
        zone = get_zone(zone_name) if zone_name else default_zone
        if zone is None:
            raise ImportRejected("Not an IANA time zone", "TIMEZONE", row)
        try:
            title = clean_title(content)
            description = clean_notes(cells.get("DESCRIPTION"))
        except InvalidInput as exc:
            raise ImportRejected(str(exc), "CONTENT" if exc.field == "title" else "DESCRIPTION",
                                 row) from None  # fmt: skip
        try:
            moment, has_time = _todoist_date(cells.get("DATE") or "", zone, row)
            due = clean_time("due", moment)
        except InvalidInput as exc:
            raise ImportRejected(str(exc), "DATE", row) from None
        # The same row twice in a file is two tasks: the digest counts its repeats.
        base = "\x1f".join([section.source_id if section else "", title, description,
                            cells.get("DATE") or ""])  # fmt: skip
        digests[base] += 1
        digest = hashlib.sha256(f"{base}\x1f{digests[base]}".encode()).hexdigest()[:32]
        last = TaskItem(
            source_id=digest,
            list_source=section.source_id if section else None,
            title=title,
            notes=description,
            done=False,
            due=due,
            remind_at=due if has_time else None,
            repeat=None,
        )
        plan.tasks.append(last)
    return plan


def _clean_name(name: str, row: int) -> str:
    try:
        return clean_list_name(name)
    except InvalidInput as exc:
        raise ImportRejected(str(exc), "CONTENT", row) from None


def _replace_notes(item: TaskItem, notes: str) -> TaskItem:
    return TaskItem(item.source_id, item.list_source, item.title, notes, item.done, item.due,
                    item.remind_at, item.repeat)  # fmt: skip


# --- Applying ------------------------------------------------------------------------------


class Importer:
    def __init__(
        self,
        lists: Lists,
        tasks: Tasks,
        set_profile: Callable[..., Any],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._lists = lists
        self._tasks = tasks
        # Profiles.update (time zone, language): given by the composition root.
        self._set_profile = set_profile
        self._clock = clock

    async def run(self, user_id: PydanticObjectId, fmt: str, raw: bytes) -> ImportReport:
        if fmt not in FORMATS:
            raise ImportRejected("format must be export or todoist", "format")
        uid = await self._lists.ensure_builtins(user_id)
        user = await User.get_pymongo_collection().find_one(
            {"_id": user_id}, {"timezone": 1, "language": 1}
        )
        zone, _ = zone_for(User.model_validate(user) if user else None)
        if fmt == "export":
            plan = await asyncio.to_thread(parse_export, raw)
        else:
            plan = await asyncio.to_thread(parse_todoist, raw, zone)
        # Preferences the account has not set yet come from the file (a fresh account
        # after a move); a user's own choices are never overwritten by an import.
        if user is not None and not user.get("timezone") and plan.timezone:
            await self._set_profile(user_id, timezone=plan.timezone)
            zone = ZoneInfo(plan.timezone)
        if user is not None and not user.get("language") and plan.language:
            await self._set_profile(user_id, language=plan.language)
        targets = await self._list_targets(uid, plan.lists)
        keys_collection = ImportKey.get_pymongo_collection()
        done_keys = {
            str(doc["_id"]) async for doc in keys_collection.find(eq(user_id=uid), {"_id": 1})
        }
        created = reminders = skipped = 0
        now = self._clock()
        for item in plan.tasks:
            key = f"{uid}:{fmt}:{item.source_id}"
            if key in done_keys:
                skipped += 1
                continue
            remind_at = self._reminder(item, now, zone)
            list_ref = targets.get(item.list_source, "inbox") if item.list_source else "inbox"
            # A done task is created without its reminder and then completed with it in
            # one change, so the planner never sees it pending (nothing is sent for it).
            task = await self._tasks.create(
                uid,
                TaskDraft(
                    title=item.title,
                    notes=item.notes,
                    list_ref=list_ref,
                    due=item.due,
                    remind_at=None if item.done else remind_at,
                    repeat=item.repeat,
                ),
                paced=False,  # one request, bounded by its size and the count quotas
            )
            assert task.id is not None
            if item.done:  # completed in the file: done for good, even a repeating one
                await self._tasks.update(
                    uid, task.id, TaskChanges(done=True, remind_at=remind_at), for_good=True
                )
            elif remind_at is not None:
                reminders += 1
            # A concurrent import of the same file may have got there first.
            with contextlib.suppress(DuplicateKeyError):
                await keys_collection.insert_one(
                    {"_id": key, "user_id": uid, "task_id": str(task.id)}
                )
            done_keys.add(key)
            created += 1
        return ImportReport(
            lists=targets.created, tasks=created, reminders=reminders, skipped=skipped
        )

    def _reminder(self, item: TaskItem, now: datetime, zone: ZoneInfo) -> datetime | None:
        """The reminder to plan: a past one-off reminder of an open task is dropped (it would
        fire the moment it is imported); a past repeat moves to its next occurrence, as the
        reminder engine would have moved it."""
        if item.remind_at is None or item.done or item.remind_at > now:
            return item.remind_at
        if item.repeat is None:
            return None
        try:
            return next_occurrence(item.repeat, item.remind_at, now, zone)
        except RuleError:
            return None

    async def _list_targets(self, uid: str, items: list[ListItem]) -> _Targets:
        """Each list of the file → a list id here: built-ins by key, others by name (case-
        insensitively; created when missing, so a second import reuses them)."""
        targets = _Targets()
        existing = {
            (t.key or normalize_list_name(t.name or "")): str(t.id)
            for t in await self._lists.all(uid)
        }
        for item in items:
            if item.key is not None:
                targets[item.source_id] = item.key
                continue
            assert item.name is not None
            normalized = normalize_list_name(item.name)
            if normalized in RESERVED_NAMES:
                # "Inbox" from another app is our Inbox (a list of one's own may not be
                # called like a built-in).
                targets[item.source_id] = _builtin_named(normalized)
                continue
            if normalized not in existing:
                view = await self._lists.create(uid, item.name)
                existing[normalized] = view.id
                targets.created += 1
            targets[item.source_id] = existing[normalized]
        return targets


class _Targets(dict[str, str]):
    created: int = 0


def _builtin_named(normalized: str) -> str:
    for key, names in BUILTIN_NAMES.items():
        if normalized in {normalize_list_name(n) for n in (key, *names.values())}:
            return key
    return "inbox"
