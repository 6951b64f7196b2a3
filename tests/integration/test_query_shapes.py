"""Every query shape the lists and tasks code relies on, against the test's server (embedded
nx-27017, or MongoDB with MONGODB_URI): a server upgrade or a run on MongoDB shows a
difference here first. The last tests pin the embedded server's differences that made the
code store ids as strings and search with `$in` (they are skipped on MongoDB)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from tests.integration.tasks_env import TasksEnv

EMBEDDED_ONLY = pytest.mark.skipif(
    bool(os.environ.get("MONGODB_URI")), reason="a difference of the embedded server"
)
U1, U2 = str(ObjectId()), str(ObjectId())


async def tasks_with_terms(env: TasksEnv) -> Any:
    # The real collection and indexes (init_beanie made them).
    tasks = env.db["tasks"]
    await tasks.insert_many([
        {"user_id": U1, "list_id": "L", "done": False, "terms": ["мол", "оло", "лок"],
         "order_key": "2", "title": "молоко"},
        {"user_id": U1, "list_id": "L", "done": True, "terms": ["pre", "res"],
         "order_key": "1", "title": "present"},
        {"user_id": U2, "list_id": "M", "done": False, "terms": ["мол"], "order_key": "3",
         "title": "other user"},
    ])  # fmt: skip
    return tasks


async def titles(cursor: Any) -> list[str]:
    return [doc["title"] for doc in await cursor.to_list()]


async def test_search_candidates_in_on_the_multikey_terms_with_the_user(env: TasksEnv):
    tasks = await tasks_with_terms(env)
    query = {"user_id": U1, "terms": {"$in": ["мол", "zzz"]}, "done": False}
    assert await titles(tasks.find(query).sort("order_key", -1).limit(200)) == ["молоко"]
    query = {"user_id": U1, "terms": {"$all": ["мол", "лок"]}, "list_id": "L"}
    assert await titles(tasks.find(query, {"terms": 0})) == ["молоко"]
    assert await titles(tasks.find({"user_id": U1, "terms": {"$all": ["мол", "pre"]}})) == []


async def test_keyset_page_one_range_condition_newest_first(env: TasksEnv):
    tasks = await tasks_with_terms(env)
    query = {"user_id": U1, "list_id": "L", "order_key": {"$lt": "2"}}
    assert await titles(tasks.find(query).sort("order_key", -1).limit(51)) == ["present"]
    query = {"user_id": U1, "done": False}
    assert await titles(tasks.find(query).sort("order_key", -1).skip(0).limit(10)) == ["молоко"]


async def test_today_equality_as_eq_and_a_range_on_a_date_skipping_nulls(env: TasksEnv):
    """Today's three queries (services/tasks/service.py `today`)."""
    tasks = env.db["tasks"]
    end = datetime(2030, 1, 2, tzinfo=UTC)
    await tasks.insert_many([
        {"user_id": U1, "done": False, "remind_at": datetime(2030, 1, 1, 9, tzinfo=UTC),
         "due": None, "title": "today"},
        {"user_id": U1, "done": False, "remind_at": datetime(2029, 12, 1, tzinfo=UTC),
         "title": "overdue, no due field"},
        {"user_id": U1, "done": False, "remind_at": end, "due": end, "title": "at the end"},
        {"user_id": U1, "done": False, "remind_at": None, "due": None, "title": "untimed"},
        {"user_id": U1, "done": True, "remind_at": datetime(2030, 1, 1, tzinfo=UTC),
         "title": "done"},
        {"user_id": U2, "done": False, "remind_at": datetime(2030, 1, 1, tzinfo=UTC),
         "title": "other user"},
    ])  # fmt: skip
    # a whole-document rewrite keeps the date a date and the boolean a boolean
    doc = await tasks.find_one({"title": "untimed"})
    doc["remind_at"] = datetime(2030, 1, 1, 20, tzinfo=UTC)
    await tasks.replace_one({"_id": doc["_id"]}, doc)
    base = {"user_id": {"$eq": U1}, "done": {"$eq": False}}
    query = {**base, "remind_at": {"$lt": end}}
    assert await titles(tasks.find(query).sort("remind_at", 1).limit(200)) == [
        "overdue, no due field", "today", "untimed"]  # fmt: skip
    assert await titles(tasks.find({**base, "due": {"$lt": end}})) == []
    # served by an index (the embedded server names indexes its own way: compare the keys)
    keys = {tuple(index["key"]) for index in await (await tasks.list_indexes()).to_list()}
    assert {("user_id", "done", "remind_at"), ("user_id", "done", "due")} <= keys


