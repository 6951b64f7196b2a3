"""Accounts through HTTP: passwords, sessions, log out everywhere, access-token revocation and
its cache bound, deleting an account, admins."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from typing import Any

import pytest
from bson import ObjectId

from server.app import create_app
from server.services.accounts.access_gate import DEFAULT_TTL
from tests.account_helpers import (
    ADMIN_USERS,
    LOGOUT_ALL,
    NEW_PASSWORD,
    SESSIONS,
    SET_PASSWORD,
    ManualClock,
    NotesOwner,
    add_notes,
    notes_of,
    traces_of,
)
from tests.bot_helpers import bot_settings
from tests.conftest import CHEAP_ARGON2, TEST_JWT_SECRET
from tests.helpers import (
    ME,
    PASSWORD,
    assert_problem,
    bearer,
    craft_token,
    login,
    me,
    refresh,
    register,
)


def claims_of(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


async def change_password(client, token: str, current: str | None, new: str = NEW_PASSWORD):
    body: dict[str, Any] = {"new_password": new}
    if current is not None:
        body["current_password"] = current
    return await client.post(SET_PASSWORD, json=body, headers=bearer(token))


# --- passwords ---------------------------------------------------------------------------


async def test_a_stolen_access_token_dies_with_the_victims_password_change(client):
    victim = await register(client, "victim")
    stolen = victim["access_token"]  # the thief copied it
    other = await login(client, "victim")  # and a session on another device
    assert (await me(client, stolen)).status == 200

    resp = await change_password(client, victim["access_token"], PASSWORD)
    assert resp.status == 200, await resp.text()
    fresh = await resp.json()
    assert resp.headers["Cache-Control"] == "no-store"

    assert (await me(client, stolen)).status == 401  # at once, not at expiry
    assert (await me(client, other["access_token"])).status == 401
    assert (await refresh(client, other["refresh_token"])).status == 401
    assert (await refresh(client, victim["refresh_token"])).status == 401
    assert (await me(client, fresh["access_token"])).status == 200
    assert (await refresh(client, fresh["refresh_token"])).status == 200
    bad = await client.post("/api/auth/login", json={"username": "victim", "password": PASSWORD})
    await assert_problem(bad, 401)
    await login(client, "victim", NEW_PASSWORD)


async def test_changing_a_password_needs_the_current_one(client):
    user = await register(client, "carol")
    missing = await assert_problem(await change_password(client, user["access_token"], None), 422)
    assert missing["errors"][0]["field"] == "current_password"
    wrong = await assert_problem(await change_password(client, user["access_token"], "nope"), 422)
    assert wrong["errors"][0] == {
        "field": "current_password",
        "message": "current_password is wrong",
        "type": "wrong_password",
    }
    common = await change_password(client, user["access_token"], PASSWORD, new="password123")
    assert (await assert_problem(common, 422))["errors"][0]["field"] == "new_password"
    assert (await me(client, user["access_token"])).status == 200  # nothing changed


async def test_current_password_checks_are_throttled_like_logins(make_client):
    client = await make_client(login_max_failures_per_username=2)
    user = await register(client, "dora")
    for _ in range(2):
        await assert_problem(await change_password(client, user["access_token"], "wrong"), 422)
    limited = await change_password(client, user["access_token"], PASSWORD)
    await assert_problem(limited, 429)
    # ... and the same counter guards the login form
    resp = await client.post("/api/auth/login", json={"username": "dora", "password": PASSWORD})
    await assert_problem(resp, 429)


async def test_a_telegram_only_user_sets_a_first_password_without_a_current_one(
    make_client, fake_api, db
):
    client = await make_client(**bot_settings(fake_api, bot_api_tokens="b" * 40))
    headers = {"Authorization": "Bot " + "b" * 40, "X-Telegram-User-Id": "5150"}
    resp = await client.post(SET_PASSWORD, json={"new_password": NEW_PASSWORD}, headers=headers)
    assert resp.status == 200, await resp.text()
    user = await db["users"].find_one({"telegram_id": 5150})
    assert user["password_hash"].startswith("$argon2id$")
    # once it has one, changing it needs it
    again = await client.post(SET_PASSWORD, json={"new_password": "x" * 12}, headers=headers)
    await assert_problem(again, 422)


# --- sessions ----------------------------------------------------------------------------


async def test_sessions_are_listed_with_user_agent_and_the_current_one(client):
    first = await register(client, "erin")
    resp = await client.post(
        "/api/auth/login",
        json={"username": "erin", "password": PASSWORD},
        headers={"User-Agent": "Phone/1.0"},
    )
    second = await resp.json()
    resp = await client.get(SESSIONS, headers=bearer(second["access_token"]))
    assert resp.status == 200
    items = (await resp.json())["items"]
    assert len(items) == 2
    assert {"id", "created_at", "last_used_at", "user_agent", "current"} == set(items[0])
    by_id = {item["id"]: item for item in items}
    current = by_id[claims_of(second["access_token"])["sid"]]
    assert current["current"] is True
    assert current["user_agent"] == "Phone/1.0"
    other = by_id[claims_of(first["access_token"])["sid"]]
    assert other["current"] is False
    assert other["user_agent"].startswith("Python/")
    # a refresh records the client it came from
    await client.post(
        "/api/auth/refresh",
        json={"refresh_token": first["refresh_token"]},
        headers={"User-Agent": "Laptop/2.0"},
    )
    items = (await (await client.get(SESSIONS, headers=bearer(second["access_token"]))).json())[
        "items"
    ]
    assert items[0]["user_agent"] == "Laptop/2.0"  # most recently used first


async def test_ending_a_session_kills_its_refresh_and_access_tokens_only(client):
    phone = await register(client, "fay")
    laptop = await login(client, "fay")
    sid = claims_of(phone["access_token"])["sid"]
    resp = await client.delete(f"{SESSIONS}/{sid}", headers=bearer(laptop["access_token"]))
    assert resp.status == 204
    assert (await me(client, phone["access_token"])).status == 401
    assert (await refresh(client, phone["refresh_token"])).status == 401
    assert (await me(client, laptop["access_token"])).status == 200
    listed = await (await client.get(SESSIONS, headers=bearer(laptop["access_token"]))).json()
    assert [item["id"] for item in listed["items"]] == [claims_of(laptop["access_token"])["sid"]]
    # again, or someone else's: not found
    again = await client.delete(f"{SESSIONS}/{sid}", headers=bearer(laptop["access_token"]))
    await assert_problem(again, 404)
    stranger = await register(client, "gus")
    theirs = claims_of(laptop["access_token"])["sid"]
    resp = await client.delete(f"{SESSIONS}/{theirs}", headers=bearer(stranger["access_token"]))
    await assert_problem(resp, 404)
    assert (await me(client, laptop["access_token"])).status == 200


async def test_logout_is_per_session_and_ends_its_access_tokens_too(client):
    one = await register(client, "hal")
    two = await login(client, "hal")
    resp = await client.post(
        "/api/auth/logout",
        json={"refresh_token": one["refresh_token"]},
        headers=bearer(one["access_token"]),
    )
    assert resp.status == 204
    assert (await me(client, one["access_token"])).status == 401
    assert (await me(client, two["access_token"])).status == 200


async def test_refresh_token_reuse_kills_the_familys_access_tokens(client):
    user = await register(client, "ivy")
    new = await (await refresh(client, user["refresh_token"])).json()
    assert (await me(client, new["access_token"])).status == 200
    assert (await refresh(client, user["refresh_token"])).status == 401  # replayed: stolen
    assert (await me(client, new["access_token"])).status == 401
    assert (await me(client, user["access_token"])).status == 401


async def test_logout_all_ends_every_session_and_every_token_issued_so_far(client, db):
    a = await register(client, "jay")
    b = await login(client, "jay")
    # A token without a session id (as issued before sessions were named): only the user's
    # "valid after" instant can stop it.
    sessionless = craft_token(a["user"]["id"], iat=claims_of(a["access_token"])["iat"] - 5)
    assert (await me(client, sessionless)).status == 200
    resp = await client.post(LOGOUT_ALL, headers=bearer(b["access_token"]))
    assert resp.status == 204
    for token in (a["access_token"], b["access_token"], sessionless):
        assert (await me(client, token)).status == 401
    for token in (a["refresh_token"], b["refresh_token"]):
        assert (await refresh(client, token)).status == 401
    c = await login(client, "jay")  # signing in again works
    assert (await me(client, c["access_token"])).status == 200


async def test_the_valid_after_instant_alone_ends_sessions(client, db):
    """The one write that ends everything is the user's instant: a session left unmarked
    (the tidy-up step lost) still cannot be refreshed."""
    user = await register(client, "kim")
    resp = await client.post(LOGOUT_ALL, headers=bearer(user["access_token"]))
    assert resp.status == 204
    await db["refresh_sessions"].update_many({}, {"$set": {"revoked": False}})
    assert (await refresh(client, user["refresh_token"])).status == 401


async def test_revocation_reaches_another_process_within_the_cache_bound(
    aiohttp_client, make_settings, db
):
    """Two processes on one database, each with its own cache and a clock moved by hand: a
    revocation made by one is seen by the other after at most REVOCATION_CACHE_TTL seconds,
    and not a moment later."""
    settings = make_settings()
    assert settings.revocation_cache_ttl == DEFAULT_TTL == 5.0
    clock_a, clock_b = ManualClock(), ManualClock()
    a = await aiohttp_client(create_app(settings, clock=clock_a))
    b = await aiohttp_client(create_app(settings, clock=clock_b))
    user = await register(a, "lee")
    # Revoked by the user's instant and by its session; without a session: by the instant.
    tokens = [
        user["access_token"],
        craft_token(user["user"]["id"], iat=claims_of(user["access_token"])["iat"] - 5),
    ]

    async def statuses(client) -> list[int]:
        return [(await me(client, token)).status for token in tokens]

    assert await statuses(b) == [200, 200]  # b reads the user and the session now
    assert (await a.post(LOGOUT_ALL, headers=bearer(tokens[0]))).status == 204
    assert await statuses(a) == [401, 401]  # the writing process: at once
    assert await statuses(b) == [200, 200]  # b: still its earlier read
    clock_b.now += DEFAULT_TTL - 0.001
    assert await statuses(b) == [200, 200]  # within the bound
    clock_b.now += 0.001
    assert await statuses(b) == [401, 401]  # the bound: never later than this


async def test_a_users_state_is_read_once_per_bound_not_per_request(
    aiohttp_client, make_settings, db
):
    clock = ManualClock()
    client = await aiohttp_client(create_app(make_settings(), clock=clock))
    user = await register(client, "max")
    assert (await me(client, user["access_token"])).status == 200  # read and cached
    # The user changes behind the cache's back (another process): unseen until the bound.
    await db["users"].update_one({}, {"$set": {"tokens_valid_after": 2**50}})
    for _ in range(3):
        assert (await me(client, user["access_token"])).status == 200
    clock.now += DEFAULT_TTL
    assert (await me(client, user["access_token"])).status == 401


# --- deleting an account -----------------------------------------------------------------


@pytest.fixture
def owner() -> NotesOwner:
    return NotesOwner()


@pytest.fixture
async def app(aiohttp_client, make_settings, fake_api, db, owner):
    """The app in webhook mode on the fake Bot API, with the test data owner registered."""
    settings = make_settings(**bot_settings(fake_api, bot_api_tokens="b" * 40))
    return await aiohttp_client(create_app(settings, data_owners=[owner]))


async def test_deleting_an_account_needs_its_password(app, db):
    user = await register(app, "ned")
    missing = await app.delete(ME, json={}, headers=bearer(user["access_token"]))
    assert (await assert_problem(missing, 422))["errors"][0]["field"] == "password"
    wrong = await app.delete(ME, json={"password": "x"}, headers=bearer(user["access_token"]))
    await assert_problem(wrong, 422)
    assert await db["users"].count_documents({}) == 1


async def test_a_telegram_only_user_deletes_without_a_password(app, db, owner):
    headers = {"Authorization": "Bot " + "b" * 40, "X-Telegram-User-Id": "8080"}
    me_resp = await app.get(ME, headers=headers)
    user_id = (await me_resp.json())["id"]
    await add_notes(db, user_id, "a note")
    resp = await app.delete(ME, json={}, headers=headers)
    assert resp.status == 204
    assert await db["users"].count_documents({}) == 0
    assert await notes_of(db, user_id) == []
    assert owner.erased == [ObjectId(user_id)]
    # the bot acting for that Telegram user again: a new, empty account
    again = await (await app.get(ME, headers=headers)).json()
    assert again["id"] != user_id


async def test_deleting_an_account_leaves_no_document_of_the_user_behind(app, db, fake_api):
    from tests.account_helpers import FORGOT, link_telegram, send

    user = await register(app, "olga")
    user_id, token = user["user"]["id"], user["access_token"]
    telegram_id = 424_242
    answer = await link_telegram(app, fake_api, token, telegram_id)
    assert answer.startswith("Done"), answer
    await send(app, "/me", telegram_id)  # more recorded updates of theirs
    second = await login(app, "olga")
    await refresh(app, second["refresh_token"])  # a spent refresh token
    resp = await app.post(FORGOT, json={"username": "olga"})  # a reset code
    assert resp.status == 202
    for _ in range(50):
        if await db["reset_codes"].count_documents({}):
            break
        await asyncio.sleep(0.05)
    failed = await app.post("/api/auth/login", json={"username": "olga", "password": "no"})
    await assert_problem(failed, 401)  # a throttle counter keyed by the username
    await add_notes(db, user_id, "buy milk", "call mum")
    other = await register(app, "pete")  # someone else's data must stay
    await add_notes(db, other["user"]["id"], "pete's")

    resp = await app.delete(ME, json={"password": PASSWORD}, headers=bearer(token))
    assert resp.status == 204, await resp.text()

    import hashlib

    username_digest = hashlib.sha256(b"olga").hexdigest()[:32]
    needles = [user_id, "olga", str(telegram_id), username_digest]
    assert await traces_of(db, needles) == {}
    assert await notes_of(db, other["user"]["id"]) == ["pete's"]
    assert (await me(app, token)).status == 401
    assert (await me(app, other["access_token"])).status == 200


# --- admins ------------------------------------------------------------------------------


async def make_admin(client, db, username: str) -> dict[str, Any]:
    user = await register(client, username)
    await db["users"].update_one({"username": username}, {"$set": {"role": "admin"}})
    return user


async def test_admin_routes_are_for_admins_only(client, db):
    user = await register(client, "quinn")
    for method, path in (
        ("GET", ADMIN_USERS),
        ("POST", f"{ADMIN_USERS}/{user['user']['id']}/deactivate"),
        ("POST", f"{ADMIN_USERS}/{user['user']['id']}/activate"),
    ):
        resp = await client.request(method, path, headers=bearer(user["access_token"]))
        body = await assert_problem(resp, 403)
        assert body["type"] == "urn:problem:forbidden"


async def test_admins_search_and_page_through_users(client, db):
    admin = await make_admin(client, db, "root")
    for name in ("anna", "anton", "boris", "Annette"):
        await register(client, name)
    headers = bearer(admin["access_token"])
    resp = await client.get(ADMIN_USERS, params={"q": "ann"}, headers=headers)
    assert resp.status == 200
    assert {u["username"] for u in (await resp.json())["items"]} == {"anna", "Annette"}

    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await client.get(ADMIN_USERS, params=params, headers=headers)).json()
        seen += [u["username"] for u in page["items"]]
        assert all("active" in u and "role" in u for u in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["root", "anna", "anton", "boris", "Annette"]  # creation order, each once

    bad = await client.get(ADMIN_USERS, params={"cursor": "nope"}, headers=headers)
    assert (await assert_problem(bad, 422))["errors"][0]["field"] == "cursor"
    bad = await client.get(ADMIN_USERS, params={"limit": "0"}, headers=headers)
    assert (await assert_problem(bad, 422))["errors"][0]["field"] == "limit"
    odd = await client.get(ADMIN_USERS, params={"q": "a.*("}, headers=headers)
    assert (await odd.json())["items"] == []  # the query is text, not a pattern


async def test_deactivation_ends_tokens_and_sign_in_until_reactivated(client, db):
    admin = await make_admin(client, db, "root")
    user = await register(client, "rita")
    url = f"{ADMIN_USERS}/{user['user']['id']}"
    resp = await client.post(f"{url}/deactivate", headers=bearer(admin["access_token"]))
    assert resp.status == 200
    assert (await resp.json())["active"] is False

    denied = await assert_problem(await me(client, user["access_token"]), 403)
    assert denied["type"] == "urn:problem:account-deactivated"
    assert (await refresh(client, user["refresh_token"])).status in (401, 403)
    resp = await client.post("/api/auth/login", json={"username": "rita", "password": PASSWORD})
    await assert_problem(resp, 403)

    resp = await client.post(f"{url}/activate", headers=bearer(admin["access_token"]))
    assert (await resp.json())["active"] is True
    assert (await me(client, user["access_token"])).status == 401  # old tokens stay dead
    again = await login(client, "rita")
    assert (await me(client, again["access_token"])).status == 200


async def test_admins_cannot_deactivate_themselves_or_nobody(client, db):
    admin = await make_admin(client, db, "root")
    headers = bearer(admin["access_token"])
    own = await client.post(f"{ADMIN_USERS}/{admin['user']['id']}/deactivate", headers=headers)
    await assert_problem(own, 409)
    for unknown in (str(ObjectId()), "not-an-id"):
        resp = await client.post(f"{ADMIN_USERS}/{unknown}/deactivate", headers=headers)
        await assert_problem(resp, 404)


async def run_cli(mongo_uri: str, db_name: str, *args: str) -> tuple[int, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": db_name,
        "JWT_SECRET": TEST_JWT_SECRET,
        **{key.upper(): str(value) for key, value in CHEAP_ARGON2.items()},
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, output.decode()


async def test_promote_and_demote_from_the_command_line(client, db, mongo_uri, db_name):
    user = await register(client, "sam")
    headers = bearer(user["access_token"])
    await assert_problem(await client.get(ADMIN_USERS, headers=headers), 403)
    code, output = await run_cli(mongo_uri, db_name, "promote", "SAM")
    assert code == 0, output
    assert "sam is now an admin" in output
    assert (await client.get(ADMIN_USERS, headers=headers)).status == 200  # at once
    code, output = await run_cli(mongo_uri, db_name, "demote", "sam")
    assert code == 0, output
    await assert_problem(await client.get(ADMIN_USERS, headers=headers), 403)
    code, output = await run_cli(mongo_uri, db_name, "promote", "nobody")
    assert code == 1
    assert "No user named 'nobody'" in output


async def test_an_admin_cannot_deactivate_another_admin_but_the_cli_can(
    client, db, mongo_uri, db_name
):
    """Issue 22, item 12: one stolen admin session must not lock the other admins out."""
    root = await make_admin(client, db, "root")
    other = await make_admin(client, db, "ops")
    url = f"{ADMIN_USERS}/{other['user']['id']}/deactivate"

    body = await assert_problem(await client.post(url, headers=bearer(root["access_token"])), 403)
    assert "CLI" in body["detail"]
    assert (await db["users"].find_one({"username": "ops"}))["active"] is True
    assert (await me(client, other["access_token"])).status == 200

    code, output = await run_cli(mongo_uri, db_name, "deactivate", "ops")
    assert code == 0, output
    assert "ops is deactivated" in output
    doc = await db["users"].find_one({"username": "ops"})
    assert doc["active"] in (False, 0)
    assert doc["tokens_valid_after"] > 0  # every session and token ended
    code, output = await run_cli(mongo_uri, db_name, "deactivate", "nobody")
    assert code == 1


async def test_an_operator_resets_the_password_of_a_user_without_telegram(
    client, db, mongo_uri, db_name
):
    user = await register(client, "tina")
    code, output = await run_cli(mongo_uri, db_name, "reset-password", "tina")
    assert code == 0, output
    password = output.split("new password for tina: ", 1)[1].split()[0]
    assert (await me(client, user["access_token"])).status == 401  # every token ended
    fresh = await login(client, "tina", password)
    assert (await me(client, fresh["access_token"])).status == 200
    code, output = await run_cli(mongo_uri, db_name, "reset-password", "nobody")
    assert code == 1
