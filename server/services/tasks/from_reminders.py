"""What a reminder's buttons and a confirmation card do to tasks: rules the bot used to
hold as closures in its composition root. Adapter-neutral (anything that shows reminders can
call them); every change goes through the tasks service. The digest's lines are the
reminder preferences' (reminders/preferences.py, `digest_lines`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.services.common.errors import Forbidden, TaskNotFound
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
