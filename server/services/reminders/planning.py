"""Planning: a task's reminder made to match the task. The task's `remind_at` is the truth;
the tasks service tells the planner after every change (the ReminderPlanner of port.py), and
the planner writes the one reminder document of the task (through store.py). Delivery only
reports back (events.py) what it did with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId

from models import User
from models.reminder import PENDING, SENT
from server.services.reminders import store
from server.services.reminders.clock import Wakeup, to_ms
from server.services.reminders.port import ReminderPlan


class ReminderPlanning:
    """The ReminderPlanner of the tasks service."""

    def __init__(self, wakeup: Wakeup | None = None) -> None:
        # This process's delivery loop, woken when a plan is due before it would look.
        self._wakeup = wakeup or Wakeup()

    async def plan(self, plan: ReminderPlan) -> None:
        if plan.done or plan.remind_at is None:
            if not plan.created:  # a new task has nothing to cancel
                await store.cancel_pending(plan.task_id)
            return
        due = to_ms(plan.remind_at)
        current = None if plan.created else await store.current(plan.task_id)
        if (
            current is not None
            and current.get("repeat") == plan.repeat
            and (
                (current["state"] == PENDING and current["due_ms"] == due)
                or (current["state"] == SENT and current.get("sent_occurrence_ms") == due)
            )
        ):
            # The same occurrence (a title edit, or the tasks service echoing an advance
            # delivery reported): keep any claim, so an in-flight send is not taken over and
            # repeated.
            await store.set_title(plan.task_id, plan.title)
            return
        # A user who blocked the bot gets the reminder paused, not a refused send.
        blocked = await store.user_blocked(plan.user_id)
        fields = {
            "paused": int(blocked), "user_id": str(plan.user_id),
            "title": plan.title, "repeat": plan.repeat, "due_ms": due, "occurrence_ms": due,
            "state": PENDING, "claim": None, "lease_ms": 0, "attempts": 0,
        }  # fmt: skip
        await store.put(plan.task_id, fields, exists=current is not None)
        self._wakeup.due_at(due)

    async def forget_task(self, task_id: PydanticObjectId) -> None:
        await store.delete(task_id)

    async def forget_user(self, user_id: PydanticObjectId) -> None:
        await store.forget_user(user_id)


def zone_of(user: User | None) -> ZoneInfo:
    """The user's zone; UTC when unset or unknown."""
    try:
        return ZoneInfo(user.timezone) if user is not None and user.timezone else ZoneInfo("UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


SNOOZE_MINUTES = {"10m": 10, "1h": 60}


def snooze_target(kind: str, now: datetime, zone: ZoneInfo) -> datetime:
    """Where a Snooze button moves a reminder (the tasks service's `snooze` moves the task's
    `remind_at` there): 10 minutes or an hour from now, or tomorrow at 09:00 on the user's
    wall clock ("tomorrow" seen from their zone, across DST too)."""
    if kind in SNOOZE_MINUTES:
        return (now.astimezone(UTC) + timedelta(minutes=SNOOZE_MINUTES[kind])).replace(
            second=0, microsecond=0
        )
    if kind == "tomorrow":
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        return datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=zone).astimezone(UTC)
    raise ValueError(kind)
