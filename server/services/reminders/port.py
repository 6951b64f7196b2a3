"""The seam between tasks and reminders: the tasks service tells the reminder planner what a
task's reminder should now be after every change; the planner owns delivery. Keeping it a
Protocol lets either side change without the other (and lets tests plan without sending)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

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
