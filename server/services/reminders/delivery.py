"""Reminder delivery shared by any number of processes on one MongoDB: the loop that claims a
due reminder, sends it and records the send (re-arming a repeat), then reports what it did
to the tasks service as events (port.py: Sent, Advanced). It reads the reminder documents
that planning (planning.py) and the digest (preferences.py) write, and never plans.

Each task has at most one reminder document (`_id` = the task's id). A process sends one by
claiming it atomically (`find_one_and_update` on pending + due + lease lapsed, setting a
claim token and a lease), sending, then recording the send with an update that matches its
claim token. So:

- an occurrence is sent by one process and never before `due_ms` (every process's clock is
  assumed NTP-synchronised; the claim compares against the claiming process's clock);
- a process that dies holding a claim loses it when the lease lapses, and another sends it.
  The one window where a reminder can be sent twice is between Telegram's answer to
  sendMessage and the recording update (one database round trip, milliseconds): a crash
  exactly there, or a database that stays unreachable for the whole lease after the send,
  makes the next claimant send again. Telegram offers no idempotency key for sendMessage,
  so that at-least-once window cannot be closed, only kept this small;
- a database outage only delays: due reminders stay due and are sent once after recovery,
  marked late when they go out more than `late_after` after their time;
- a repeating reminder is re-armed at its next occurrence in the user's zone by the same
  update that records the send.

Sending respects Telegram's limits across processes through MongoDB: a global budget of
`send_rate` messages per second and one message per `chat_interval` per chat, both as
one-message time slots reserved with `$inc` counters (the rate-counter collection), and a
shared gate that a 429 `retry_after` closes for everyone. The claim, the writes as its
holder and those shared limits are server/services/reminders/claims.py; whether a chat takes
messages at all is reachability.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId

from models import User
from models.reminder import CANCELLED, PENDING, SENT
from server.services.common.idle import StepFailures, sleep_or_work
from server.services.dates.occurrences import RuleError, next_occurrence
from server.services.dates.rrule import DEFAULT_MIN_GAP
from server.services.reminders.claims import Claim, ReminderClaims
from server.services.reminders.clock import Clock, SystemClock, Wakeup, from_ms, to_ms
from server.services.reminders.port import Advanced, DeliveryEvent, DeliveryEvents, Sent
from server.services.reminders.preferences import ReminderPreferences
from server.services.reminders.reachability import ChatReachability

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # transient failures of one occurrence before it is given up
DEACTIVATED_RECHECK_MS = 600_000  # how often a deactivated user's due reminder is looked at


# ---------------------------------------------------------------- what a sender reports


class RetryLater(Exception):
    """Telegram's 429: nobody may send for `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class ChatUnreachable(Exception):
    """403: the user blocked the bot (or deleted their account)."""


class ChatMoved(Exception):
    """400 with `migrate_to_chat_id`: the group became a supergroup, with this new id."""

    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"the chat is now {new_chat_id}")
        self.new_chat_id = new_chat_id


class SendFailed(Exception):
    """Anything else; `permanent` (a 400) gives the occurrence up, else it is retried."""

    def __init__(self, detail: str, permanent: bool = False) -> None:
        super().__init__(detail)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class DueReminder:
    task_id: PydanticObjectId
    user_id: PydanticObjectId
    chat_id: int
    title: str
    due: datetime  # aware UTC
    late: bool
    repeat: str | None
    zone: ZoneInfo
    language: str | None  # the user's choice
    language_code: str | None  # what Telegram last said
    kind: str = "task"  # "digest": the morning digest of Today (task_id is the user's id)


class Sender(Protocol):
    async def send(self, reminder: DueReminder) -> None:
        """Send it; raise RetryLater, ChatUnreachable or SendFailed when that fails."""


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    send_rate: int = 25  # messages per second, all processes together
    chat_interval: float = 1.0  # seconds between two messages to one chat
    lease: float = 30.0  # seconds a claim holds
    workers: int = 8  # sends in flight per process
    # The longest an idle process sleeps: it sleeps until the earliest pending reminder is
    # due (one indexed look-up), or until a reminder is planned in this process; this bound
    # covers reminders planned by other processes and claims lapsing.
    poll: float = 1.0
    late_after: float = 60.0  # a send this long after its time is marked late
    repeat_min_gap: int = DEFAULT_MIN_GAP  # seconds; a stored rule closer than this stops


