"""Every query shape the account services rely on, pinned against the database the suite runs
on (embedded nx-27017, or MONGODB_URI): a server upgrade or a run on real MongoDB that changes
one shows here first, by name."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.clock import epoch_ms, from_ms, to_ms
from server.db.connection import init_models
from server.services.accounts.sessions import family_ids
from server.services.common.mongo import same_id


@pytest.fixture
async def coll(mongo_uri: str, db_name: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri, tz_aware=True)
    await init_models(client, db_name)  # the real indexes
    try:
        yield client[db_name]
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_objectid_fields_match_through_in(coll):
    """sessions, spent tokens, link codes, data owners: `{"user_id": {"$in": [oid]}}`."""
    sessions = coll["refresh_sessions"]
    mine, theirs = ObjectId(), ObjectId()
    for user, family, revoked in ((mine, "a", False), (mine, "b", True), (theirs, "c", False)):
        await sessions.insert_one(
            {"user_id": user, "family_id": family, "token_hash": family, "revoked": revoked}
        )
    live = {"$in": [False, 0]}
    found = await sessions.find({"user_id": same_id(mine), "revoked": live}).to_list()
    assert [doc["family_id"] for doc in found] == ["a"]
    assert await family_ids(sessions, {"user_id": same_id(mine)}) == ["a", "b"]
    result = await sessions.update_many(
        {"family_id": "a", "user_id": same_id(mine), "revoked": live}, {"$set": {"revoked": True}}
    )
    assert result.matched_count == 1
    # a `$set` boolean is then excluded by the "live" filter (stored 1 on nx-27017)
    assert await sessions.find({"user_id": same_id(mine), "revoked": live}).to_list() == []
    result = await sessions.update_many(
        {"family_id": "c", "user_id": same_id(mine), "revoked": live}, {"$set": {"revoked": True}}
    )
    assert result.matched_count == 0  # someone else's session
    assert (await sessions.delete_many({"user_id": same_id(mine)})).deleted_count == 2
    assert [doc["family_id"] for doc in await sessions.find({}).to_list()] == ["c"]


async def test_tokens_valid_after_and_active_written_by_set(coll):
    users = coll["users"]
    user_id = (await users.insert_one({"username_normalized": "u", "active": True})).inserted_id
    instant = epoch_ms()
    await users.update_one(
        {"_id": user_id}, {"$set": {"tokens_valid_after": instant, "active": False}}
    )
    doc = await users.find_one({"_id": user_id}, {"active": 1, "tokens_valid_after": 1})
    assert doc["tokens_valid_after"] == instant  # an int stays an int
    assert not doc["active"]  # False or 0
    await users.update_one({"_id": user_id}, {"$set": {"active": True}})
    assert (await users.find_one({"_id": user_id}))["active"]  # True or 1


async def test_linking_sets_telegram_id_only_where_none(coll):
    users = coll["users"]
    user_id = (await users.insert_one({"telegram_id": None})).inserted_id
    first = await users.update_one(
        {"_id": user_id, "telegram_id": None}, {"$set": {"telegram_id": 7}}
    )
    again = await users.update_one(
        {"_id": user_id, "telegram_id": None}, {"$set": {"telegram_id": 8}}
    )
    assert (first.matched_count, again.matched_count) == (1, 0)


async def test_link_code_claim(coll):
    codes = coll["link_codes"]
    now = epoch_ms()
    await codes.insert_one(
        {"_id": "h", "user_id": ObjectId(), "expires_ms": now + 60_000, "claimed_by": 0,
         "claimed_until": 0, "expires_at": from_ms(now + 60_000)}
    )  # fmt: skip
    live = {"_id": "h", "expires_ms": {"$gt": now}}
    claim = {"$set": {"claimed_by": 11, "claimed_until": now + 30_000}}
    won = await codes.find_one_and_update(
        {**live, "claimed_by": 0}, claim, return_document=ReturnDocument.AFTER
    )
    assert won["claimed_by"] == 11
    lost = await codes.find_one_and_update({**live, "claimed_by": 0}, claim)
    assert lost is None
    # the winner again, before and after its lease
    lease_open = {**live, "claimed_by": 11, "claimed_until": {"$lt": now}}
    assert await codes.find_one_and_update(lease_open, claim) is None
    assert await codes.find_one({**live, "claimed_by": 11}, {"_id": 1}) is not None
    await codes.update_one({"_id": "h"}, {"$set": {"claimed_until": 0}})
    assert await codes.find_one_and_update(lease_open, claim) is not None
    expired = {"_id": "h", "expires_ms": {"$gt": now + 120_000}, "claimed_by": 0}
    assert await codes.find_one_and_update(expired, claim) is None


async def test_one_link_code_per_user(coll):
    from pymongo.errors import DuplicateKeyError

    codes = coll["link_codes"]
    user = ObjectId()
    await codes.insert_one({"_id": "a", "user_id": user, "claimed_by": 5})
    with pytest.raises(DuplicateKeyError):
        await codes.insert_one({"_id": "b", "user_id": user, "claimed_by": 0})
    # only unclaimed codes are replaced
    assert (await codes.delete_many({"user_id": same_id(user), "claimed_by": 0})).deleted_count == 0


async def test_reset_code_replace_and_counted_tries(coll):
    codes = coll["reset_codes"]
    user = ObjectId()
    now = epoch_ms()
    for code_hash in ("first", "second"):  # a new code replaces the old one (upsert)
        await codes.replace_one(
            {"_id": user},
            {"_id": user, "code_hash": code_hash, "attempts": 0, "expires_ms": now + 600_000,
             "expires_at": from_ms(now + 600_000)},
            upsert=True,
        )  # fmt: skip
    assert [doc["code_hash"] for doc in await codes.find({}).to_list()] == ["second"]
    doc = await codes.find_one({"_id": user})
    assert isinstance(doc["expires_at"], datetime)  # written whole: stays a date
    tries = []
    for _ in range(6):
        doc = await codes.find_one_and_update(
            {"_id": user, "attempts": {"$lt": 5}, "expires_ms": {"$gt": now}},
            {"$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        tries.append(None if doc is None else doc["attempts"])
    assert tries == [1, 2, 3, 4, 5, None]
    gone = await codes.delete_one({"_id": user, "code_hash": "second"})
    assert gone.deleted_count == 1


async def test_admin_user_search(coll):
    users = coll["users"]
    docs = [
        {"username_normalized": "anna", "telegram_username": None, "first_name": None},
        {"username_normalized": None, "telegram_username": "AnnaTG", "first_name": None},
        {"username_normalized": "bob", "telegram_username": None, "first_name": "Annika"},
        {"username_normalized": "carl", "telegram_username": None, "first_name": None,
         "telegram_id": 12345},
    ]  # fmt: skip
    ids = [(await users.insert_one(doc)).inserted_id for doc in docs]

    def search(q: str, after: ObjectId | None = None) -> dict[str, Any]:
        prefix = "^" + re.escape(q)
        matches: list[dict[str, Any]] = [
            {"username_normalized": {"$regex": "^" + re.escape(q.lower())}},
            {"telegram_username": {"$regex": prefix, "$options": "i"}},
            {"first_name": {"$regex": prefix, "$options": "i"}},
        ]
        if q.isdigit():
            matches.append({"telegram_id": int(q)})
        clauses: list[dict[str, Any]] = [{"$or": matches}]
        if after is not None:
            clauses.insert(0, {"_id": {"$gt": after}})
        return {"$and": clauses}

    async def found(query: dict[str, Any]) -> list[ObjectId]:
        return [doc["_id"] for doc in await users.find(query).sort("_id", 1).limit(10).to_list()]

    assert await found(search("ann")) == ids[:3]
    assert await found(search("ann", after=ids[0])) == ids[1:3]
    assert await found(search("12345")) == [ids[3]]
    assert await found(search("a.*")) == []
    assert await found({"$and": [{"_id": {"$gt": ids[1]}}]}) == ids[2:]
    assert await found({"$or": [{"_id": ids[3]}]}) == [ids[3]]


async def test_rate_counters_erased_by_id(coll):
    counters = coll["rate_counters"]
    await counters.insert_many([{"_id": "login-user:x:1"}, {"_id": "login-user:x:2"},
                                {"_id": "login-user:y:2"}])  # fmt: skip
    result = await counters.delete_many({"_id": {"$in": ["login-user:x:1", "login-user:x:2"]}})
    assert result.deleted_count == 2


async def test_updates_of_a_sender_deleted_by_path(coll):
    updates = coll["telegram_updates"]
    await updates.insert_many(
        [
            {"_id": 1, "payload": {"message": {"from": {"id": 77}}}},
            {"_id": 2, "payload": {"callback_query": {"from": {"id": 77}}}},
            {"_id": 3, "payload": {"message": {"from": {"id": 78}}}},
        ]
    )
    for path in ("payload.message.from.id", "payload.callback_query.from.id"):
        await updates.delete_many({path: 77})
    assert [doc["_id"] for doc in await updates.find({}).to_list()] == [3]


def test_milliseconds_round_trip_exactly():
    for ms in (0, 1, 999, 1_700_000_000_123, epoch_ms()):
        assert to_ms(from_ms(ms)) == ms
        assert from_ms(ms).tzinfo is UTC


async def test_link_code_shown_to_the_first_telegram_account_only(coll):
    """preview: `offered_to` set where it is 0 or already this Telegram id (`$in` on an int)."""
    codes = coll["link_codes"]
    await codes.insert_one({"_id": "h", "user_id": ObjectId(), "expires_ms": epoch_ms() + 60_000,
                            "offered_to": 0, "claimed_by": 0, "claimed_until": 0})  # fmt: skip

    def offer(telegram_id: int) -> Any:
        return codes.find_one_and_update(
            {"_id": "h", "expires_ms": {"$gt": epoch_ms()},
             "offered_to": {"$in": [0, telegram_id]}},
            {"$set": {"offered_to": telegram_id}}, return_document=ReturnDocument.AFTER,
        )  # fmt: skip

    assert (await offer(901))["offered_to"] == 901
    assert await offer(902) is None
    assert (await offer(901))["offered_to"] == 901  # opened again
    cancel = await codes.delete_one({"_id": "h", "offered_to": 902, "claimed_by": 0})
    assert cancel.deleted_count == 0


async def test_least_recently_used_sessions_beyond_the_cap(coll):
    sessions = coll["refresh_sessions"]
    user = ObjectId()
    for n in range(5):
        await sessions.insert_one({"user_id": user, "family_id": f"f{n}", "token_hash": f"t{n}",
                                   "revoked": False, "last_used_ms": 1000 + n})  # fmt: skip
    await sessions.update_one({"family_id": "f0"}, {"$set": {"last_used_ms": 9999}})  # used
    live = {"user_id": same_id(user), "revoked": {"$in": [False, 0]}}
    extra = (
        await sessions.find(live, {"family_id": 1, "_id": 0})
        .sort("last_used_ms", -1)
        .skip(3)
        .limit(1000)
        .to_list()
    )
    assert [doc["family_id"] for doc in extra] == ["f2", "f1"]


async def test_holdings_counted_on_string_user_ids(coll):
    """Tasks.holdings: `$eq` on the string user id (index-served on nx-27017), `key` null."""
    uid = str(ObjectId())
    await coll["task_lists"].insert_many([
        {"user_id": uid, "key": "inbox", "name_normalized": None},
        {"user_id": uid, "key": None, "name_normalized": "garden"},
        {"user_id": str(ObjectId()), "key": None, "name_normalized": "garden"},
    ])  # fmt: skip
    await coll["tasks"].insert_many(
        [{"user_id": uid, "title": "a"}, {"user_id": uid, "title": "b"}]
    )
    own = {"user_id": {"$eq": uid}, "key": {"$eq": None}}
    assert await coll["task_lists"].count_documents(own) == 1
    assert await coll["tasks"].count_documents({"user_id": {"$eq": uid}}) == 2


async def test_a_used_login_hash_is_refused_the_second_time(coll):
    used = coll["used_login_hashes"]
    await used.insert_one({"_id": "abc", "expires_at": datetime.now(UTC)})
    with pytest.raises(DuplicateKeyError):
        await used.insert_one({"_id": "abc", "expires_at": datetime.now(UTC)})
