"""Brute-force limits, common passwords, and the headers every response carries."""

from __future__ import annotations

import asyncio

import pytest

from tests.bot_helpers import bot_settings

PASSWORD = "a-long-unusual-passphrase"


async def register(client, username: str = "alice", password: str = PASSWORD, **headers):
    return await client.post(
        "/api/auth/register", json={"username": username, "password": password}, headers=headers
    )


async def login(client, username: str = "alice", password: str = PASSWORD, **headers):
    return await client.post(
        "/api/auth/login", json={"username": username, "password": password}, headers=headers
    )


async def test_five_failures_lock_the_username_with_retry_after(client):
    assert (await register(client)).status == 201
    for _ in range(5):
        assert (await login(client, password="wrong-password")).status == 401
    blocked = await login(client)  # even the right password, until the window passes
    assert blocked.status == 429
    assert blocked.content_type == "application/problem+json"
    retry_after = int(blocked.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60


async def test_the_lock_does_not_reveal_whether_the_username_exists(client):
    assert (await register(client)).status == 201
    outcomes = {}
    for username in ("alice", "nobody"):
        statuses = [(await login(client, username, "wrong-password")).status for _ in range(6)]
        last = await login(client, username, "wrong-password")
        outcomes[username] = (statuses, last.status, (await last.json())["detail"][:20])
    assert outcomes["alice"] == outcomes["nobody"]
    assert outcomes["alice"][0] == [401] * 5 + [429]


async def test_a_correct_password_inside_the_limit_works_and_resets_nothing(client):
    assert (await register(client)).status == 201
    for _ in range(4):
        assert (await login(client, password="wrong-password")).status == 401
    assert (await login(client)).status == 200
    assert (await login(client)).status == 200  # successes are not counted as failures
    assert (await login(client, password="wrong-password")).status == 401
    assert (await login(client, password="wrong-password")).status == 429


async def test_failures_per_address_across_usernames(make_client):
    client = await make_client(login_max_failures_per_address=3)
    for name in ("aaa", "bbb", "ccc"):
        assert (await login(client, name, "wrong-password")).status == 401
    assert (await login(client, "ddd", "wrong-password")).status == 429


async def test_successful_logins_count_against_the_address_too(make_client, db):
    """Issue 22, item 11: 150 logins in a row from one address made 150 sessions."""
    client = await make_client(login_max_failures_per_address=4)
    assert (await register(client)).status == 201
    for _ in range(4):
        assert (await login(client)).status == 200
    blocked = await login(client)
    assert blocked.status == 429
    assert blocked.content_type == "application/problem+json"
    other = await login(client, **{"X-Forwarded-For": "203.0.113.9"})  # not trusted: same
    assert other.status == 429
    assert await db["refresh_sessions"].count_documents({}) == 5  # register + 4 logins


async def test_sessions_per_user_are_capped_least_recently_used_first(make_client, db):
    """Issue 22, item 11: the oldest (least recently used) session ends at the cap."""
    client = await make_client(max_sessions_per_user=3)
    first = await register(client)
    assert first.status == 201
    pairs = [await first.json()]
    for _ in range(4):
        resp = await login(client)
        assert resp.status == 200
        pairs.append(await resp.json())
    # Five sign-ins, three live sessions: the two oldest ended, their tokens with them.
    live = await db["refresh_sessions"].count_documents({"revoked": {"$in": [False, 0]}})
    assert live == 3
    for pair, alive in zip(pairs, [False, False, True, True, True], strict=True):
        me = await client.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
        )
        assert me.status == (200 if alive else 401), pair
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": pairs[0]["refresh_token"]}
    )
    assert refreshed.status == 401
    listed = await client.get(
        "/api/auth/sessions", headers={"Authorization": f"Bearer {pairs[4]['access_token']}"}
    )
    assert len((await listed.json())["items"]) == 3


async def test_forwarded_address_counts_only_with_trusted_hops(make_client):
    trusting = await make_client(login_max_failures_per_address=2, trusted_proxy_hops=1)
    for ip in ("203.0.113.1", "203.0.113.1"):
        r = await login(trusting, "someone", "wrong-password", **{"X-Forwarded-For": ip})
        assert r.status == 401
    # Another client behind the same router has its own counter; a forged left-most entry
    # (written by the client itself) does not buy a new one.
    other = await login(trusting, "x-user", "wrong-password", **{"X-Forwarded-For": "203.0.113.2"})
    assert other.status == 401
    forged = await login(
        trusting, "y-user", "wrong-password", **{"X-Forwarded-For": "1.2.3.4, 203.0.113.1"}
    )
    assert forged.status == 429


async def test_forwarded_header_is_ignored_without_trusted_hops(make_client):
    client = await make_client(login_max_failures_per_address=2)
    for ip in ("198.51.100.1", "198.51.100.2"):
        r = await login(client, f"user{ip[-1]}", "wrong-password", **{"X-Forwarded-For": ip})
        assert r.status == 401
    r = await login(client, "user3", "wrong-password", **{"X-Forwarded-For": "198.51.100.3"})
    assert r.status == 429


async def test_counters_are_shared_by_processes_on_one_database(make_client):
    first = await make_client()
    second = await make_client()  # another app on the same database, like a second dyno
    for client in (first, second, first, second, first):
        assert (await login(client, "shared", "wrong-password")).status == 401
    assert (await login(second, "shared", "wrong-password")).status == 429


async def test_concurrent_failures_never_exceed_the_limit(client, db):
    results = await asyncio.gather(*(login(client, "race", "wrong-password") for _ in range(12)))
    statuses = sorted(r.status for r in results)
    assert statuses.count(401) == 5
    assert statuses.count(429) == 7


async def test_registration_is_limited_per_address(make_client, db):
    client = await make_client(register_max_per_address=2)
    assert (await register(client, "user1")).status == 201
    assert (await register(client, "user2")).status == 201
    blocked = await register(client, "user3")
    assert blocked.status == 429
    assert "Retry-After" in blocked.headers
    assert await db["users"].count_documents({}) == 2


async def test_telegram_sign_in_is_limited_per_address(make_client, fake_api):
    client = await make_client(**bot_settings(fake_api, telegram_sign_in_max_per_address=2))
    statuses = [
        (await client.post("/api/auth/telegram", json={"init_data": "a=b&hash=00"})).status
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


@pytest.mark.parametrize("password", ["password123", "Password123", "qwertyuiop", "iloveyou1"])
async def test_common_passwords_are_refused(client, db, password):
    response = await register(client, password=password)
    assert response.status == 422
    body = await response.json()
    assert body["errors"][0]["field"] == "password"
    assert "common" in body["detail"]
    assert await db["users"].count_documents({}) == 0


async def test_cors_is_off_by_default(client):
    response = await client.options(
        "/api/auth/login",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    plain = await client.get("/health", headers={"Origin": "https://app.example.com"})
    assert "Access-Control-Allow-Origin" not in plain.headers


async def test_cors_allows_only_the_listed_origins(make_client):
    client = await make_client(cors_origins="https://app.example.com,https://b.example.com")
    preflight = await client.options(
        "/api/auth/me",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "AUTHORIZATION" in preflight.headers["Access-Control-Allow-Headers"].upper()
    actual = await client.get("/health", headers={"Origin": "https://b.example.com"})
    assert actual.headers["Access-Control-Allow-Origin"] == "https://b.example.com"
    stranger = await client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