@EMBEDDED_ONLY
async def test_embedded_today_queries_are_served_by_their_indexes(env: TasksEnv):
    """With `$eq`, the embedded server searches the compound index (equality, equality,
    range); written as plain equality, the same filter scans the collection."""
    tasks = env.db["tasks"]
    end = datetime(2030, 1, 2, tzinfo=UTC)

    async def plan(query: dict[str, Any]) -> str:
        return str((await tasks.find(query).explain())["queryPlanner"]["winningPlan"])

    base = {"user_id": {"$eq": U1}, "done": {"$eq": False}}
    assert "USING INDEX idx_tasks_user_id_done_remind_at" in await plan(
        {**base, "remind_at": {"$lt": end}})  # fmt: skip
    assert "USING INDEX idx_tasks_user_id_done_due" in await plan({**base, "due": {"$lt": end}})
    assert "USING INDEX idx_tasks_user_id_list_id_done_order_key" in await plan(
        {**base, "list_id": {"$eq": "L"}})  # fmt: skip
    assert "SCAN tasks" in await plan({"user_id": U1, "done": False, "remind_at": {"$lt": end}})


async def test_open_counts_by_group(env: TasksEnv):
    tasks = await tasks_with_terms(env)
    pipeline = [{"$match": {"user_id": U1, "done": False}},
                {"$group": {"_id": "$list_id", "n": {"$sum": 1}}}]  # fmt: skip
    assert await (await tasks.aggregate(pipeline)).to_list() == [{"_id": "L", "n": 1}]


async def test_whole_document_write_guarded_by_version(env: TasksEnv):
    tasks = env.db["tasks"]
    when = datetime(2030, 1, 1, tzinfo=UTC)
    doc = {"_id": ObjectId(), "user_id": U1, "version": 0, "done": False, "remind_at": None}
    await tasks.insert_one(doc)
    written = {**doc, "version": 1, "done": True, "remind_at": when}
    result = await tasks.replace_one({"_id": doc["_id"], "user_id": U1, "version": 0}, written)
    assert result.matched_count == 1
    stale = await tasks.replace_one({"_id": doc["_id"], "user_id": U1, "version": 0}, doc)
    assert stale.matched_count == 0
    other = await tasks.replace_one({"_id": doc["_id"], "user_id": U2, "version": 1}, doc)
    assert other.matched_count == 0
    # Types survive a replace (a `$set` would store a string and 1 on the embedded server).
    assert await tasks.count_documents({"done": True, "remind_at": {"$lte": when}}) == 1
    assert await tasks.count_documents({"remind_at": {"$ne": None}}) == 1


async def test_bulk_moves_with_string_set_and_inc(env: TasksEnv):
    tasks = await tasks_with_terms(env)
    result = await tasks.update_many(
        {"user_id": U1, "list_id": "L"},
        {"$set": {"list_id": "K", "user_id": U2}, "$inc": {"version": 1}},
    )
    assert result.modified_count == 2
    assert sorted(await tasks.distinct("list_id", {"user_id": U2})) == ["K", "M"]
    assert await tasks.count_documents({"user_id": U2, "done": False, "list_id": "K"}) == 1


async def test_list_indexes_unique_built_ins_and_names_but_many_nulls(env: TasksEnv):
    lists = env.db["task_lists"]
    await lists.insert_one({"user_id": U1, "key": "inbox", "name_normalized": None})
    await lists.insert_one({"user_id": U1, "key": None, "name_normalized": "work"})
    await lists.insert_one({"user_id": U1, "key": None, "name_normalized": "home"})
    await lists.insert_one({"user_id": U1, "key": "today", "name_normalized": None})
    await lists.insert_one({"user_id": U2, "key": "inbox", "name_normalized": "work"})
    for duplicate in ({"user_id": U1, "key": "inbox"}, {"user_id": U1, "name_normalized": "work"}):
        with pytest.raises(DuplicateKeyError):
            await lists.insert_one({"key": None, "name_normalized": None, **duplicate})
    home = await lists.find_one({"name_normalized": "home"})
    with pytest.raises(DuplicateKeyError):  # a rename or change of owner into a taken name
        await lists.update_one({"_id": home["_id"]}, {"$set": {"name_normalized": "work"}})
    assert await lists.count_documents({"user_id": U1}) == 4


@EMBEDDED_ONLY
async def test_embedded_a_filter_on_an_objectid_field_other_than_id_matches_nothing(
    env: TasksEnv,
):
    """Why user_id and list_id are 24-hex strings in lists and tasks."""
    probe = env.db["probe"]
    user = ObjectId()
    await probe.insert_one({"user_id": user, "n": 1})
    assert await probe.find({"user_id": user}).to_list() == []  # MongoDB: the document
    assert await probe.count_documents({"user_id": user}) == 0


