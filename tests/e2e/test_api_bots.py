"""Bots (`Authorization: Bot`) and Mini Apps (`tma`, POST /api/auth/telegram) on the API."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from tests.bot_helpers import BOT_TOKEN, bot_settings, post_update
from tests.fake_bot_api import text_message_update
from tests.kit.signing import sign_init_data_fields, user_json

BOT_KEY_OLD = "bot-service-token-old-0123456789abcdefghij"
BOT_KEY_NEW = "bot-service-token-new-0123456789abcdefghij"


def init_data(
    user: dict | None = None,
    *,
    bot_token: str = BOT_TOKEN,
    auth_date: int | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Fields signed exactly as Telegram documents it (written here independently of the app):
    key = HMAC_SHA256("WebAppData", bot_token); hash = HMAC_SHA256(key, data-check-string)."""
    fields = {
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        **(extra or {}),
    }
    if user is not None:
        fields["user"] = user_json(user)
    return sign_init_data_fields(fields, bot_token)


def encode(fields: dict[str, str]) -> str:
    return urlencode(fields)


MINI_USER = {"id": 4242, "first_name": "Мария", "username": "maria", "language_code": "ru"}


@pytest.fixture
async def api(make_client, fake_api):
    """The app with two bot service tokens (a rotation in progress) and a bot token."""
    return await make_client(
        **bot_settings(fake_api, bot_api_tokens=f"{BOT_KEY_OLD},{BOT_KEY_NEW}")
    )


