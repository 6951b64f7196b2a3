"""Search through postings (per user and term, the tasks holding it): found after every kind
of write, an account merge included; stale ids dropped by the search that meets them; tasks
written before postings existed found before and after the backfill."""

from __future__ import annotations

from beanie import PydanticObjectId

from models import SearchPosting, Task
from server.services.tasks import search
from server.services.tasks.search_backend import BACKFILLED, MongoSearch, bucket, chunk_key, field
from server.services.tasks.service import TaskChanges, TaskDraft, TaskQuery
from tests.integration.tasks_env import TasksEnv


async def posting(
    user_id: PydanticObjectId, term: str, generation: int = 0
) -> list[str] | None:
    """The task ids of the user's postings of `term` in a generation (None: no such field)."""
    doc = await SearchPosting.get_pymongo_collection().find_one(
        {"_id": chunk_key(str(user_id), bucket(term), generation)}
    )
    return None if doc is None else doc.get(field(term))


async def titles(env: TasksEnv, user_id: PydanticObjectId, text: str) -> list[str]:
    page = await env.tasks.page(user_id, TaskQuery(text=text, limit=10, status="all"))
    return [task.title for task in page.items]


async def test_found_after_create_and_edit_and_only_the_users_own(env: TasksEnv):
    me, other = await env.user(), await env.user()
    task = await env.tasks.create(me, TaskDraft(title="Купить молоко"))
    await env.tasks.create(other, TaskDraft(title="Молоко соседу"))
    assert await titles(env, me, "молоко") == ["Купить молоко"]
    second = await env.tasks.create(me, TaskDraft(title="Молоко и кефир"))
    assert await posting(me, "мол") == [str(task.id), str(second.id)]  # pushed, not replaced
    assert await titles(env, me, "купит молако") == ["Купить молоко"]
    await env.tasks.update(me, task.id, TaskChanges(notes="и хлеб к ужину"))
    assert await titles(env, me, "хлеб") == ["Купить молоко"]
    assert await posting(me, "хле") == [str(task.id)]
    await env.tasks.update(me, task.id, TaskChanges(notes="и сыр"))  # хлеб is gone
    assert await posting(me, "хле") == []
    assert await posting(me, "сыр") == [str(task.id)]
    assert await titles(env, me, "хлеб") == []


async def test_a_deleted_tasks_id_is_dropped_from_its_postings_by_the_next_search(env: TasksEnv):
    me = await env.user()
    gone = await env.tasks.create(me, TaskDraft(title="Позвонить маме"))
    kept = await env.tasks.create(me, TaskDraft(title="Позвонить папе"))
    await env.tasks.delete(me, gone.id)
    assert await titles(env, me, "позвонить") == ["Позвонить папе"]
    assert await posting(me, "поз") == [str(kept.id)]


async def test_merged_tasks_are_found_by_their_new_owner(env: TasksEnv):
    source, target = await env.user(), await env.user()
    await env.tasks.create(source, TaskDraft(title="Отчёт за квартал"))
    await env.tasks.move_all(source, target)
    assert await titles(env, target, "отчет") == ["Отчёт за квартал"]
    assert await titles(env, source, "отчет") == []


async def test_tasks_written_before_postings_are_found_before_and_after_the_backfill(
    env: TasksEnv,
):
    me = await env.user()
    await env.lists.ensure_builtins(me)
    inbox = await env.lists.builtin(me, "inbox")
    title = "Старая задача про дачу"
    old = Task(id=PydanticObjectId(), user_id=str(me), list_id=str(inbox.id), title=title,
               order_key="1", terms=search.index_terms(title))  # fmt: skip
    await Task.get_pymongo_collection().insert_one(old.model_dump(by_alias=True))
    await SearchPosting.get_pymongo_collection().delete_many({})  # as before the upgrade
    fresh = MongoSearch()
    assert not fresh.ready
    assert [t.title for t in await fresh.search(str(me), "дача", list_id=None, done=None,
                                                limit=5)] == ["Старая задача про дачу"]  # fmt: skip
    await fresh.backfill()
    assert fresh.ready
    assert await SearchPosting.get(BACKFILLED) is not None
    assert await posting(me, "дач") == [str(old.id)]
    found = await fresh.search(str(me), "дача", list_id=None, done=None, limit=5)
    assert [task.title for task in found] == ["Старая задача про дачу"]
