"""The tasks quota from a kept count (tasks/service.py `_check_tasks_quota`): the count is a
hint, trusted only well below the quota; the exact check (`at_least`) decides near it and
every tenth of the quota whatever the hint says, so a wrong hint never lets a user more than
that past it; deletes count down, a merge drops the counts, a missing count is counted."""

from __future__ import annotations

from typing import Any

import pytest
from beanie import PydanticObjectId

from models import Task, TaskTally
from server.services.common.errors import QuotaExceeded
from server.services.tasks import service
from server.services.tasks.service import TaskDraft, TaskLimits, Tasks
from tests.integration.tasks_env import TasksEnv

LIMIT = 20  # a tenth: 2


def limited(env: TasksEnv) -> Tasks:
    return Tasks(env.lists, env.planner, env.tasks.search_backend, clock=env.clock,
                 limits=TaskLimits(max_tasks=LIMIT))  # fmt: skip


async def fill(tasks: Tasks, user: PydanticObjectId, count: int) -> None:
    for n in range(count):
        await tasks.create(user, TaskDraft(title=f"task {n}"), paced=False)


async def held(user: PydanticObjectId) -> int:
    return len(await Task.get_pymongo_collection().find({"user_id": {"$eq": str(user)}}).to_list())


async def set_hint(user: PydanticObjectId, n: int, since: int = 0) -> None:
    await TaskTally.get_pymongo_collection().update_one(
        {"_id": str(user)}, {"$set": {"n": n, "since": since}}, upsert=True
    )


async def hint(user: PydanticObjectId) -> dict[str, Any] | None:
    return await TaskTally.get_pymongo_collection().find_one({"_id": str(user)})


@pytest.fixture
def exact_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the exact check ran (each is a walk of the user's index)."""
    calls: list[int] = []
    real = service.at_least

    async def counted(*args: Any, **kwargs: Any) -> bool:
        calls.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(service, "at_least", counted)
    return calls


async def test_well_below_the_quota_the_kept_count_decides_without_a_walk(
    env: TasksEnv, exact_checks: list[int]
):
    tasks, me = limited(env), await env.user()
    await fill(tasks, me, 1)  # no count yet: counted exactly once
    await fill(tasks, me, 1)
    assert exact_checks == []
    assert await hint(me) == {"_id": str(me), "n": 2, "since": 1}


async def test_at_the_quota_a_low_hint_is_overruled_by_the_exact_check(
    env: TasksEnv, exact_checks: list[int]
):
    tasks, me = limited(env), await env.user()
    await fill(tasks, me, LIMIT)
    await set_hint(me, LIMIT - 2)  # wrong: says two more fit
    with pytest.raises(QuotaExceeded):
        await tasks.create(me, TaskDraft(title="one more"), paced=False)
    assert exact_checks != []
    assert await held(me) == LIMIT
    assert (await hint(me) or {})["n"] == LIMIT - 2  # the refused one is not counted


async def test_a_hint_far_too_low_lets_a_user_at_most_a_tenth_past(
    env: TasksEnv, exact_checks: list[int]
):
    """Every tenth of the quota the exact check runs whatever the hint says."""
    tasks, me = limited(env), await env.user()
    await fill(tasks, me, LIMIT)
    await set_hint(me, 0)
    past = 0
    while past <= LIMIT:
        try:
            await tasks.create(me, TaskDraft(title="past"), paced=False)
        except QuotaExceeded:
            break
        past += 1
    assert past < service._slack(LIMIT)
    assert await held(me) < LIMIT + service._slack(LIMIT)


async def test_no_hint_yet_is_counted_exactly(env: TasksEnv):
    """Tasks written before the count was kept (or after a merge dropped it)."""
    tasks, me = limited(env), await env.user()
    await fill(tasks, me, LIMIT)
    await TaskTally.get_pymongo_collection().delete_many({})
    with pytest.raises(QuotaExceeded):
        await tasks.create(me, TaskDraft(title="one more"), paced=False)
    assert (await hint(me) or {})["n"] == LIMIT


async def test_deletes_count_down_and_a_merge_drops_the_counts(env: TasksEnv):
    tasks, me, other = limited(env), await env.user(), await env.user()
    await fill(tasks, me, 3)
    task = await tasks.create(me, TaskDraft(title="gone"), paced=False)
    await tasks.delete(me, task.id)
    assert (await hint(me) or {})["n"] == 3
    await fill(tasks, other, 2)
    await tasks.move_all(other, me)
    assert await hint(me) is None
    assert await hint(other) is None
    await fill(tasks, me, 1)
    assert (await hint(me) or {})["n"] == 6
    await tasks.erase_user(me)
    assert await hint(me) is None