def bot(key: str, telegram_user: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bot {key}"}
    if telegram_user is not None:
        headers["X-Telegram-User-Id"] = telegram_user
    return headers


# --- Bot service tokens ---------------------------------------------------------------


@pytest.mark.parametrize("key", [BOT_KEY_OLD, BOT_KEY_NEW])
async def test_each_token_of_the_rotated_list_is_accepted(api, key):
    response = await api.get("/api/auth/me", headers=bot(key))
    assert response.status == 200
    body = await response.json()
    assert body["kind"] == "bot"
    assert key not in json.dumps(body)  # the principal is named by a fingerprint


async def test_the_two_tokens_are_distinct_principals(api):
    old = await (await api.get("/api/auth/me", headers=bot(BOT_KEY_OLD))).json()
    new = await (await api.get("/api/auth/me", headers=bot(BOT_KEY_NEW))).json()
    assert old["name"] != new["name"]


@pytest.mark.parametrize(
    "key", ["wrong", BOT_KEY_OLD[:-1], BOT_KEY_OLD + "x", BOT_KEY_OLD.upper(), "ключ"]
)
async def test_invalid_bot_token_is_401(api, key):
    response = await api.get("/api/auth/me", headers=bot(key))
    assert response.status == 401
    assert "Bot" in response.headers["WWW-Authenticate"]


async def test_bot_tokens_removed_from_the_list_stop_working(make_client, fake_api):
    client = await make_client(**bot_settings(fake_api, bot_api_tokens=BOT_KEY_NEW))
    assert (await client.get("/api/auth/me", headers=bot(BOT_KEY_OLD))).status == 401
    assert (await client.get("/api/auth/me", headers=bot(BOT_KEY_NEW))).status == 200


async def test_bot_acting_for_a_new_telegram_user_creates_them(api, db):
    response = await api.get("/api/auth/me", headers=bot(BOT_KEY_NEW, "9001"))
    assert response.status == 200
    body = await response.json()
    assert body["kind"] == "user"
    assert body["telegram_id"] == 9001
    assert await db["users"].count_documents({"telegram_id": 9001}) == 1
    again = await (await api.get("/api/auth/me", headers=bot(BOT_KEY_OLD, "9001"))).json()
    assert again["id"] == body["id"]
    assert await db["users"].count_documents({"telegram_id": 9001}) == 1


async def test_bot_acting_for_an_existing_telegram_user_sees_the_same_account(api, fake_api, db):
    await post_update(api, text_message_update("/start", user_id=9002, first_name="Olga"))
    await fake_api.wait_for("sendMessage")
    [user] = await db["users"].find({"telegram_id": 9002}).to_list()
    body = await (await api.get("/api/auth/me", headers=bot(BOT_KEY_NEW, "9002"))).json()
    assert body["id"] == str(user["_id"])
    assert body["first_name"] == "Olga"


@pytest.mark.parametrize(
    "value", ["abc", "-5", "0", "1.5", "", "7 7", "99999999999999999999", str(2**53), "٣"]
)
async def test_invalid_telegram_user_id_is_422_and_creates_nothing(api, db, value):
    response = await api.get("/api/auth/me", headers=bot(BOT_KEY_NEW, value))
    assert response.status == 422
    body = await response.json()
    assert body["errors"][0]["field"] == "X-Telegram-User-Id"
    assert await db["users"].count_documents({}) == 0


async def test_invalid_user_header_with_a_bad_token_is_still_401(api):
    response = await api.get("/api/auth/me", headers=bot("wrong", "abc"))
    assert response.status == 401


async def test_bot_without_a_user_cannot_log_out(api):
    response = await api.post(
        "/api/auth/logout", json={"refresh_token": "x"}, headers=bot(BOT_KEY_NEW)
    )
    assert response.status == 403
    assert "X-Telegram-User-Id" in (await response.json())["detail"]


# --- Mini App: POST /api/auth/telegram and `tma` --------------------------------------


async def test_mini_app_sign_in_returns_a_token_pair_for_the_telegram_user(api, db):
    response = await api.post(
        "/api/auth/telegram", json={"init_data": encode(init_data(MINI_USER))}
    )
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    pair = await response.json()
    assert pair["token_type"] == "bearer"
    me = await api.get("/api/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    body = await me.json()
    assert body["telegram_id"] == 4242
    assert body["first_name"] == "Мария"
    assert body["language_code"] == "ru"
    refreshed = await api.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status == 200
    # Signing in again finds the same user, in a new session.
    again = await api.post("/api/auth/telegram", json={"init_data": encode(init_data(MINI_USER))})
    assert again.status == 200
    second = await again.json()
    assert second["refresh_token"] != pair["refresh_token"]
    me_again = await api.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert (await me_again.json())["id"] == body["id"]
    assert await db["users"].count_documents({"telegram_id": 4242}) == 1
    assert await db["refresh_sessions"].count_documents({}) == 2


def tampered_user() -> str:
    fields = init_data(MINI_USER)
    fields["user"] = fields["user"].replace("4242", "4243")
    return encode(fields)


def with_hash_of_another_bot() -> str:
    return encode(init_data(MINI_USER, bot_token="654321:ANOTHER-bot-token-abcdefghijklmnop"))


def stale() -> str:
    return encode(init_data(MINI_USER, auth_date=int(time.time()) - 25 * 3600))


def from_the_future() -> str:
    return encode(init_data(MINI_USER, auth_date=int(time.time()) + 3600))


def without_hash() -> str:
    fields = init_data(MINI_USER)
    del fields["hash"]
    return encode(fields)


def with_extra_field_added() -> str:
    return encode(init_data(MINI_USER)) + "&start_param=admin"


def with_repeated_field() -> str:
    return encode(init_data(MINI_USER)) + "&auth_date=1"


@pytest.mark.parametrize(
    "make",
    [
        tampered_user,
        with_hash_of_another_bot,
        stale,
        from_the_future,
        without_hash,
        with_extra_field_added,
        with_repeated_field,
    ],
)
async def test_forged_or_stale_init_data_is_401_and_creates_nothing(api, db, make):
    response = await api.post("/api/auth/telegram", json={"init_data": make()})
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    tma = await api.get("/api/auth/me", headers={"Authorization": f"tma {make()}"})
    assert tma.status == 401
    assert await db["users"].count_documents({}) == 0


@pytest.mark.parametrize(
    ("user", "field"),
    [
        (None, "init_data.user"),
        ({"first_name": "No id"}, "init_data.user.id"),
        ({"id": -1}, "init_data.user.id"),
        ({"id": "42"}, "init_data.user.id"),
    ],
)
async def test_signed_init_data_without_a_valid_user_is_422(api, db, user, field):
    response = await api.post("/api/auth/telegram", json={"init_data": encode(init_data(user))})
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == field
    assert await db["users"].count_documents({}) == 0


async def test_max_age_is_configurable(make_client, fake_api):
    client = await make_client(**bot_settings(fake_api, init_data_max_age=60))
    old = encode(init_data(MINI_USER, auth_date=int(time.time()) - 120))
    response = await client.post("/api/auth/telegram", json={"init_data": old})
    assert response.status == 401


async def test_tma_authorization_acts_for_the_mini_app_user(api, db):
    header = {"Authorization": f"tma {encode(init_data(MINI_USER))}"}
    response = await api.get("/api/auth/me", headers=header)
    assert response.status == 200
    assert (await response.json())["telegram_id"] == 4242
    again = await api.get("/api/auth/me", headers=header)
    assert again.status == 200
    assert await db["users"].count_documents({"telegram_id": 4242}) == 1


async def test_mini_app_sign_in_is_404_without_a_bot_token(client):
    response = await client.post(
        "/api/auth/telegram", json={"init_data": encode(init_data(MINI_USER))}
    )
    assert response.status == 404
    assert (await client.get("/api/auth/me", headers={"Authorization": "tma a=b"})).status == 401


@pytest.mark.parametrize(
    "body", [{}, {"init_data": ""}, {"init_data": 5}, {"init_data": "x" * 5000}]
)
async def test_bad_telegram_sign_in_body_is_422(api, body):
    response = await api.post("/api/auth/telegram", json=body)
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "init_data"


async def test_a_changed_mini_app_profile_reaches_the_account(api):
    first = {"Authorization": f"tma {encode(init_data({**MINI_USER, 'first_name': 'Anna'}))}"}
    assert (await (await api.get("/api/auth/me", headers=first)).json())["first_name"] == "Anna"
    second = {"Authorization": f"tma {encode(init_data({**MINI_USER, 'first_name': 'Anya'}))}"}
    assert (await (await api.get("/api/auth/me", headers=second)).json())["first_name"] == "Anya"
