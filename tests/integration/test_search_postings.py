"""Search through postings (per user and term, the tasks holding it, in generations of
tasks): found after every kind of write, an account merge included; stale ids dropped by the
search that meets them; the rollover into a new generation; tasks written before postings
existed (or under the layout before generations) found before and after the backfill."""

from __future__ import annotations

from beanie import PydanticObjectId

from models import SearchPosting, Task, TaskTally
from server.services.accounts.telegram_channel import TelegramChannel
from server.services.sharing.service import Sharing
from server.services.tasks import search, search_backend
from server.services.tasks.search_backend import (
    BACKFILLED,
    MongoSearch,
    bucket,
    chunk_key,
    field,
    head_key,
    unpack,
)
from server.services.tasks.service import TaskChanges, TaskDraft, TaskQuery
from tests.integration.tasks_env import TasksEnv


async def posting(user_id: PydanticObjectId, term: str, generation: int = 0) -> list[str] | None:
    """The task ids of the user's postings of `term` in a generation (None: no such field)."""
    doc = await SearchPosting.get_pymongo_collection().find_one(
        {"_id": chunk_key(str(user_id), bucket(term), generation)}
    )
    ids = None if doc is None else doc.get(field(term))
    return None if ids is None else [unpack(i) for i in ids]


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


WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet"]  # fmt: skip


async def test_postings_roll_over_into_generations_that_stop_growing(env: TasksEnv, monkeypatch):
    """Ten tasks, four a generation: three generations, each holding only its own tasks;
    a search finds tasks in every one; a deleted task disappears from its generation; an
    edit pulls the terms it lost from the task's own generation (not the current one) and
    pushes those it gained there."""
    monkeypatch.setattr(search_backend, "GENERATION", 4)
    me = await env.user()
    made = [await env.tasks.create(me, TaskDraft(title=f"Report {w}")) for w in WORDS]
    ids = [str(task.id) for task in made]
    assert await posting(me, "rep", 0) == ids[0:4]
    assert await posting(me, "rep", 1) == ids[4:8]
    assert await posting(me, "rep", 2) == ids[8:10]
    for word in WORDS:
        assert await titles(env, me, word) == [f"Report {word}"]
    assert sorted(await titles(env, me, "report")) == sorted(f"Report {w}" for w in WORDS)

    await env.tasks.delete(me, made[0].id)
    assert await titles(env, me, "alpha") == []
    assert await posting(me, "alp", 0) == []  # dropped by the search that met it
    assert await posting(me, "rep", 0) == ids[0:4]  # other terms: until a search meets them
    assert len(await titles(env, me, "report")) == 9
    assert await posting(me, "rep", 0) == ids[1:4]

    await env.tasks.update(me, made[5].id, TaskChanges(title="Report kilo"))  # generation 1
    assert await posting(me, "fox", 1) == []
    assert await posting(me, "kil", 1) == [ids[5]]
    assert await posting(me, "kil", 2) is None
    assert await posting(me, "rep", 1) == ids[4:8]  # kept terms stay where they were
    assert await titles(env, me, "foxtrot") == []
    assert await titles(env, me, "kilo") == ["Report kilo"]
    head = await SearchPosting.get_pymongo_collection().find_one({"_id": head_key(str(me))})
    assert head is not None
    assert head["seq"] == 10


async def test_the_upgrade_from_one_document_per_bucket_rebuilds_and_deletes_the_old(
    env: TasksEnv,
):
    """Postings of the layout before generations ("<user>:<bucket>", marker v2): the backfill
    deletes them and builds the new layout from the tasks."""
    me = await env.user()
    kept = await env.tasks.create(me, TaskDraft(title="Полить цветы"))
    postings = SearchPosting.get_pymongo_collection()
    await postings.delete_many({})
    old = [{"_id": f"{me}:{b}", "~x": [str(kept.id)]} for b in range(16)]
    await postings.insert_many([*old, {"_id": "~backfilled-v2", "at": 1}])
    fresh = MongoSearch()
    await fresh.backfill()
    assert await postings.count_documents({"_id": {"$in": [doc["_id"] for doc in old]}}) == 0
    assert await postings.find_one({"_id": "~backfilled-v2"}) is None
    assert await postings.find_one({"_id": BACKFILLED}) is not None
    assert await posting(me, "пол") == [str(kept.id)]
    found = await fresh.search(str(me), "цветы", list_id=None, done=None, limit=5)
    assert [task.title for task in found] == ["Полить цветы"]
    # And it runs once: a task written afterwards is indexed by its write, not rebuilt.
    later = await env.tasks.create(me, TaskDraft(title="Полить огород"))
    await fresh.backfill()
    assert await posting(me, "пол") == [str(kept.id), str(later.id)]


async def test_candidates_beyond_the_first_fetch_are_looked_up_when_filters_leave_too_few(
    env: TasksEnv, monkeypatch
):
    """Candidates are fetched in two steps (the first CANDIDATES and a quarter, then the rest
    of LOOKED_UP): a list filter that leaves too few of the first still finds the others."""
    monkeypatch.setattr(search_backend, "CANDIDATES", 4)
    monkeypatch.setattr(search_backend, "LOOKED_UP", 8)
    me = await env.user()
    for n in range(3):  # the oldest: looked up last among tasks sharing as many terms
        await env.tasks.create(me, TaskDraft(title=f"Report later {n}", list_ref="later"))
    for n in range(5):
        await env.tasks.create(me, TaskDraft(title=f"Report inbox {n}"))
    page = await env.tasks.page(me, TaskQuery(text="report", list_ref="later", status="all"))
    assert sorted(task.title for task in page.items) == [f"Report later {n}" for n in range(3)]
    page = await env.tasks.page(me, TaskQuery(text="report", status="all"))
    assert len(page.items) == 4


async def test_a_task_moved_into_another_owners_list_is_found_by_that_owner(env: TasksEnv):
    """The task becomes the list owner's data: indexed whole for them (not only the terms
    the move changed), and counted out of the mover's tasks quota and into the owner's."""
    channel = TelegramChannel(configured=True, username="family_todo_bot")
    sharing = Sharing(env.lists, env.tasks, channel, "https://todo.example/", clock=env.clock)
    alice, bob = await env.user(), await env.user()
    groceries = await env.lists.create(alice, "Groceries")
    await sharing.accept(bob, (await sharing.create_invite(alice, groceries.id, "editor")).code)
    await env.tasks.create(alice, TaskDraft(title="Хлеб"))
    task = await env.tasks.create(bob, TaskDraft(title="Купить сыр"))
    tallies = TaskTally.get_pymongo_collection()
    assert (await tallies.find_one({"_id": str(alice)}) or {})["n"] == 1
    await env.tasks.update(bob, task.id, TaskChanges(list_ref=groceries.id))
    assert await titles(env, alice, "сыр") == ["Купить сыр"]
    assert (await tallies.find_one({"_id": str(alice)}) or {})["n"] == 2
    assert (await tallies.find_one({"_id": str(bob)}) or {})["n"] == 0
