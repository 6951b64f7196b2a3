"""The lists and tasks services on the real database: first sight, the planner seam, whole
document writes under concurrency, account merge and erase, search on many tasks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from beanie import PydanticObjectId

from models import Task, TaskList
from server.services.accounts.account_data import Holdings
from server.services.common.errors import (
    InvalidInput,
    ListNotFound,
    TaskNotFound,
    UserNotFound,
)
from server.services.reminders.port import Advanced, Sent
from server.services.tasks.search_backend import CANDIDATES
from server.services.tasks.service import TaskChanges, TaskDraft, TaskQuery
from tests.integration.tasks_env import TasksEnv

WHEN = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)


async def keys_of(env: TasksEnv, user_id: PydanticObjectId) -> list[str]:
    docs = await env.db["task_lists"].find({"user_id": str(user_id)}).to_list()
    return sorted(doc["key"] or doc["name"] for doc in docs)


async def test_built_ins_are_made_once_by_concurrent_processes(env: TasksEnv):
    for _ in range(5):
        user_id = await env.user()
        processes = [env.fresh_process() for _ in range(4)]
        await asyncio.gather(*(p.lists.ensure_builtins(user_id) for p in processes))
        assert await keys_of(env, user_id) == ["inbox", "later", "someday", "today"]


async def test_a_user_that_does_not_exist_gets_no_lists(env: TasksEnv):
    with pytest.raises(UserNotFound):
        await env.lists.ensure_builtins(PydanticObjectId())
    assert await env.db["task_lists"].count_documents({}) == 0


async def test_the_planner_hears_of_every_change(env: TasksEnv):
    user_id = await env.user()
    task = await env.tasks.create(user_id, TaskDraft(title="Pay rent", remind_at=WHEN,
                                                      repeat="FREQ=MONTHLY"))  # fmt: skip
    assert task.id is not None
    await env.tasks.move(user_id, task.id, "today")
    await env.tasks.complete(user_id, task.id)  # repeating: this occurrence, on to the next
    await env.tasks.stop_repeating(user_id, task.id)
    await env.tasks.complete(user_id, task.id)
    await env.tasks.reopen(user_id, task.id)
    await env.tasks.snooze(user_id, task.id, WHEN + timedelta(hours=1))
    await env.tasks.update(user_id, task.id, TaskChanges(remind_at=None))
    plans = env.planner.plans
    april = datetime(2031, 4, 1, 9, 0, tzinfo=UTC)
    assert [(p.done, p.remind_at, p.repeat) for p in plans] == [
        (False, WHEN, "FREQ=MONTHLY"), (False, WHEN, "FREQ=MONTHLY"),
        (False, april, "FREQ=MONTHLY"), (False, april, None), (True, april, None),
        (False, april, None), (False, WHEN + timedelta(hours=1), None), (False, None, None),
    ]  # fmt: skip
    assert all(p.task_id == task.id and p.user_id == user_id for p in plans)
    assert plans[0].repeat == "FREQ=MONTHLY"
    assert plans[0].title == "Pay rent"
    # No change, no plan; the reminder engine's own update is not echoed back to it.
    await env.tasks.reopen(user_id, task.id)
    moved = await env.tasks.set_remind_at(task.id, WHEN + timedelta(days=30))
    assert moved is not None
    assert moved.remind_at == WHEN + timedelta(days=30)
    assert len(env.planner.plans) == len(plans)
    await env.tasks.delete(user_id, task.id)
    assert env.planner.forgotten_tasks == [task.id]
    assert await env.tasks.set_remind_at(task.id, WHEN) is None


async def test_delivery_events_move_the_task_to_its_next_occurrence_without_a_plan(
    env: TasksEnv,
):
    """The task's remind_at is the truth: when delivery re-arms a repeat it reports
    Advanced, and the task follows (without a plan back: the reminder is there already);
    Sent changes nothing."""
    user_id = await env.user(username="events")
    task = await env.tasks.create(
        user_id, TaskDraft(title="Vitamins", remind_at=WHEN, repeat="FREQ=DAILY")
    )
    plans = len(env.planner.plans)
    await env.tasks.reminder_delivered(Sent(task.id, WHEN, late=False))
    assert (await env.tasks.get(user_id, task.id)).remind_at == WHEN
    following = WHEN + timedelta(days=1)
    await env.tasks.reminder_delivered(Advanced(task.id, following))
    assert (await env.tasks.get(user_id, task.id)).remind_at == following
    assert len(env.planner.plans) == plans
    # A task deleted meanwhile: nothing to move, and no error for delivery to log.
    await env.tasks.delete(user_id, task.id)
    await env.tasks.reminder_delivered(Advanced(task.id, following + timedelta(days=1)))


async def test_times_written_by_an_update_stay_dates(env: TasksEnv):
    """Whole-document writes: a `$set` datetime would become a string on the embedded server
    and stop matching range queries (the reminder engine's)."""
    user_id = await env.user()
    task = await env.tasks.create(user_id, TaskDraft(title="x"))
    assert task.id is not None
    await env.tasks.snooze(user_id, task.id, WHEN)
    await env.tasks.complete(user_id, task.id)
    due = await env.db["tasks"].count_documents({"remind_at": {"$lte": WHEN + timedelta(1)}})
    assert due == 1
    assert await env.db["tasks"].count_documents({"done": True}) == 1
    raw = await env.db["tasks"].find_one({"_id": task.id})
    assert isinstance(raw["remind_at"], datetime)
    assert isinstance(raw["done_at"], datetime)
    assert raw["done"] is True


async def test_concurrent_changes_to_one_task_all_land(env: TasksEnv):
    user_id = await env.user()
    task = await env.tasks.create(user_id, TaskDraft(title="x"))
    assert task.id is not None
    other = env.fresh_process()
    await asyncio.gather(
        env.tasks.update(user_id, task.id, TaskChanges(title="renamed")),
        other.update(user_id, task.id, TaskChanges(notes="noted")),
        env.tasks.move(user_id, task.id, "later"),
        other.complete(user_id, task.id),
    )
    final = await env.tasks.get(user_id, task.id)
    later = await env.lists.builtin(user_id, "later")
    assert (final.title, final.notes, final.list_id, final.done) == (
        "renamed", "noted", str(later.id), True,
    )  # fmt: skip
    assert final.version == 4  # four writes, none lost


async def test_nothing_is_written_when_any_value_is_refused(env: TasksEnv):
    user_id = await env.user()
    task = await env.tasks.create(user_id, TaskDraft(title="keep"))
    assert task.id is not None
    before = await env.db["tasks"].find_one({"_id": task.id})
    bad = [
        TaskChanges(title="new", repeat="nonsense"),
        TaskChanges(notes="fine", due=datetime(2030, 1, 1)),
        TaskChanges(title="new", list_ref="nowhere"),
    ]
    for changes in bad:
        with pytest.raises(InvalidInput):
            await env.tasks.update(user_id, task.id, changes)
    with pytest.raises(InvalidInput) as refused:
        await env.tasks.create(user_id, TaskDraft(title="t", list_ref="0" * 24))
    assert refused.value.field == "list"
    assert await env.db["tasks"].find_one({"_id": task.id}) == before
    assert await env.db["tasks"].count_documents({}) == 1
    assert len(env.planner.plans) == 1


async def test_deleting_a_list_moves_its_tasks_to_inbox_and_a_retry_finishes(env: TasksEnv):
    user_id = await env.user()
    work = await env.lists.create(user_id, "Work")
    for i in range(3):
        await env.tasks.create(user_id, TaskDraft(title=f"w{i}", list_ref=work.id))
    inbox = str((await env.lists.builtin(user_id, "inbox")).id)
    # A deletion interrupted after moving one task: the retry finishes it.
    await env.db["tasks"].update_one({"title": "w0"}, {"$set": {"list_id": inbox}})
    await env.lists.delete(user_id, work.id)
    assert await env.lists.open_counts(user_id) == {inbox: 3}
    assert await env.db["task_lists"].count_documents({"_id": PydanticObjectId(work.id)}) == 0
    with pytest.raises(ListNotFound):
        await env.lists.delete(user_id, work.id)


async def test_holdings_count_own_lists_and_all_tasks(env: TasksEnv):
    """What the linking question says would move (issue 22, item 3)."""
    user, other = await env.user(), await env.user()
    await env.lists.create(user, "Work")
    work = await find_list(user, "work")
    await env.tasks.create(user, TaskDraft(title="report", list_ref=work))
    await env.tasks.create(user, TaskDraft(title="milk", list_ref="today"))
    await env.tasks.create(other, TaskDraft(title="not mine"))
    await env.lists.ensure_builtins(user)

    assert await env.tasks.holdings(user) == Holdings(lists=1, tasks=2)  # built-ins not counted
    assert await env.tasks.holdings(await env.user()) == Holdings(lists=0, tasks=0)


async def test_move_all_merges_lists_by_name_and_built_ins_and_is_idempotent(env: TasksEnv):
    src, dst = await env.user(), await env.user()
    await env.lists.create(src, "Work")
    await env.lists.create(src, "Garden")
    await env.lists.create(dst, "WORK")
    await env.tasks.create(src, TaskDraft(title="report", list_ref=(await find_list(src, "work"))))
    await env.tasks.create(src, TaskDraft(title="roses", list_ref=(await find_list(src, "garden"))))
    await env.tasks.create(src, TaskDraft(title="milk", list_ref="today", remind_at=WHEN))
    await env.tasks.create(dst, TaskDraft(title="own"))
    for _ in range(2):  # the second run finds nothing left to do
        await env.tasks.move_all(src, dst)
    assert await env.db["task_lists"].count_documents({"user_id": str(src)}) == 0
    assert await env.db["tasks"].count_documents({"user_id": str(src)}) == 0
    assert await keys_of(env, dst) == ["Garden", "WORK", "inbox", "later", "someday", "today"]
    names = {}
    for doc in await TaskList.find({"user_id": str(dst)}).to_list():
        names[str(doc.id)] = doc.key or doc.name
    placed = {t.title: names[t.list_id] for t in await Task.find({"user_id": str(dst)}).to_list()}
    assert placed == {"report": "WORK", "roses": "Garden", "milk": "today", "own": "inbox"}
    assert PydanticObjectId(src) in env.planner.forgotten_users
    assert [p.title for p in env.planner.plans if p.user_id == dst and p.remind_at] == [
        "milk",
        "milk",
    ]  # re-planned for the new owner, once per run


async def find_list(user_id: PydanticObjectId, name: str) -> str:
    doc = await TaskList.find_one({"user_id": str(user_id), "name_normalized": name})
    assert doc is not None
    return str(doc.id)


async def test_move_all_resumes_after_a_crash_between_steps(env: TasksEnv):
    src, dst = await env.user(), await env.user()
    await env.lists.create(src, "Garden")
    garden = await find_list(src, "garden")
    await env.tasks.create(src, TaskDraft(title="roses", list_ref=garden))
    await env.lists.ensure_builtins(dst)
    # Crashed after the list changed owner, before its tasks followed.
    await env.db["task_lists"].update_one({"_id": PydanticObjectId(garden)},
                                          {"$set": {"user_id": str(dst)}})  # fmt: skip
    await env.tasks.move_all(src, dst)
    [task] = await Task.find({"user_id": str(dst)}).to_list()
    assert task.list_id == garden


async def test_erase_user_removes_everything_and_is_idempotent(env: TasksEnv):
    user_id, other = await env.user(), await env.user()
    await env.lists.create(user_id, "Work")
    await env.tasks.create(user_id, TaskDraft(title="x"))
    await env.tasks.create(other, TaskDraft(title="y"))
    for _ in range(2):
        await env.tasks.erase_user(user_id)
    assert await env.db["tasks"].count_documents({"user_id": str(user_id)}) == 0
    assert await env.db["task_lists"].count_documents({"user_id": str(user_id)}) == 0
    assert await env.db["tasks"].count_documents({"user_id": str(other)}) == 1
    assert env.planner.forgotten_users == [user_id, user_id]


async def test_a_task_of_another_user_is_not_found(env: TasksEnv):
    owner, other = await env.user(), await env.user()
    task = await env.tasks.create(owner, TaskDraft(title="mine"))
    assert task.id is not None
    for call in (
        env.tasks.get(other, task.id),
        env.tasks.complete(other, task.id),
        env.tasks.move(other, task.id, "today"),
        env.tasks.snooze(other, task.id, WHEN),
        env.tasks.delete(other, task.id),
        env.tasks.get(owner, "not-an-id"),
    ):
        with pytest.raises(TaskNotFound):
            await call
    assert (await env.tasks.get(owner, task.id)).version == 0


async def test_search_finds_an_old_exact_match_among_many_similar_tasks(env: TasksEnv):
    """More than CANDIDATES tasks share the query's trigrams; the one having them all (an
    old task) is still a candidate and ranks first."""
    user_id = await env.user()
    await env.tasks.create(user_id, TaskDraft(title="Купить молоко"))
    collection = Task.get_pymongo_collection()
    similar = await env.tasks.create(user_id, TaskDraft(title="Около окна"))
    doc = await collection.find_one({"_id": similar.id})
    filler = []
    for i in range(CANDIDATES + 50):
        copy = dict(doc, _id=PydanticObjectId(), order_key=f"9{i:012d}{'0' * 24}")
        filler.append(copy)
    await collection.insert_many(filler)
    for copy in filler:  # indexed as the service indexes what it writes
        await env.tasks.search_backend.index(Task.model_validate(copy), [])
    found = await env.tasks.page(user_id, TaskQuery(text="молоко", limit=5))
    assert [task.title for task in found.items] == ["Купить молоко"]