@EMBEDDED_ONLY
async def test_embedded_equality_on_an_array_element_through_an_index_misses(env: TasksEnv):
    """Why the search asks `terms: {$in: [...]}` even for a single term."""
    tasks = await tasks_with_terms(env)
    assert await titles(tasks.find({"user_id": U1, "terms": "мол"})) == []  # MongoDB: молоко
    assert await titles(tasks.find({"user_id": U1, "terms": {"$in": ["мол"]}})) == ["молоко"]


# --- The data service (server/services/portability/) ------------------------------------


async def test_data_feed_lookup_by_hash_and_rotation_by_replace(env: TasksEnv):
    feeds = env.db["calendar_feeds"]
    await feeds.replace_one({"_id": U1}, {"_id": U1, "token_hash": "a" * 64}, upsert=True)
    await feeds.replace_one({"_id": U1}, {"_id": U1, "token_hash": "b" * 64}, upsert=True)
    assert await feeds.find_one({"token_hash": {"$eq": "a" * 64}}) is None
    found = await feeds.find_one({"token_hash": {"$eq": "b" * 64}}, {"token_hash": 1})
    assert found == {"_id": U1, "token_hash": "b" * 64}
    with pytest.raises(DuplicateKeyError):  # the unique index on the hash
        await feeds.insert_one({"_id": U2, "token_hash": "b" * 64})


async def test_data_open_tasks_by_eq_newest_first_and_import_keys(env: TasksEnv):
    tasks = await tasks_with_terms(env)
    query = {"user_id": {"$eq": U1}, "done": {"$eq": False}}
    assert await titles(tasks.find(query, {"title": 1}).sort("order_key", -1)) == ["молоко"]
    query = {"user_id": {"$eq": U1}}
    assert await titles(tasks.find(query).sort("order_key", 1)) == ["present", "молоко"]
    keys = env.db["import_keys"]
    await keys.insert_one({"_id": f"{U1}:export:1", "user_id": U1, "task_id": "t"})
    with pytest.raises(DuplicateKeyError):
        await keys.insert_one({"_id": f"{U1}:export:1", "user_id": U1, "task_id": "t"})
    assert [d["_id"] async for d in keys.find({"user_id": {"$eq": U1}}, {"_id": 1})] == [
        f"{U1}:export:1"
    ]
    await keys.delete_many({"user_id": {"$eq": U1}})
    assert await keys.find_one({}) is None


async def test_quota_counts_are_the_nth_document_along_the_users_index(env: TasksEnv):
    # common/mongo.at_least: `count_documents` is not index-served on the embedded server
    # (seconds at 10,000 tasks), so a quota asks for the n-th match, _id only.
    from models import Task, TaskList
    from server.services.common.mongo import at_least

    tasks = await tasks_with_terms(env)
    # Task documents always carry remind_at (written whole, nulls kept): `$ne: None` must not
    # meet a missing field, which nx-27017 matches and MongoDB does not.
    await tasks.update_many({}, {"$set": {"remind_at": None}})
    await tasks.insert_one(
        {"user_id": U1, "list_id": "L", "done": False, "remind_at": datetime.now(UTC),
         "order_key": "4", "title": "reminded"}
    )  # fmt: skip
    index = [("user_id", 1), ("done", 1), ("order_key", -1)]
    mine = {"user_id": {"$eq": U1}}
    assert await at_least(Task, mine, 3, index)
    assert not await at_least(Task, mine, 4, index)
    reminded = {"user_id": {"$eq": U1}, "done": {"$eq": False}, "remind_at": {"$ne": None}}
    assert await at_least(Task, reminded, 1, index)
    assert not await at_least(Task, reminded, 2, index)
    # Own lists: the partial name_unique index's filter, built-ins (no name) not counted.
    lists = env.db["task_lists"]
    await lists.insert_many([{"user_id": U1, "key": "inbox", "name_normalized": None},
                             {"user_id": U1, "key": None, "name_normalized": "home"},
                             {"user_id": U2, "key": None, "name_normalized": "work"}])  # fmt: skip
    own = {"user_id": {"$eq": U1}, "name_normalized": {"$type": "string"}}
    by_name = [("user_id", 1), ("name_normalized", 1)]
    assert await at_least(TaskList, own, 1, by_name)
    assert not await at_least(TaskList, own, 2, by_name)
