"""Writes based on a version (REST `If-Match`) on the real database: of concurrent ones based
on the same version exactly one wins and the others get the task it made; a change that lands
between reading the task and writing it is not overwritten, however late it comes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from beanie import PydanticObjectId

from models import Task
from server.services.common.errors import TaskChanged, TaskNotFound
from server.services.sharing.access import Need
from server.services.tasks.service import TaskChanges, TaskDraft, Tasks
from tests.integration.tasks_env import TasksEnv


class Interleaved(Tasks):
    """Tasks that let another write land right after the task was read (and its version
    checked), before it is written: the window a guarded write must cover."""

    squeeze: Callable[[], Awaitable[Any]] | None = None

    async def _load_for(self, uid: str, task_id: str | PydanticObjectId, need: Need) -> Task:
        task = await super()._load_for(uid, task_id, need)
        if self.squeeze is not None:
            squeeze, self.squeeze = self.squeeze, None
            await squeeze()
        return task


def interleaved(env: TasksEnv) -> Interleaved:
    return Interleaved(env.lists, env.planner, env.tasks.search_backend, clock=env.clock)


async def test_of_concurrent_writes_based_on_one_version_exactly_one_wins(env: TasksEnv):
    owner = await env.user()
    task = await env.tasks.create(owner, TaskDraft(title="Milk"))
    assert task.id is not None
    processes = [env.tasks, env.fresh_process(), env.fresh_process()]
    titles = [f"Milk {n}" for n in range(6)]
    results = await asyncio.gather(
        *(
            processes[n % 3].update(owner, task.id, TaskChanges(title=t), expected=frozenset({0}))
            for n, t in enumerate(titles)
        ),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, Task)]
    lost = [r for r in results if not isinstance(r, Task)]
    assert len(won) == 1, results
    assert all(isinstance(r, TaskChanged) for r in lost), lost
    stored = await env.tasks.get(owner, task.id)
    assert (stored.title, stored.version) == (won[0].title, 1)
    # Each refusal carries the task as the winner left it.
    assert {(r.current.title, r.current.version) for r in lost} <= {(stored.title, 1)}


async def test_a_change_landing_after_the_check_is_not_overwritten(env: TasksEnv):
    owner = await env.user()
    task = await env.tasks.create(owner, TaskDraft(title="Milk"))
    assert task.id is not None
    tasks = interleaved(env)
    other = env.fresh_process()

    async def someone_else() -> None:
        await other.update(owner, task.id, TaskChanges(notes="the green one"))

    tasks.squeeze = someone_else
    with pytest.raises(TaskChanged) as refused:
        await tasks.update(owner, task.id, TaskChanges(title="Tea"), expected=frozenset({0}))
    assert (refused.value.current.title, refused.value.current.notes) == ("Milk", "the green one")
    stored = await env.tasks.get(owner, task.id)
    assert (stored.title, stored.notes, stored.version) == ("Milk", "the green one", 1)

    # Unconditional (the bot's buttons): the same interleaving is re-applied, nothing lost.
    tasks.squeeze = someone_else
    await tasks.update(owner, task.id, TaskChanges(title="Tea"))
    stored = await env.tasks.get(owner, task.id)
    assert (stored.title, stored.notes) == ("Tea", "the green one")


async def test_a_delete_based_on_a_version_spares_a_task_changed_meanwhile(env: TasksEnv):
    owner = await env.user()
    task = await env.tasks.create(owner, TaskDraft(title="Milk"))
    assert task.id is not None
    tasks = interleaved(env)

    async def someone_else() -> None:
        await env.tasks.update(owner, task.id, TaskChanges(title="Oat milk"))

    tasks.squeeze = someone_else
    with pytest.raises(TaskChanged) as refused:
        await tasks.delete(owner, task.id, expected=frozenset({0}))
    assert refused.value.current.title == "Oat milk"
    assert (await env.tasks.get(owner, task.id)).title == "Oat milk"

    async def deleted_meanwhile() -> None:
        await env.tasks.delete(owner, task.id)

    tasks.squeeze = deleted_meanwhile
    with pytest.raises(TaskNotFound):
        await tasks.delete(owner, task.id, expected=frozenset({1}))
    assert await env.db["tasks"].count_documents({}) == 0
