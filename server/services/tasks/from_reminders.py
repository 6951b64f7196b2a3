"""What a reminder's buttons and a confirmation card do to tasks, and the morning digest's
lines: rules the bot used to hold as closures in its composition root. Adapter-neutral
(anything that shows reminders can call them); every change goes through the tasks service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import User
from server.services.common.errors import Forbidden, TaskNotFound
from server.services.dates.humanize import Humanizer
from server.services.tasks.capture import reading
from server.services.tasks.lists import UserRef
from server.services.tasks.service import TaskDraft, Tasks


@dataclass(frozen=True, slots=True)
class Done:
    """What Done did: `next_at` is a repeating task's next occurrence (it stays open); None
    when the task is done for good."""

    next_at: datetime | None = None


async def done(
    tasks: Tasks, user_id: UserRef, task_id: str, occurrence: datetime | None
) -> Done | None:
    """A reminder's Done: that occurrence (a repeating task's) or the task. None when the task
    is gone, or the user only views its shared list now."""
    try:
        task = await tasks.complete(user_id, task_id, occurrence)
    except (TaskNotFound, Forbidden):
        return None
    # Still open: a repeating task moved on to its next occurrence.
    return Done(None if task.done else (task.remind_at or task.due))


async def stop_repeating(tasks: Tasks, user_id: UserRef, task_id: str) -> bool:
    """A repeating reminder's "Stop repeating"; False when the task is gone or not theirs."""
    try:
        await tasks.stop_repeating(user_id, task_id)
    except (TaskNotFound, Forbidden):
        return False
    return True


async def snooze(tasks: Tasks, user_id: UserRef, task_id: str, until: datetime) -> bool:
    """Snooze: the reminder again at `until`; False when the task is gone or not theirs."""
    try:
        await tasks.snooze(user_id, task_id, until)
    except (TaskNotFound, Forbidden):
        return False
    return True


async def save(
    tasks: Tasks, user_id: UserRef, title: str, remind_at: datetime, repeat: str | None
) -> None:
    """A confirmation card's Save: a task with that reminder, read by the capture path's rule
    for due / remind_at."""
    at = reading(remind_at, repeat)
    await tasks.create(
        user_id, TaskDraft(title=title, remind_at=at.remind_at, due=at.due, repeat=at.repeat)
    )


async def today_lines(tasks: Tasks, user: User, lang: str) -> list[str]:
    """Today as /today shows it, one line a task: "call the bank — 10 AM", timed tasks first;
    a shared list's task with the list's name: "milk — 6 PM · 👥 Groceries"."""
    assert user.id is not None
    texts = Humanizer.for_user(lang, user.timezone, tasks.clock())
    found = await tasks.today(user.id)
    shared = await tasks.lists.shared_names(user.id) if found else {}
    lines = []
    for task in found:
        when = texts.task_when(task.remind_at, task.due)
        where = "👥 " + shared[task.list_id] if task.list_id in shared else None
        about = " · ".join(part for part in (when, where) if part)
        lines.append(task.title + (f" — {about}" if about else ""))
    return lines
