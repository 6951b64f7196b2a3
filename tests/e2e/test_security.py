"""Hostile headers, secrets that must never leak, and login timing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import statistics
import time
from urllib.parse import urlencode

import jwt
import pytest

from tests.bot_helpers import BOT_TOKEN, WEBHOOK_SECRET, bot_settings, post_update, wait_handled
from tests.conftest import TEST_JWT_SECRET
from tests.fake_bot_api import text_message_update
from tests.kit.signing import sign_init_data_fields

BOT_KEY = "bot-service-token-0123456789abcdefghijklmn"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(sub: str) -> dict:
    now = int(time.time())
    return {
        "sub": sub, "iat": now, "exp": now + 600, "iss": "assistant-backend",
        "aud": "assistant-api", "jti": "x", "typ": "access",
    }  # fmt: skip


RSA_PUBLIC_TEXT = (
    "-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAL1z1t0pVZp2o7h3Q0bq3Q9d0aZy1l\n"
    "-----END PUBLIC KEY-----\n"
)


def hs256_by_hand(key: bytes, sub: str) -> str:
    """An HS256 token signed with `key`, made by hand: PyJWT itself refuses PEM keys for HMAC,
    which is the algorithm-confusion attack this guards against."""
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims(sub))}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def hostile_authorization(sub: str) -> dict[str, str]:
    """Each forged token speaks for `sub`, a user who exists: only the forgery check can
    refuse it."""
    header_none = b64({"alg": "none", "typ": "JWT"})
    return {
        # Within the 8 KiB header budget (beyond it: 431, tests/e2e/test_attacks.py).
        "oversized": "Bearer " + "a" * 8_000,
        "empty bearer": "Bearer ",
        "bearer only spaces": "Bearer     ",
        "scheme only": "Bearer",
        "non-ascii token": "Bearer токен-ключ",
        "alg none": f"Bearer {header_none}.{b64(claims(sub))}.",
        "alg none uppercase": f"Bearer {b64({'alg': 'NONE'})}.{b64(claims(sub))}.",
        "hs256 with public key text": "Bearer " + hs256_by_hand(RSA_PUBLIC_TEXT.encode(), sub),
        "kid header": "Bearer "
        + jwt.encode(claims(sub), "other-key-0123456789abcdefghijklmnop", algorithm="HS256",
                     headers={"kid": "../../jwt_secret"}),
        "jku header": "Bearer "
        + jwt.encode(claims(sub), "other-key-0123456789abcdefghijklmnop", algorithm="HS256",
                     headers={"jku": "http://127.0.0.1:1/keys.json"}),
        "three dots": "Bearer a.b.c.d",
        "bot empty": "Bot ",
        "bot non-ascii": "Bot ключ",
        "tma garbage": "tma %%%%",
        "tma huge": "tma " + "a=b&" * 2000,
        "basic": "Basic " + base64.b64encode(b"alice:password").decode(),
    }  # fmt: skip


@pytest.fixture
async def api(make_client, fake_api):
    return await make_client(**bot_settings(fake_api, bot_api_tokens=BOT_KEY))


@pytest.fixture
async def user_id(api) -> str:
    """A user who exists, so a forged token for them is refused for the forgery alone."""
    creds = {"username": "victim", "password": "victim-passphrase-xyz"}
    response = await api.post("/api/auth/register", json=creds)
    assert response.status == 201
    return (await response.json())["user"]["id"]


async def test_a_genuine_token_for_that_user_is_accepted(api, user_id):
    """The control for the forgeries: the same claims, signed with the real key, get in."""
    token = jwt.encode(claims(user_id), TEST_JWT_SECRET, algorithm="HS256")
    response = await api.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    assert (await response.json())["id"] == user_id


@pytest.mark.parametrize("name", list(hostile_authorization("x")))
async def test_hostile_authorization_headers_are_401(api, user_id, name):
    header = hostile_authorization(user_id)[name]
    response = await api.get("/api/auth/me", headers={"Authorization": header})
    assert response.status == 401, (name, response.status)
    assert response.content_type == "application/problem+json"
    assert "WWW-Authenticate" in response.headers


@pytest.mark.parametrize(
    "raw",
    [b"Bearer \x01\x02", b"Bearer \xff\xfe", b"Bot \xff", b"tma a=\xff&hash=1", b"Bot \x00"],
)
async def test_raw_bytes_in_authorization_never_cause_a_500(api, raw):
    # Sent over a bare socket: HTTP clients refuse to send such headers at all.
    reader, writer = await asyncio.open_connection(api.host, api.port)
    writer.write(
        b"GET /api/auth/me HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
        b"Authorization: " + raw + b"\r\n\r\n"
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    status = int(status_line.split()[1])
    assert status in (400, 401), status_line


async def test_raw_bytes_in_the_webhook_secret_never_cause_a_500(api):
    reader, writer = await asyncio.open_connection(api.host, api.port)
    body = b'{"update_id": 1}'
    writer.write(
        b"POST /telegram/webhook HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
        b"X-Telegram-Bot-Api-Secret-Token: \xff\xfe\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert int(status_line.split()[1]) == 401, status_line


async def test_a_kid_header_neither_picks_the_key_nor_spoils_a_genuine_token(api, user_id):
    # The key is never looked up by kid: with the real key it is simply ignored.
    token = jwt.encode(claims(user_id), TEST_JWT_SECRET, algorithm="HS256", headers={"kid": "x"})
    response = await api.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200


@pytest.mark.parametrize(
    "telegram_id", ["9" * 40, "-1", "-9007199254740993", "1e5", "0x10", "１２３", "1" * 17]
)
async def test_hostile_telegram_user_ids_are_422(api, db, telegram_id):
    response = await api.get(
        "/api/auth/me",
        headers={"Authorization": f"Bot {BOT_KEY}", "X-Telegram-User-Id": telegram_id},
    )
    assert response.status == 422
    assert await db["users"].count_documents({}) == 0


def signed_init_data(user: dict) -> str:
    fields = {"auth_date": str(int(time.time())), "user": json.dumps(user)}
    return urlencode(sign_init_data_fields(fields, BOT_TOKEN))


async def test_no_secret_reaches_a_log_record_or_an_error_response(
    make_client, fake_api, caplog, db
):
    caplog.set_level(logging.DEBUG)
    password = "Unique-Password-For-Leak-Check-42"
    api = await make_client(**bot_settings(fake_api, bot_api_tokens=BOT_KEY))
    secrets = [password, BOT_TOKEN, WEBHOOK_SECRET, BOT_KEY, TEST_JWT_SECRET]
    bodies: list[str] = []

    async def call(method: str, path: str, **kwargs) -> dict:
        response = await api.request(method, path, **kwargs)
        text = await response.text()
        if response.status >= 400:
            bodies.append(text)
        return json.loads(text) if text and "json" in response.content_type else {}

    creds = {"username": "leaky", "password": password}
    pair = await call("POST", "/api/auth/register", json=creds)
    await call("POST", "/api/auth/register", json=creds)  # 409
    await call("POST", "/api/auth/register", json={"username": "x", "password": password})
    await call("POST", "/api/auth/register", json={**creds, "password": password * 5})
    await call("POST", "/api/auth/login", json={**creds, "password": password + "x"})
    await call("POST", "/api/auth/login", data=creds)
    login = await call("POST", "/api/auth/login", json=creds)
    secrets += [pair["access_token"], pair["refresh_token"], login["access_token"]]
    secrets.append(login["refresh_token"])
    bearer = {"Authorization": f"Bearer {login['access_token']}"}
    await call("GET", "/api/auth/me", headers=bearer)
    refreshed = await call(
        "POST", "/api/auth/refresh", json={"refresh_token": login["refresh_token"]}
    )
    secrets += [refreshed["access_token"], refreshed["refresh_token"]]
    await call("POST", "/api/auth/refresh", json={"refresh_token": login["refresh_token"]})  # reuse
    await call("POST", "/api/auth/logout", json={"refresh_token": pair["refresh_token"]},
               headers=bearer)  # fmt: skip
    await call("GET", "/api/auth/me", headers={"Authorization": f"Bearer {pair['refresh_token']}"})
    await call("GET", "/api/auth/me", headers={"Authorization": f"Bot {BOT_KEY}",
                                               "X-Telegram-User-Id": "77"})  # fmt: skip
    await call("GET", "/api/auth/me", headers={"Authorization": f"Bot {BOT_KEY}x"})
    init_data = signed_init_data({"id": 78, "first_name": "Leak"})
    mini = await call("POST", "/api/auth/telegram", json={"init_data": init_data})
    secrets += [mini["access_token"], mini["refresh_token"]]
    await call("GET", "/api/auth/me", headers={"Authorization": f"tma {init_data}"})
    await call("GET", "/api/auth/me", headers={"Authorization": f"tma {init_data}x"})
    await post_update(api, text_message_update("/start", user_id=79, update_id=900))
    await post_update(api, text_message_update("/me", user_id=79, update_id=901))
    await post_update(api, text_message_update("/start", update_id=902), secret="wrong-secret")
    await fake_api.wait_for("sendMessage", count=2)
    for update_id in (900, 901):  # every handler has finished, its logging included
        await wait_handled(db, update_id)

    assert len(caplog.records) > 50  # DEBUG really was on, for every library
    hashes = [u["password_hash"] async for u in db["users"].find({"password_hash": {"$ne": None}})]
    assert hashes
    secrets += hashes
    for record in caplog.records:
        message = record.getMessage()
        for secret in secrets:
            assert secret not in message, f"{record.name} logged a secret: {message[:200]}"
    assert len(bodies) >= 8
    for body in bodies:
        for secret in secrets:
            assert secret not in body, f"an error response carries a secret: {body[:200]}"


@pytest.mark.slow
@pytest.mark.timing
async def test_unknown_user_and_wrong_password_take_the_same_time(make_client):
    # Production-strength argon2: the difference to hide is the hash, so it must be real.
    client = await make_client(
        argon2_time_cost=2, argon2_memory_cost=19 * 1024, argon2_parallelism=1,
        login_max_failures_per_username=10_000, login_max_failures_per_address=10_000,
        login_max_failures_per_username_and_address=10_000,
    )  # fmt: skip
    creds = {"username": "timed", "password": "timing-passphrase-xyz"}
    assert (await client.post("/api/auth/register", json=creds)).status == 201

    async def timed(username: str) -> float:
        started = time.perf_counter()
        response = await client.post(
            "/api/auth/login", json={"username": username, "password": "wrong-passphrase"}
        )
        elapsed = time.perf_counter() - started
        assert response.status == 401
        return elapsed

    for _ in range(5):  # warm up both paths
        await timed("timed")
        await timed("nobody-here")
    wrong, unknown = [], []
    for _ in range(40):  # interleaved, so drift on a noisy machine hits both alike
        wrong.append(await timed("timed"))
        unknown.append(await timed("nobody-here"))
    a, b = statistics.median(wrong), statistics.median(unknown)
    assert abs(a - b) / max(a, b) < 0.15, (
        f"wrong password {a * 1000:.1f} ms, unknown {b * 1000:.1f} ms"
    )


async def test_jwt_secret_rotation_keeps_old_tokens_valid_until_they_expire(make_client):
    new_key = "new-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
    old = await make_client()
    creds = {"username": "rotator", "password": "rotation-passphrase-xyz"}
    old_token = (await (await old.post("/api/auth/register", json=creds)).json())["access_token"]

    rotating = await make_client(jwt_secret=new_key, jwt_previous_secrets=TEST_JWT_SECRET)
    me = await rotating.get("/api/auth/me", headers={"Authorization": f"Bearer {old_token}"})
    assert me.status == 200
    fresh = await (await rotating.post("/api/auth/login", json=creds)).json()
    header = jwt.get_unverified_header(fresh["access_token"])
    assert header["alg"] == "HS256"
    jwt.decode(fresh["access_token"], new_key, algorithms=["HS256"], audience="assistant-api")

    rotated = await make_client(jwt_secret=new_key)
    gone = await rotated.get("/api/auth/me", headers={"Authorization": f"Bearer {old_token}"})
    assert gone.status == 401
    bearer = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert (await rotated.get("/api/auth/me", headers=bearer)).status == 200