class GroupChats(Protocol):
    """Where a group's list sends its tasks' reminders (server/services/sharing/groups.py):
    asked at send time, so a task moved between lists or a group that changed its id needs
    no re-planning."""

    async def chat_for_task(self, task_id: PydanticObjectId) -> int | None:
        """The group chat of the task's list, while the bot is in it; else None."""

    async def chat_moved(self, old_chat_id: int, new_chat_id: int) -> None: ...

    async def chat_gone(self, chat_id: int) -> None: ...


class ReminderDelivery:
    """The delivery loop of one process (`run`), and what the bot tells it about chats."""

    def __init__(
        self,
        settings: DeliverySettings | None = None,
        clock: Clock | None = None,
        *,
        events: DeliveryEvents | None = None,
        groups: GroupChats | None = None,
        prefs: ReminderPreferences | None = None,
        wakeup: Wakeup | None = None,
        claims: ReminderClaims | None = None,
    ) -> None:
        self.settings = settings or DeliverySettings()
        self.clock: Clock = clock or SystemClock()
        # Who may send what and when, across processes: built from these settings unless given.
        self.claims = claims or ReminderClaims(
            self.clock, self.settings.lease, self.settings.send_rate, self.settings.chat_interval
        )
        # Told what was sent and where a repeat moved on (the tasks service: the task shows
        # its next occurrence). None: nobody listens.
        self.events = events
        # A group's list: its reminders go to the group (None: never).
        self.groups = groups
        self.prefs = prefs or ReminderPreferences(self.clock)  # quiet hours
        # Shared with planning (a plan due sooner wakes the idle loop) and reachability.
        self._wakeup = wakeup or Wakeup()
        self.chats = ChatReachability(self.clock, self._wakeup)
        self.sent = 0  # this process's sends, for logs and benchmarks

    # ------------------------------------------------------------------ chats (the bot)

    async def chat_blocked(self, chat_id: int, user_id: PydanticObjectId | None = None) -> None:
        await self.chats.chat_blocked(chat_id, user_id)

    async def chat_back(self, chat_id: int, *, unblocked: bool = False) -> bool:
        return await self.chats.chat_back(chat_id, unblocked=unblocked)

    # ------------------------------------------------------------------ the loop

    async def run(self, sender: Sender) -> None:
        """The delivery loop: `workers` sends in flight; runs until cancelled."""
        workers = [
            asyncio.create_task(self._worker(sender, i), name=f"reminders-{i}")
            for i in range(self.settings.workers)
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            # Cancelled once only: a cancelled gather has already cancelled every worker,
            # and a second cancel while a worker waits inside the driver (PyMongo's wait_for
            # around a Condition, on Python 3.11) can orphan the driver's inner wait, which
            # then holds its lock for good and hangs the loop's shutdown.
            for worker in workers:
                if not worker.done() and not worker.cancelling():
                    worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(self, sender: Sender, index: int) -> None:
        failures = StepFailures("reminders", self.clock)
        # Only worker 0 probes an absent database; the others wait until it delivers again
        # (fewer operations queued in the driver meanwhile).
        away = None if index == 0 else self._wait_for_delivery
        current = asyncio.current_task()
        while current is None or not current.cancelling():
            sent = await failures.attempt(lambda: self.deliver_one(sender), database_away=away)
            if sent is None:
                continue
            if sent:
                self._wakeup.work.set()  # there may be more: wake the others
                continue
            if index == 0:
                await self._idle_until_due()
            else:  # the others sleep until worker 0 finds work
                self._wakeup.work.clear()
                await self._idle(self.settings.poll * 5)

    async def _wait_for_delivery(self) -> None:
        self._wakeup.work.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                await self._wakeup.work.wait()

    async def _idle_until_due(self) -> None:
        """Sleep until the earliest pending reminder is due (or one this process let go is
        released), at most `poll`, woken at once by a plan due sooner. Idle, a process makes
        one indexed look-up per wake, whatever the number of reminders scheduled."""
        now = self.clock.now_ms()
        bound = now + int(self.settings.poll * 1000)
        # Set before the look-up, so that a plan landing during it still wakes this sleep.
        self._wakeup.sleeping_until = bound
        self._wakeup.work.clear()
        wake = bound
        following = await self.claims.next_due_ms(now)
        if following is not None:
            wake = min(wake, following)
        released = self.claims.released_until
        if released is not None and released < now:
            self.claims.released_until = None  # lapsed: the claim query above saw it
        elif released is not None:
            wake = min(wake, released + 1)  # claimable once its lease is in the past
        self._wakeup.sleeping_until = wake
        try:
            await self._idle(max(0, wake - now) / 1000)
        finally:
            self._wakeup.sleeping_until = 0

    async def _idle(self, seconds: float) -> None:
        await sleep_or_work(self.clock, self._wakeup.work, seconds)

    async def deliver_one(self, sender: Sender) -> bool:
        """Claim one due reminder and send it. False when none was due (or sending is
        paused). Database errors propagate; a claim left behind lapses with its lease."""
        now = self.clock.now_ms()
        gate = await self.claims.gate_ms()
        if gate > now:
            await self.clock.sleep((gate - now) / 1000)
            return True
        claim = await self.claims.claim_due(now)
        if claim is None:
            return False
        await self._deliver_claimed(sender, claim)
        return True

    async def _deliver_claimed(self, sender: Sender, claim: Claim) -> None:
        doc, claims = claim.doc, self.claims
        found = await User.get_pymongo_collection().find_one(
            {"_id": PydanticObjectId(doc["user_id"])},
            {"telegram_id": 1, "timezone": 1, "language": 1, "language_code": 1, "active": 1},
        )
        user = _Recipient.of(found)
        group = (
            await self.groups.chat_for_task(doc["_id"])
            if self.groups is not None and doc.get("kind", "task") == "task"
            else None
        )
        if group is not None:  # to the group, in the words of whoever set it (if known)
            user = _Recipient.in_group(group, user)
        if user is None:
            # Nowhere to send it (an API-only user): give this occurrence up.
            await claims.update(claim, {"$set": {"state": CANCELLED, "claim": None}})
            return
        now = self.clock.now_ms()
        if not user.active:
            # A deactivated account gets nothing; its reminders wait (looked at again every
            # DEACTIVATED_RECHECK) and go out, marked late, if an admin reactivates it.
            await claims.update(
                claim, {"$set": {"lease_ms": now + DEACTIVATED_RECHECK_MS, "claim": None}}
            )
            return
        quiet_end = await self.prefs.quiet_until(doc["user_id"], now, user.zone)
        if quiet_end is not None:  # the user's quiet hours: wait until they end
            await claims.update(
                claim, {"$set": {"lease_ms": quiet_end, "claim": None, "quiet_end_ms": quiet_end}}
            )
            return
        if not await claims.take_chat(user.telegram_id, now):
            # This chat had a message less than `chat_interval` ago: come back after it.
            retry = now + int(self.settings.chat_interval * 1000)
            await claims.update(claim, {"$set": {"lease_ms": retry, "claim": None}})
            return
        await claims.wait_for_slot()
        gate = await claims.gate_ms()
        if gate > self.clock.now_ms():  # a 429 arrived meanwhile: not now
            await claims.update(claim, {"$set": {"lease_ms": gate, "claim": None}})
            return
        send_ms = self.clock.now_ms()
        # Held back by quiet hours is not late; missed through an outage is.
        late = send_ms - max(doc["due_ms"], int(doc.get("quiet_end_ms") or 0)) > (
            self.settings.late_after * 1000
        )
        zone = user.zone
        due = DueReminder(
            task_id=doc["_id"], user_id=PydanticObjectId(doc["user_id"]), chat_id=user.telegram_id,
            title=doc["title"], due=from_ms(doc["due_ms"]), late=late, repeat=doc.get("repeat"),
            zone=zone, language=user.language, language_code=user.language_code,
            kind=doc.get("kind", "task"),
        )  # fmt: skip
        try:
            await sender.send(due)
        except RetryLater as exc:
            await claims.close_gate(exc.seconds)
            await claims.update(
                claim, {"$set": {"lease_ms": 0, "claim": None}, "$inc": {"attempts": -1}},
            )  # fmt: skip
            log.warning("reminders: Telegram asked to wait %.1f s; all sending paused", exc.seconds)
            return
        except ChatUnreachable:
            await claims.update(claim, {"$set": {"lease_ms": 0, "claim": None}})
            if group is not None and self.groups is not None:
                # Out of the group: the list stops sending there; this one goes to the
                # person on the next try (not a block of the person's own chat).
                await self.groups.chat_gone(group)
                return
            await self.chat_blocked(user.telegram_id, PydanticObjectId(doc["user_id"]))
            return
        except ChatMoved as exc:
            # The group became a supergroup: its list follows, and this one is sent again at
            # once, counted as an attempt (a list that cannot follow must not loop forever).
            if group is not None and self.groups is not None:
                await self.groups.chat_moved(group, exc.new_chat_id)
            give_up = doc.get("attempts", 1) >= MAX_ATTEMPTS
            state = {"state": CANCELLED} if give_up else {"lease_ms": 0}
            await claims.update(claim, {"$set": {**state, "claim": None}})
            return
        except SendFailed as exc:
            give_up = exc.permanent or doc.get("attempts", 1) >= MAX_ATTEMPTS
            retry_at = self.clock.now_ms() + 1000 * min(600, 5 * 2 ** doc.get("attempts", 1))
            log.warning("reminder %s not sent (%s)%s", doc["_id"], exc,
                        "; given up" if give_up else "; will retry")  # fmt: skip
            if give_up:
                await claims.update(claim, {"$set": {"state": CANCELLED, "claim": None}})
            else:
                await claims.update(claim, {"$set": {"lease_ms": retry_at, "claim": None}})
            return
        self.sent += 1
        await self._record_sent(claim, send_ms, late, zone)

    async def _record_sent(self, claim: Claim, send_ms: int, late: bool, zone: ZoneInfo) -> None:
        """Record the send (and re-arm a repeat) as the claim holder (ReminderClaims.record:
        retried until the lease lapses), then report it: Sent, and Advanced when a repeat
        moved on (the tasks service sets the task's `remind_at` to it)."""
        doc = claim.doc
        following: datetime | None = None
        if doc.get("repeat"):
            occurrence = from_ms(doc["occurrence_ms"])
            after = max(from_ms(send_ms), occurrence)  # missed occurrences are not replayed
            # Bounded whatever the stored rule and however old the occurrence (a reminder
            # dated 1900 used to walk every occurrence since, on the loop, again after each
            # restart: issue 22): next_occurrence restarts the rule just before `after` and
            # gives up (None: the repeat ends) past its candidate budget. A rule stored before
            # the smallest-gap check (every second) is refused here, not sent on.
            try:
                following = next_occurrence(
                    doc["repeat"], occurrence, after, zone, min_gap=self.settings.repeat_min_gap
                )
            except RuleError as exc:
                log.warning("reminder %s: repeat %r refused (%s); it ends here",
                            doc["_id"], doc["repeat"], exc)  # fmt: skip
        record: dict[str, Any] = {
            "claim": None, "lease_ms": 0, "sent_ms": send_ms, "quiet_end_ms": 0,
            "sent_occurrence_ms": doc["due_ms"], "late": int(late),
        }  # fmt: skip
        if following is not None:
            ms = to_ms(following)
            record |= {"state": PENDING, "due_ms": ms, "occurrence_ms": ms, "attempts": 0}
        else:
            record["state"] = SENT
        if not await self.claims.record(claim, record):
            return
        if doc.get("kind") == "digest":
            return  # no task to tell
        await self._report(Sent(doc["_id"], from_ms(doc["occurrence_ms"]), late))
        if following is not None:
            await self._report(Advanced(doc["_id"], following))

    async def _report(self, event: DeliveryEvent) -> None:
        """Tell the subscriber; the send stands whatever it answers."""
        if self.events is None:
            return
        try:
            await self.events.reminder_delivered(event)
        except Exception:
            log.warning("reminder %s: could not report %s", event.task_id,
                        type(event).__name__, exc_info=True)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Recipient:
    telegram_id: int
    zone: ZoneInfo
    language: str | None
    language_code: str | None
    active: bool

    @classmethod
    def of(cls, doc: dict[str, Any] | None) -> _Recipient | None:
        if doc is None or not isinstance(doc.get("telegram_id"), int):
            return None
        try:
            zone = ZoneInfo(doc["timezone"]) if doc.get("timezone") else ZoneInfo("UTC")
        except (ValueError, KeyError):
            zone = ZoneInfo("UTC")
        # `active` absent: an account from before deactivation existed; 0/1: the embedded
        # server's booleans after `$set`.
        active = bool(doc.get("active", True))
        return cls(doc["telegram_id"], zone, doc.get("language"), doc.get("language_code"), active)

    @classmethod
    def in_group(cls, chat_id: int, person: _Recipient | None) -> _Recipient:
        """A group's reminder: sent to the group, in the language and zone of whoever set
        it (English and UTC when they have no Telegram account)."""
        if person is None:
            return cls(chat_id, ZoneInfo("UTC"), None, None, True)
        return cls(chat_id, person.zone, person.language, person.language_code, person.active)
