"""The auth routes through HTTP: the happy path of each, usernames, duplicates, credentials,
and how passwords are stored."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import jwt
import pytest

from tests.conftest import TEST_JWT_SECRET
from tests.helpers import (
    LOGIN,
    LOGOUT,
    PASSWORD,
    REFRESH,
    REGISTER,
    assert_problem,
    bearer,
    login,
    me,
    refresh,
    register,
)

DEFAULT_ACCESS_TTL = 15 * 60


def assert_token_pair(body: dict[str, Any]) -> dict[str, Any]:
    """A token pair as DESIGN.md defines it; returns the access token's claims."""
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == DEFAULT_ACCESS_TTL
    assert isinstance(body["refresh_token"], str)
    assert len(body["refresh_token"]) >= 43  # 256 bits, base64url
    return jwt.decode(
        body["access_token"],
        TEST_JWT_SECRET,
        algorithms=["HS256"],
        audience="assistant-api",
        issuer="assistant-backend",
    )


async def test_register_answers_201_with_token_pair_and_user(client, db):
    resp = await client.post(REGISTER, json={"username": "alice", "password": PASSWORD})

    assert resp.status == 201
    body = await resp.json()
    claims = assert_token_pair(body)
    user = body["user"]
    assert user["username"] == "alice"
    assert user["has_password"] is True
    assert claims["sub"] == user["id"]
    assert claims["typ"] == "access"
    assert [key for key in user if "password" in key.lower()] == ["has_password"]
    assert [key for key in body if "password" in key.lower()] == []
    assert await db.users.count_documents({}) == 1


async def test_login_with_json_answers_200_with_token_pair(client):
    registered = await register(client, "alice")

    resp = await client.post(LOGIN, json={"username": "alice", "password": PASSWORD})

    assert resp.status == 200
    body = await resp.json()
    assert assert_token_pair(body)["sub"] == registered["user"]["id"]
    assert body["refresh_token"] != registered["refresh_token"]
    assert "user" not in body


@pytest.mark.parametrize(
    "extra", [{}, {"grant_type": "password"}], ids=["plain-form", "grant-type-password"]
)
async def test_login_with_oauth2_password_form(client, extra):
    registered = await register(client, "alice")

    resp = await client.post(LOGIN, data={"username": "alice", "password": PASSWORD, **extra})

    assert resp.status == 200, await resp.text()
    assert assert_token_pair(await resp.json())["sub"] == registered["user"]["id"]


async def test_refresh_answers_200_with_a_new_working_pair(client):
    registered = await register(client, "alice")

    resp = await refresh(client, registered["refresh_token"])

    assert resp.status == 200
    pair = await resp.json()
    assert assert_token_pair(pair)["sub"] == registered["user"]["id"]
    assert pair["refresh_token"] != registered["refresh_token"]
    assert pair["access_token"] != registered["access_token"]
    assert (await me(client, pair["access_token"])).status == 200
    assert (await refresh(client, pair["refresh_token"])).status == 200


async def test_logout_answers_204_and_ends_the_session(client):
    registered = await register(client, "alice")

    resp = await client.post(
        LOGOUT,
        json={"refresh_token": registered["refresh_token"]},
        headers=bearer(registered["access_token"]),
    )

    assert resp.status == 204
    assert await resp.read() == b""
    await assert_problem(await refresh(client, registered["refresh_token"]), 401)


async def test_me_answers_200_with_the_current_user(client):
    registered = await register(client, "alice")

    resp = await me(client, registered["access_token"])

    assert resp.status == 200
    assert await resp.json() == registered["user"]


async def test_usernames_are_case_insensitive(client, db):
    registered = await register(client, "Alice")

    pair = await login(client, "alice")
    taken = await client.post(REGISTER, json={"username": "ALICE", "password": PASSWORD})

    assert (
        jwt.decode(pair["access_token"], options={"verify_signature": False})["sub"]
        == (registered["user"]["id"])
    )
    body = await assert_problem(taken, 409)
    assert "taken" in body["detail"]
    assert registered["user"]["username"] == "Alice"  # shown as typed
    assert await db.users.count_documents({}) == 1


async def test_duplicate_username_answers_409_problem(client, db):
    await register(client, "alice")

    resp = await client.post(REGISTER, json={"username": "alice", "password": "another-password"})

    await assert_problem(resp, 409)
    assert await db.users.count_documents({}) == 1
    await login(client, "alice", PASSWORD)  # the first account is untouched


async def test_twenty_concurrent_registrations_create_exactly_one_user(make_client, db):
    # The per-address registration limit is not what this test is about.
    client = await make_client(register_max_per_address=100)

    async def attempt(i: int) -> tuple[int, str]:
        resp = await client.post(REGISTER, json={"username": "racer", "password": f"{PASSWORD}{i}"})
        return resp.status, await resp.text()

    results = await asyncio.gather(*(attempt(i) for i in range(20)))

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: 19}, results
    assert await db.users.count_documents({}) == 1
    assert await db.users.count_documents({"username_normalized": "racer"}) == 1


async def test_wrong_password_and_unknown_user_get_the_same_401(client):
    await register(client, "alice")

    wrong_password = await client.post(
        LOGIN, json={"username": "alice", "password": "not-the-password"}
    )
    unknown_user = await client.post(
        LOGIN, json={"username": "nobody", "password": "not-the-password"}
    )

    wrong_body = await assert_problem(wrong_password, 401)
    unknown_body = await assert_problem(unknown_user, 401)
    assert wrong_body.pop("request_id") != unknown_body.pop("request_id")  # each its own
    assert wrong_body == unknown_body
    assert wrong_body["detail"] == "Incorrect username or password"


@pytest.mark.parametrize("route", ["register", "login", "refresh"])
async def test_token_responses_are_not_cacheable(client, route):
    registered = await register(client, "alice")
    requests = {
        "register": (REGISTER, {"username": "bob", "password": PASSWORD}),
        "login": (LOGIN, {"username": "alice", "password": PASSWORD}),
        "refresh": (REFRESH, {"refresh_token": registered["refresh_token"]}),
    }
    path, payload = requests[route]

    resp = await client.post(path, json=payload)

    assert resp.status in (200, 201), await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"


async def test_password_is_stored_only_as_an_argon2id_hash(client, db):
    await register(client, "alice")

    document = await db.users.find_one({"username_normalized": "alice"})

    assert document["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in repr(document)


async def test_login_rehashes_when_argon2_parameters_change(make_client, db):
    old = await make_client(argon2_time_cost=1)
    await register(old, "alice")
    old_hash = (await db.users.find_one({"username_normalized": "alice"}))["password_hash"]
    assert ",t=1," in old_hash

    new = await make_client(argon2_time_cost=2)
    await login(new, "alice")

    new_hash = (await db.users.find_one({"username_normalized": "alice"}))["password_hash"]
    assert new_hash.startswith("$argon2id$")
    assert ",t=2," in new_hash
    await login(new, "alice")  # the new hash verifies the same password
