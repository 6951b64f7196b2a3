"""The sign-in's session cap finds a user's sessions by their string `user_key` (an indexed
equality on the embedded server; test_query_plans.py reads its plan). Sessions written before
the key existed are keyed at start (`AuthService.key_sessions`), and until then the cap finds
them by `user_id` as before: either way, none escapes the cap."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bson import ObjectId

from models.clock import utcnow
from server.keys import SERVICES
from server.services.accounts.auth import AuthService

PASSWORD = "a-long-unusual-passphrase"


async def _old_sessions(db: Any, user_id: ObjectId, n: int, tag: str = "old") -> list[str]:
    """`n` live sessions as they were written before `user_key`, used long ago."""
    families = [f"{tag}-{k}" for k in range(n)]
    await db["refresh_sessions"].insert_many(
        [
            {"user_id": user_id, "family_id": family, "token_hash": f"{tag}-hash-{k}",
             "expires_at": utcnow() + timedelta(days=1), "revoked": False,
             "created_at": utcnow(), "last_used_ms": 1_000 + k, "user_agent": None}
            for k, family in enumerate(families)
        ]
    )  # fmt: skip
    return families


async def _live(db: Any) -> set[str]:
    docs = await db["refresh_sessions"].find({"revoked": {"$in": [False, 0]}}).to_list()
    return {doc["family_id"] for doc in docs}


async def test_new_sessions_carry_the_user_key(auth: AuthService, models: Any) -> None:
    user, _ = await auth.register("alice", PASSWORD, client="192.0.2.1")
    [doc] = await models["refresh_sessions"].find({}).to_list()
    assert doc["user_key"] == str(user.id)


async def test_older_sessions_are_keyed_and_then_capped(auth: AuthService, models: Any) -> None:
    auth.max_sessions = 2
    user, _ = await auth.register("alice", PASSWORD, client="192.0.2.1")
    assert user.id is not None
    old = await _old_sessions(models, user.id, 2)
    other = ObjectId()  # another user's old session: keyed with its own id, never capped here
    [other_family] = await _old_sessions(models, other, 1, tag="other")

    await auth.key_sessions()

    assert auth.sessions_keyed
    keys = {
        d["family_id"]: d.get("user_key")
        for d in await models["refresh_sessions"].find({}).to_list()
    }
    assert keys.pop(other_family) == str(other)
    assert set(keys.values()) == {str(user.id)}
    await auth.login("alice", PASSWORD, client="192.0.2.1")
    # Four sessions of alice's (two old, register, login), cap 2: the two old ones end.
    live = await _live(models)
    assert not set(old) & live
    assert len(live - {other_family}) == 2
    assert other_family in live


async def test_before_keying_the_cap_still_finds_older_sessions(
    auth: AuthService, models: Any
) -> None:
    auth.max_sessions = 2
    user, _ = await auth.register("alice", PASSWORD, client="192.0.2.1")
    assert user.id is not None
    old = await _old_sessions(models, user.id, 2)
    assert not auth.sessions_keyed

    await auth.login("alice", PASSWORD, client="192.0.2.1")

    live = await _live(models)
    assert not set(old) & live
    assert len(live) == 2


async def test_the_app_keys_older_sessions_at_start(make_client: Any, db: Any) -> None:
    user_id = ObjectId()
    [family] = await _old_sessions(db, user_id, 1)

    client = await make_client()

    auth = client.app[SERVICES].auth
    for _ in range(500):  # the background task: wait for its outcome, at most 5 s
        if auth.sessions_keyed:
            break
        await asyncio.sleep(0.01)
    assert auth.sessions_keyed
    doc = await db["refresh_sessions"].find_one({"family_id": family})
    assert doc["user_key"] == str(user_id)
