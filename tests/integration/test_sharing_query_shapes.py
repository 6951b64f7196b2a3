"""Every query shape the sharing code relies on (server/services/sharing/), against the
test's server (embedded nx-27017, or MongoDB with MONGODB_URI): equality as `$eq` on string
keys (what the embedded server serves from an index), integer epoch-ms ranges, the claim
that deletes, and the string `$set`s of a transfer."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from tests.integration.tasks_env import TasksEnv

L1, L2 = str(ObjectId()), str(ObjectId())
OWNER, A, B = str(ObjectId()), str(ObjectId()), str(ObjectId())


async def members(env: TasksEnv) -> Any:
    collection = env.db["list_members"]  # the real collection and indexes
    await collection.insert_many([
        {"_id": f"{L1}:{A}", "list_id": L1, "user_id": A, "owner_id": OWNER, "role": "editor",
         "joined_ms": 2},
        {"_id": f"{L1}:{B}", "list_id": L1, "user_id": B, "owner_id": OWNER, "role": "viewer",
         "joined_ms": 1},
        {"_id": f"{L2}:{A}", "list_id": L2, "user_id": A, "owner_id": B, "role": "viewer",
         "joined_ms": 3},
    ])  # fmt: skip
    return collection


async def test_membership_by_its_string_id_and_by_user_list_and_owner(env: TasksEnv):
    collection = await members(env)
    found = await collection.find_one({"_id": {"$eq": f"{L1}:{A}"}})
    assert found is not None
    assert found["role"] == "editor"
    assert await collection.find_one({"_id": {"$eq": f"{L2}:{B}"}}) is None
    mine = await collection.find({"user_id": {"$eq": A}}, {"list_id": 1}).to_list()
    assert sorted(row["list_id"] for row in mine) == sorted([L1, L2])
    eldest = await collection.find({"list_id": {"$eq": L1}}).sort("joined_ms", 1).limit(1).to_list()
    assert [row["user_id"] for row in eldest] == [B]
    owned = await collection.find({"owner_id": {"$eq": OWNER}}, {"list_id": 1}).to_list()
    assert [row["list_id"] for row in owned] == [L1, L1]


async def test_a_transfer_sets_strings_on_many_and_a_role_change_returns_the_row(env: TasksEnv):
    collection = await members(env)
    result = await collection.update_many({"list_id": {"$eq": L1}}, {"$set": {"owner_id": A}})
    assert result.modified_count == 2
    assert len(await collection.find({"owner_id": {"$eq": A}}).to_list()) == 2
    from pymongo import ReturnDocument

    row = await collection.find_one_and_update(
        {"_id": {"$eq": f"{L1}:{B}"}}, {"$set": {"role": "editor"}},
        return_document=ReturnDocument.AFTER,
    )  # fmt: skip
    assert row["role"] == "editor"
    gone = await collection.delete_one({"_id": {"$eq": f"{L1}:{B}"}})
    assert gone.deleted_count == 1


async def test_the_invite_claim_deletes_once_and_only_before_expiry(env: TasksEnv):
    invites = env.db["list_invites"]
    await invites.insert_many([
        {"_id": "open-code", "list_id": L1, "owner_id": OWNER, "role": "editor",
         "created_ms": 1, "expires_ms": 1_000},
        {"_id": "old-code", "list_id": L1, "owner_id": OWNER, "role": "editor",
         "created_ms": 1, "expires_ms": 10},
    ])  # fmt: skip
    claim = {"_id": {"$eq": "old-code"}, "expires_ms": {"$gt": 500}}
    assert await invites.find_one_and_delete(claim) is None  # expired: stays, not claimed
    claim = {"_id": {"$eq": "open-code"}, "expires_ms": {"$gt": 500}}
    assert (await invites.find_one_and_delete(claim))["list_id"] == L1
    assert await invites.find_one_and_delete(claim) is None  # spent
    listed = await invites.find({"list_id": {"$eq": L1}}).sort("created_ms", 1).to_list()
    assert [row["_id"] for row in listed] == ["old-code"]


async def test_the_collections_have_their_indexes(env: TasksEnv):
    # By their keys (the embedded server names indexes its own way).
    found = await (await env.db["list_members"].list_indexes()).to_list()
    keys = {tuple(ix["key"]) for ix in found}
    assert {("user_id", "joined_ms"), ("list_id", "joined_ms"), ("owner_id",)} <= keys
    found = await (await env.db["list_invites"].list_indexes()).to_list()
    expiry = next(ix for ix in found if tuple(ix["key"]) == ("expires_at",))
    assert expiry["expireAfterSeconds"] == 0
    assert ("list_id", "created_ms") in {tuple(ix["key"]) for ix in found}
