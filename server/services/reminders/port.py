"""The seam between tasks and reminders, both ways. The task's `remind_at` is the truth: the
tasks service tells the reminder planner what a task's reminder should now be after every
change (`ReminderPlanner`), and delivery reports what it did as events (`DeliveryEvents`:
sent, advanced to its next occurrence) that the tasks service subscribes to in the
composition root (server/bootstrap.py). Protocols, so either side can change without the
other (and tests can plan without sending, or deliver without tasks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeAlias

from beanie import PydanticObjectId


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    """What a task's reminder is after a change. `remind_at` is aware UTC; None (or a done
    task) means no reminder is pending."""

    task_id: PydanticObjectId
    user_id: PydanticObjectId
    title: str
    remind_at: datetime | None
    repeat: str | None  # an RFC 5545 RRULE, interpreted in the user's time zone
    done: bool
    # The task was just created: no reminder of it can exist yet (the planner may skip
    # looking for one, a database round trip per new task).
    created: bool = False


class ReminderPlanner(Protocol):
    async def plan(self, plan: ReminderPlan) -> None:
        """Make the task's pending reminder match `plan` (create, move or cancel it)."""

    async def forget_task(self, task_id: PydanticObjectId) -> None:
        """The task is gone: nothing of it may be sent any more."""

    async def forget_user(self, user_id: PydanticObjectId) -> None:
        """The user is gone (account deleted or merged away)."""


class NoReminders:
    """A planner that plans nothing: for a build without reminder delivery."""

    async def plan(self, plan: ReminderPlan) -> None:
        return None

    async def forget_task(self, task_id: PydanticObjectId) -> None:
        return None

    async def forget_user(self, user_id: PydanticObjectId) -> None:
        return None


# ---------------------------------------------------------------- what delivery reports


@dataclass(frozen=True, slots=True)
class Sent:
    """The task's reminder went out for the occurrence `occurrence` (`late`: after an outage,
    more than the late threshold after its time). Nothing more is planned for it unless the
    task repeats (then an `Advanced` follows)."""

    task_id: PydanticObjectId
    occurrence: datetime
    late: bool


@dataclass(frozen=True, slots=True)
class Advanced:
    """A repeating task's reminder was re-armed at its next occurrence `to` (aware UTC): the
    task's `remind_at` must show it."""

    task_id: PydanticObjectId
    to: datetime


DeliveryEvent: TypeAlias = Sent | Advanced


class DeliveryEvents(Protocol):
    """Who hears what delivery did (the tasks service; server/bootstrap.py passes it to the
    delivery loop at construction). A subscriber's failure is logged, not raised: the send
    stands."""

    async def reminder_delivered(self, event: DeliveryEvent) -> None: ...
