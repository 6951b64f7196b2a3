"""Access JWTs and refresh tokens through HTTP: what the Bearer check refuses, rotation,
reuse detection, families, logout, and how refresh tokens are stored."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from tests.helpers import (
    LOGOUT,
    ME,
    PASSWORD,
    access_claims,
    assert_problem,
    assert_unauthorized,
    b64url,
    bearer,
    craft_token,
    login,
    me,
    refresh,
    register,
)


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tampered(token: str, user_id: str) -> str:
    header, payload, signature = token.split(".")
    i = len(payload) // 2
    flipped = payload[:i] + ("A" if payload[i] != "A" else "B") + payload[i + 1 :]
    return f"{header}.{flipped}.{signature}"


def unsigned(token: str, user_id: str) -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(access_claims(user_id)).encode())
    return f"{header}.{payload}."


def hs512(token: str, user_id: str) -> str:
    with warnings.catch_warnings():  # PyJWT warns that our key is short for SHA-512
        warnings.simplefilter("ignore")
        return craft_token(user_id, algorithm="HS512")


FORGERIES: dict[str, Callable[[str, str], str]] = {
    "tampered-payload": tampered,
    "alg-none": unsigned,
    "other-key": lambda _, sub: craft_token(sub, key="another-key-" + "x" * 40),
    "hs512-right-key": hs512,
    "wrong-aud": lambda _, sub: craft_token(sub, aud="someone-else"),
    "wrong-iss": lambda _, sub: craft_token(sub, iss="someone-else"),
    "missing-jti": lambda _, sub: craft_token(sub, jti=None),
    "missing-exp": lambda _, sub: craft_token(sub, exp=None),
    "missing-typ": lambda _, sub: craft_token(sub, typ=None),
    "typ-refresh": lambda _, sub: craft_token(sub, typ="refresh"),
    "expired-exp": lambda _, sub: craft_token(sub, exp=1_000_000_000),
    "sub-not-an-id": lambda _, sub: craft_token("not-an-object-id"),
}


async def test_a_token_crafted_like_the_app_issues_them_is_accepted(client):
    """The control for the forgeries below: only the one thing each changes is wrong."""
    user = (await register(client, "alice"))["user"]

    resp = await me(client, craft_token(user["id"]))

    assert resp.status == 200
    assert (await resp.json())["id"] == user["id"]


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_forged_or_invalid_access_token_is_refused(client, forge):
    registered = await register(client, "alice")

    resp = await me(client, forge(registered["access_token"], registered["user"]["id"]))

    await assert_unauthorized(resp)


async def test_bearer_scheme_is_case_insensitive(client):
    registered = await register(client, "alice")

    resp = await client.get(ME, headers={"Authorization": f"bearer {registered['access_token']}"})

    assert resp.status == 200


async def test_an_access_token_expires_at_its_exp(client):
    """Crafted like the app's own tokens, for a real user: valid until `exp`, refused from
    then on (expiry to the second is in tests/unit/test_tokens.py, with a clock)."""
    user = (await register(client, "alice"))["user"]
    now = int(time.time())
    live = craft_token(user["id"], iat=now - 890, exp=now + 60)
    expired = craft_token(user["id"], iat=now - 901, exp=now - 1)

    assert (await me(client, live)).status == 200
    await assert_unauthorized(await me(client, expired))


async def test_refresh_token_is_not_an_access_token(client):
    registered = await register(client, "alice")

    await assert_unauthorized(await me(client, registered["refresh_token"]))


async def test_access_token_of_a_deleted_user_is_refused(client, db):
    registered = await register(client, "alice")
    await db.users.delete_one({"_id": ObjectId(registered["user"]["id"])})

    await assert_problem(await me(client, registered["access_token"]), 401)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="}, {"Authorization": "Bearer"}],
    ids=["no-authorization", "unknown-scheme", "bearer-without-token"],
)
async def test_missing_or_malformed_credentials_are_refused(client, headers):
    resp = await client.get(ME, headers=headers)

    await assert_unauthorized(resp)


async def test_logout_requires_credentials(client):
    registered = await register(client, "alice")

    resp = await client.post(LOGOUT, json={"refresh_token": registered["refresh_token"]})

    await assert_unauthorized(resp)
    assert (await refresh(client, registered["refresh_token"])).status == 200


async def test_unknown_refresh_token_is_refused(client):
    await register(client, "alice")

    await assert_problem(await refresh(client, "x" * 43), 401)


async def test_refresh_spends_the_token_and_reuse_revokes_the_family(client, db):
    first = await register(client, "alice")
    rotated = await refresh(client, first["refresh_token"])
    assert rotated.status == 200
    second = await rotated.json()

    reuse = await refresh(client, first["refresh_token"])

    await assert_problem(reuse, 401)
    await assert_problem(await refresh(client, second["refresh_token"]), 401)
    sessions = await db.refresh_sessions.find({}).to_list()
    assert [s["revoked"] for s in sessions] == [True]


@pytest.mark.parametrize("ending", ["logout", "reuse"])
async def test_two_logins_are_independent_families(client, ending):
    a = await register(client, "alice")
    b = await login(client, "alice")

    if ending == "logout":
        resp = await client.post(
            LOGOUT, json={"refresh_token": a["refresh_token"]}, headers=bearer(a["access_token"])
        )
        assert resp.status == 204
    else:
        assert (await refresh(client, a["refresh_token"])).status == 200
        await assert_problem(await refresh(client, a["refresh_token"]), 401)

    resp = await refresh(client, b["refresh_token"])
    assert resp.status == 200, await resp.text()


async def test_concurrent_double_refresh_lets_at_most_one_through_and_revokes_the_family(
    client, db
):
    """Five sessions, each refreshed twice at once: more chances to hit the real race.
    Which presenter wins is the server's choice: the loser revokes the family, possibly
    before the winner's rotation lands, so both may get 401. Either way the token was spent
    exactly once and the family is dead."""
    tokens = [(await register(client, "alice"))["refresh_token"]]
    tokens += [(await login(client, "alice"))["refresh_token"] for _ in range(4)]

    responses = await asyncio.gather(*(refresh(client, t) for t in tokens for _ in range(2)))

    for i, token in enumerate(tokens):
        pair = responses[2 * i : 2 * i + 2]
        statuses = sorted(resp.status for resp in pair)
        assert statuses in ([200, 401], [401, 401]), statuses
        for resp in pair:
            if resp.status == 200:
                new_token = (await resp.json())["refresh_token"]
                await assert_problem(await refresh(client, new_token), 401)
            else:
                await assert_problem(resp, 401)
        await assert_problem(await refresh(client, token), 401)
    sessions = await db.refresh_sessions.find({}).to_list()
    assert len(sessions) == 5
    assert all(s["revoked"] for s in sessions), sessions
    spent = await db.spent_refresh_tokens.find({}).to_list()
    assert sorted(s["token_hash"] for s in spent) == sorted(sha256(t) for t in tokens)


async def test_a_refresh_for_a_deleted_user_is_refused(client, db):
    registered = await register(client, "alice")
    await db.users.delete_one({"_id": ObjectId(registered["user"]["id"])})

    await assert_unauthorized(await refresh(client, registered["refresh_token"]))


async def test_logout_with_an_already_spent_refresh_token_ends_the_session(client, db):
    first = await register(client, "alice")
    second = await (await refresh(client, first["refresh_token"])).json()

    resp = await client.post(
        LOGOUT,
        json={"refresh_token": first["refresh_token"]},
        headers=bearer(first["access_token"]),
    )

    assert resp.status == 204
    assert [s["revoked"] for s in await db.refresh_sessions.find({}).to_list()] == [True]
    await assert_unauthorized(await refresh(client, second["refresh_token"]))


async def test_logout_with_another_users_refresh_token_changes_nothing(client):
    alice = await register(client, "alice")
    bob = await register(client, "bob")

    resp = await client.post(
        LOGOUT, json={"refresh_token": alice["refresh_token"]}, headers=bearer(bob["access_token"])
    )

    assert resp.status == 204
    assert (await refresh(client, alice["refresh_token"])).status == 200


async def test_expired_refresh_token_is_refused(client, db):
    token = (await register(client, "alice"))["refresh_token"]
    past = datetime.now(UTC) - timedelta(seconds=1)
    await db.refresh_sessions.update_many({}, {"$set": {"expires_at": past}})

    await assert_problem(await refresh(client, token), 401)


async def test_refresh_tokens_are_stored_only_as_sha256_hashes(client, db):
    first = await register(client, "alice")
    second = await (await refresh(client, first["refresh_token"])).json()
    third = await login(client, "alice", PASSWORD)
    raw = [first["refresh_token"], second["refresh_token"], third["refresh_token"]]

    sessions = await db.refresh_sessions.find({}).to_list()
    spent = await db.spent_refresh_tokens.find({}).to_list()

    stored = repr(sessions) + repr(spent)
    for token in raw:
        assert token not in stored
    assert sorted(s["token_hash"] for s in sessions) == sorted(
        [sha256(second["refresh_token"]), sha256(third["refresh_token"])]
    )
    assert [s["token_hash"] for s in spent] == [sha256(first["refresh_token"])]
