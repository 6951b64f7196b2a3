"""Change notifications of shared lists: "Olya added «milk» and 9 more to «Groceries»".

A change to a shared list's task (added, done, edited, deleted, moved out) by one member is
recorded for every other person who sees the list (the owner included) and turned the
notifications on (`User.notify_changes`, off by default; one switch per user: see
docs/sharing.md). Never for the actor themself.

Batched through MongoDB, never in memory (any process may record, any may send): one
`ChangeBatch` per (recipient, list, actor), counting each kind of change and keeping its first
title, due `window` after its first change. A loop in every process claims due batches
atomically (`find_one_and_update` with a claim token and a lease, like reminders), sends ONE
message per batch and deletes it as the claim holder. So:

- of two processes one sends a batch; a process that dies holding a claim loses it when the
  lease lapses and another sends it (at-least-once only in the window between Telegram's
  answer and the delete, as for reminders);
- changes that arrive while their batch is being sent are not lost: the delete matches the
  count the claim saw; otherwise the batch keeps what arrived since and is due again;
- Telegram's limits are the reminders' (the shared budget, one message per chat per
  interval, the 429 gate: server/services/reminders/claims.py); quiet hours move a batch to
  their end (it goes on collecting); a chat that blocked the bot drops it;
- the idle loop sleeps until the earliest batch is due: one indexed look-up a wake, whatever
  the number of batches.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from models import ListMember, Task, TaskList, User
from models.change_batch import KINDS, ChangeBatch
from models.clock import from_ms
from server.services.accounts.account_data import Holdings
from server.services.common.idle import StepFailures, sleep_or_work
from server.services.common.mongo import eq
from server.services.reminders import store as reminder_store
from server.services.reminders.claims import ReminderClaims
from server.services.reminders.clock import Clock, SystemClock
from server.services.reminders.delivery import ChatUnreachable, RetryLater, SendFailed
from server.services.reminders.preferences import quiet_end_ms
from server.services.sharing.access import role_of
from server.services.sharing.service import display_name
from server.services.tasks.lists import object_id

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # failed sends of one batch before it is dropped
FINISH_ATTEMPTS = 5
KEEP_FOR = timedelta(days=2)  # a batch nobody could send is purged by TTL after this
TITLE_MAX = 100  # characters of a title kept (a message shows one title per kind)


@dataclass(frozen=True, slots=True)
class NoticeSettings:
    window: float = 60.0  # seconds from a batch's first change to its message
    lease: float = 30.0  # seconds a claim holds
    # The longest an idle process sleeps: it sleeps until the earliest batch is due, or a
    # batch made in this process; this bound covers batches made by other processes.
    poll: float = 5.0


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # one of KINDS
    count: int
    title: str  # the first one's


@dataclass(frozen=True, slots=True)
class DueNotice:
    """One message: `actor` changed these tasks of `list_name`."""

    chat_id: int
    actor: str  # the actor's name
    list_name: str
    changes: list[Change]
    language: str | None
    language_code: str | None


class NoticeSender(Protocol):
    async def send(self, notice: DueNotice) -> None:
        """Send it; raise RetryLater, ChatUnreachable or SendFailed when that fails."""


def batch_key(recipient: str, list_id: str, actor: str) -> str:
    return f"{recipient}:{list_id}:{actor}"


def changes_of(doc: dict[str, Any]) -> list[Change]:
    return [
        Change(kind, int(doc.get(f"n_{kind}", 0)), str(doc.get(f"t_{kind}") or ""))
        for kind in KINDS
        if int(doc.get(f"n_{kind}", 0)) > 0
    ]


class ChangeNotices:
    """Records changes (the tasks service's observer) and sends the batches (`run`)."""

    def __init__(
        self,
        claims: ReminderClaims,
        settings: NoticeSettings | None = None,
        clock: Clock | None = None,
        members_per_list: int = 20,
    ) -> None:
        self.settings = settings or NoticeSettings()
        self.clock: Clock = clock or SystemClock()
        # Telegram's limits, shared with the reminders (one bot, one budget).
        self.claims = claims
        self.members_per_list = members_per_list
        self._work = asyncio.Event()
        self._wake_ms = 0  # when the idle loop looks again: a batch due sooner wakes it
        self.sent = 0  # this process's messages, for tests and logs

    # ------------------------------------------------------------------ recording

    async def changed(self, actor: str, kind: str, task: Task, list_id: str) -> None:
        """`actor` made a change of `kind` to `task` in the list `list_id` (for a move out:
        the list it left). Costs one indexed query for a list nobody else sees."""
        recipients = await self.recipients(task.user_id, list_id, actor)
        title = task.title[:TITLE_MAX]
        for recipient in recipients:
            await self._record(recipient, list_id, actor, kind, title)

    async def recipients(self, owner: str, list_id: str, actor: str) -> list[str]:
        """Who sees the list besides `actor` and turned change notifications on."""
        rows = (
            ListMember.get_pymongo_collection()
            .find(eq(list_id=list_id), {"user_id": 1})
            .limit(self.members_per_list + 1)
        )
        members = [str(row["user_id"]) async for row in rows]
        if not members:
            return []  # not shared: nobody to tell
        others = [uid for uid in dict.fromkeys([owner, *members]) if uid != actor]
        ids = [oid for uid in others if (oid := object_id(uid)) is not None]
        if not ids:
            return []
        # `$in` on `_id` is a look-up by key on MongoDB and on the embedded server alike.
        opted = User.get_pymongo_collection().find(
            {"_id": {"$in": ids}, "notify_changes": {"$in": [True, 1]}}, {"_id": 1}
        )
        return [str(doc["_id"]) async for doc in opted]

    async def _record(
        self, recipient: str, list_id: str, actor: str, kind: str, title: str
    ) -> None:
        """Count the change into the recipient's open batch, or start one. The counts are
        `$inc`s, so concurrent changes in any process all count; the first title of each
        kind is set only by the change that finds its count at 0."""
        if kind not in KINDS:
            raise ValueError(kind)
        collection = ChangeBatch.get_pymongo_collection()
        key = batch_key(recipient, list_id, actor)
        count = {"$inc": {f"n_{kind}": 1, "total": 1}}
        for _ in range(3):
            done = await collection.update_one(
                {**eq(_id=key), f"n_{kind}": {"$gt": 0}},
                {**count, "$set": {f"l_{kind}": title}},
            )
            if done.matched_count:
                return
            done = await collection.update_one(
                {**eq(_id=key), f"n_{kind}": {"$eq": 0}},
                {**count, "$set": {f"t_{kind}": title, f"l_{kind}": title}},
            )
            if done.matched_count:
                return
            now = self.clock.now_ms()
            due = now + int(self.settings.window * 1000)
            batch = {
                "_id": key, "recipient": recipient, "list_id": list_id, "actor": actor,
                "total": 1, **{f"n_{k}": int(k == kind) for k in KINDS},
                **{f"t_{k}": title if k == kind else None for k in KINDS},
                **{f"l_{k}": title if k == kind else None for k in KINDS},
                "first_ms": now, "due_ms": due, "lease_ms": 0, "claim": None, "attempts": 0,
                "expires_at": from_ms(now) + KEEP_FOR,
            }  # fmt: skip
            try:
                await collection.insert_one(batch)
            except DuplicateKeyError:
                continue  # another change started it meanwhile: count into it
            if due < self._wake_ms:
                self._work.set()
            return
        log.warning("change notice for %s not recorded: its batch kept changing", recipient)

    # Accounts (an AccountDataOwner): pending news is dropped, never moved.

    async def holdings(self, user_id: PydanticObjectId) -> Holdings:
        return Holdings()

    async def move_all(self, from_user_id: PydanticObjectId, to_user_id: PydanticObjectId) -> None:
        await self.erase_user(from_user_id)

    async def erase_user(self, user_id: PydanticObjectId) -> None:
        """Nothing is sent to the user any more, nor about their changes."""
        collection = ChangeBatch.get_pymongo_collection()
        await collection.delete_many(eq(recipient=str(user_id)))
        await collection.delete_many(eq(actor=str(user_id)))

    # ------------------------------------------------------------------ sending

    async def claim_due(self, now: int) -> dict[str, Any] | None:
        """Claim the earliest due batch whose lease has lapsed (atomic: of two processes one
        gets it), or None."""
        token = secrets.token_hex(8)
        doc: dict[str, Any] | None = await ChangeBatch.get_pymongo_collection().find_one_and_update(
            {"due_ms": {"$lte": now}, "lease_ms": {"$lt": now}},
            {
                "$set": {"lease_ms": now + int(self.settings.lease * 1000), "claim": token},
                "$inc": {"attempts": 1},
            },
            sort=[("due_ms", 1)],
            return_document=ReturnDocument.AFTER,
        )
        return doc

    async def next_due_ms(self, now: int) -> int | None:
        """When the earliest batch not yet due falls due: one look-up at the start of the
        `due` index."""
        cursor = (
            ChangeBatch.get_pymongo_collection()
            .find({"due_ms": {"$gt": now}}, {"due_ms": 1})
            .sort("due_ms", 1)
            .limit(1)
        )
        found = [doc async for doc in cursor]
        return int(found[0]["due_ms"]) if found else None

    async def deliver_one(self, sender: NoticeSender) -> bool:
        """Claim one due batch and send it; False when none is due."""
        now = self.clock.now_ms()
        gate = await self.claims.gate_ms()
        if gate > now:
            await self.clock.sleep((gate - now) / 1000)
            return True
        doc = await self.claim_due(now)
        if doc is None:
            return False
        await self._deliver(sender, doc)
        return True

    async def _deliver(self, sender: NoticeSender, doc: dict[str, Any]) -> None:
        collection = ChangeBatch.get_pymongo_collection()
        mine = eq(_id=doc["_id"], claim=doc["claim"])
        notice = await self._notice(doc)
        if notice is None:  # nobody to send it to any more (see _notice)
            await collection.delete_one(mine)
            return
        now = self.clock.now_ms()
        quiet = await self._quiet_until(doc["recipient"], now)
        if quiet is not None:  # after the quiet hours, with what has come in meanwhile
            await self._release(mine, quiet)
            return
        if not await self.claims.take_chat(notice.chat_id, now):
            await self._release(mine, now + int(self.claims.chat_interval_ms))
            return
        await self.claims.wait_for_slot()
        gate = await self.claims.gate_ms()
        if gate > self.clock.now_ms():
            await self._release(mine, gate)
            return
        try:
            await sender.send(notice)
        except RetryLater as exc:
            await self.claims.close_gate(exc.seconds)
            await self._release(mine, self.clock.now_ms() + int(exc.seconds * 1000))
            return
        except ChatUnreachable:
            # Change news is worth little later: dropped, not kept for an unblock.
            await collection.delete_one(mine)
            return
        except SendFailed as exc:
            give_up = exc.permanent or int(doc.get("attempts", 1)) >= MAX_ATTEMPTS
            log.warning("change notice %s not sent (%s)%s", doc["_id"], exc,
                        "; dropped" if give_up else "; will retry")  # fmt: skip
            if give_up:
                await collection.delete_one(mine)
            else:
                retry = self.clock.now_ms() + 1000 * 5 * 2 ** int(doc.get("attempts", 1))
                await self._release(mine, retry)
            return
        self.sent += 1
        await self._finish(doc)

    async def _release(self, mine: dict[str, Any], due_ms: int) -> None:
        """Let the batch go until `due_ms` (it goes on collecting changes meanwhile)."""
        await ChangeBatch.get_pymongo_collection().update_one(
            mine, {"$set": {"due_ms": due_ms, "lease_ms": 0, "claim": None}}
        )
        if due_ms < self._wake_ms or self._wake_ms == 0:
            self._work.set()

    async def _finish(self, sent: dict[str, Any]) -> None:
        """The message went out: delete the batch as the claim holder, if nothing arrived
        since the claim; else keep only what arrived (its counts, the last title of each
        kind) and make it due a window later."""
        collection = ChangeBatch.get_pymongo_collection()
        mine = eq(_id=sent["_id"], claim=sent["claim"])
        for _ in range(FINISH_ATTEMPTS):
            try:
                gone = await collection.delete_one({**mine, **eq(total=sent["total"])})
                if gone.deleted_count:
                    return
                now_doc = await collection.find_one(mine)
                if now_doc is None:
                    return  # the lease lapsed and another process took it over
                rest: dict[str, Any] = {"total": now_doc["total"] - sent["total"]}
                for kind in KINDS:
                    left = int(now_doc.get(f"n_{kind}", 0)) - int(sent.get(f"n_{kind}", 0))
                    rest[f"n_{kind}"] = left
                    rest[f"t_{kind}"] = now_doc.get(f"l_{kind}") if left > 0 else None
                    rest[f"l_{kind}"] = rest[f"t_{kind}"]
                now = self.clock.now_ms()
                rest |= {"first_ms": now, "due_ms": now + int(self.settings.window * 1000),
                         "lease_ms": 0, "claim": None, "attempts": 0}  # fmt: skip
                kept = await collection.update_one(
                    {**mine, **eq(total=now_doc["total"])}, {"$set": rest}
                )
                if kept.matched_count:
                    return
            except PyMongoError:
                log.warning("change notice %s: sent, finishing failed", sent["_id"])
                await self.clock.sleep(0.2)
        log.error("change notice %s sent but not recorded: may be sent again", sent["_id"])

    async def _notice(self, doc: dict[str, Any]) -> DueNotice | None:
        """The message of a batch; None when it can no longer be sent: the recipient has no
        Telegram chat, is deactivated, turned the notifications off or lost access to the
        list, or the list is gone."""
        users = User.get_pymongo_collection()
        fields = {"telegram_id": 1, "language": 1, "language_code": 1, "active": 1,
                  "notify_changes": 1}  # fmt: skip
        recipient = await users.find_one(eq(_id=object_id(doc["recipient"])), fields)
        if (
            recipient is None
            or not isinstance(recipient.get("telegram_id"), int)
            or not recipient.get("active", True)
            or not recipient.get("notify_changes")
        ):
            return None
        oid = object_id(doc["list_id"])
        found = await TaskList.get_pymongo_collection().find_one(eq(_id=oid)) if oid else None
        if found is None:
            return None
        task_list = TaskList.model_validate(found)
        if await role_of(doc["recipient"], task_list) is None:
            return None  # removed from the list (or left) since
        if await reminder_store.chat_blocked(recipient["telegram_id"]):
            return None  # blocked the bot: change news is not kept for an unblock
        actor = await users.find_one(
            eq(_id=object_id(doc["actor"])),
            {"first_name": 1, "last_name": 1, "username": 1, "telegram_username": 1},
        )
        changes = changes_of(doc)
        if not changes:
            return None
        return DueNotice(
            chat_id=int(recipient["telegram_id"]),
            actor=display_name(User.model_construct(**actor)) if actor is not None else "?",
            list_name=task_list.name or "",
            changes=changes,
            language=recipient.get("language"),
            language_code=recipient.get("language_code"),
        )

    async def _quiet_until(self, user_id: str, now_ms: int) -> int | None:
        window = await reminder_store.quiet_window(user_id)
        if window is None:
            return None
        user = await User.get_pymongo_collection().find_one(
            eq(_id=object_id(user_id)), {"timezone": 1}
        )
        try:
            zone = ZoneInfo(user["timezone"]) if user and user.get("timezone") else ZoneInfo("UTC")
        except (ValueError, KeyError):
            zone = ZoneInfo("UTC")
        return quiet_end_ms(*window, now_ms, zone)

    # ------------------------------------------------------------------ the loop

    async def run(self, sender: NoticeSender) -> None:
        """Send due batches until cancelled. One loop per process: change news is a trickle
        next to reminders, and every send waits for the shared budget anyway."""
        failures = StepFailures("change notices", self.clock)
        current = asyncio.current_task()
        while current is None or not current.cancelling():
            sent = await failures.attempt(lambda: self.deliver_one(sender))
            if sent is None:
                continue  # failed, after its pause
            if not sent:
                await self._idle_until_due()

    async def _idle_until_due(self) -> None:
        now = self.clock.now_ms()
        bound = now + int(self.settings.poll * 1000)
        self._wake_ms = bound  # set before the look-up: a batch made during it still wakes
        self._work.clear()
        following = await self.next_due_ms(now)
        wake = min(bound, following) if following is not None else bound
        self._wake_ms = wake
        try:
            await self._idle(max(0, wake - now) / 1000)
        finally:
            self._wake_ms = 0

    async def _idle(self, seconds: float) -> None:
        await sleep_or_work(self.clock, self._work, seconds)
