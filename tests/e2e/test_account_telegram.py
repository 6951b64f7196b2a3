"""Accounts and Telegram, through the real app and the fake Bot API: linking and merging,
forgot/reset password by a code from the bot, the Login Widget, /password, and deactivated
users refused by every scheme."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from bson import ObjectId

from server.app import create_app
from server.keys import SERVICES
from server.services.accounts.access_gate import DEFAULT_TTL
from server.services.accounts.linking import LinkPreview
from server.services.accounts.users import TelegramProfile
from tests.account_helpers import (
    ADMIN_USERS,
    FORGOT,
    LINK,
    NEW_PASSWORD,
    RESET,
    SET_PASSWORD,
    WIDGET,
    ManualClock,
    NotesOwner,
    add_notes,
    link_buttons,
    link_code,
    link_question,
    link_telegram,
    notes_of,
    press_link_button,
    reply_to,
    reset_code_in,
    send,
    widget_fields,
)
from tests.bot_helpers import BOT_TOKEN, bot_settings, wait_handled
from tests.conftest import TEST_JWT_SECRET
from tests.helpers import ME, PASSWORD, assert_problem, bearer, login, me, refresh, register
from tests.kit.signing import sign_init_data_fields

BOT_KEY = "bot-service-token-for-accounts-0123456789"


def bot_for(telegram_id: int) -> dict[str, str]:
    return {"Authorization": f"Bot {BOT_KEY}", "X-Telegram-User-Id": str(telegram_id)}


def tma(telegram_id: int, auth_date: int | None = None) -> str:
    user = json.dumps({"id": telegram_id, "first_name": "Tess"}, separators=(",", ":"))
    fields = {"auth_date": str(int(time.time()) if auth_date is None else auth_date), "user": user}
    return urlencode(sign_init_data_fields(fields, BOT_TOKEN))


def reset_key() -> bytes:
    """The HMAC key reset codes are stored under, derived from JWT_SECRET
    (docs/security-model.md)."""
    return hmac.new(TEST_JWT_SECRET.encode(), b"password-reset-code", hashlib.sha256).digest()


@pytest.fixture
def owner() -> NotesOwner:
    return NotesOwner()


@pytest.fixture
def make_app(aiohttp_client, make_settings, fake_api, db, owner):
    async def make(clock: Any = time.monotonic, **overrides: Any):
        settings = make_settings(**bot_settings(fake_api, bot_api_tokens=BOT_KEY, **overrides))
        return await aiohttp_client(create_app(settings, data_owners=[owner], clock=clock))

    return make


@pytest.fixture
async def app(make_app):
    return await make_app()


async def user_doc(db: Any, **query: Any) -> dict[str, Any] | None:
    return await db["users"].find_one(query)


# --- linking -----------------------------------------------------------------------------


async def test_a_link_binds_the_telegram_account_that_confirms_it(app, fake_api, db):
    user = await register(app, "uma")
    resp = await app.post("/api/auth/telegram/link", headers=bearer(user["access_token"]))
    assert resp.status == 201
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert body["expires_in"] == 600
    code = body["url"].split("?start=link_", 1)[1]
    assert 20 <= len(code) <= 59
    assert await db["link_codes"].count_documents({}) == 1
    assert code not in json.dumps(await db["link_codes"].find_one({}), default=str)  # hashed

    question = await link_question(app, fake_api, code, 9001, language="ru")
    assert question["text"].startswith("Привязать этот аккаунт Telegram к веб-аккаунту uma?")
    buttons = link_buttons(question)
    assert list(buttons) == ["✅ Подтвердить", "✖️ Отмена"]
    assert (await user_doc(db, username="uma"))["telegram_id"] is None  # not yet
    text, _ = await press_link_button(
        app, fake_api, question, buttons["✅ Подтвердить"], 9001, language="ru"
    )
    assert text.startswith("Готово: этот аккаунт Telegram теперь привязан к uma"), text
    assert "reply_markup" not in fake_api.message(9001, question["message_id"])  # buttons gone
    linked = await user_doc(db, username="uma")
    assert linked["telegram_id"] == 9001
    assert await db["users"].count_documents({}) == 1  # no second account made
    assert await db["link_codes"].count_documents({}) == 0  # used up
    # the bot acting for that Telegram user is now uma
    assert (await (await app.get(ME, headers=bot_for(9001))).json())["username"] == "uma"
    # the same link again: dead
    await send(app, f"/start link_{code}", 9001)
    assert "does not work" in (await reply_to(fake_api, 9001, 2))[-1]
    again = await app.post("/api/auth/telegram/link", headers=bearer(user["access_token"]))
    await assert_problem(again, 409)


async def test_the_question_says_what_moves_and_a_strangers_press_does_nothing(
    app, fake_api, db, owner
):
    """The attack of issue 22: mallory's link, opened by a Telegram user with data here."""
    victim_id = (await (await app.get(ME, headers=bot_for(4004))).json())["id"]
    await add_notes(db, victim_id, "my task 1", "my task 2")
    mallory = await register(app, "mallory")
    code = await link_code(app, mallory["access_token"])

    question = await link_question(app, fake_api, code, 4004)
    assert "mallory" in question["text"]
    assert "0 lists of your own, 2 tasks" in question["text"], question["text"]
    assert "/unlink" in question["text"]
    confirm = link_buttons(question)["✅ Confirm"]
    # Someone else presses Confirm on it (the data carries the code): nothing happens.
    text, notice = await press_link_button(app, fake_api, question, confirm, 4005)
    assert text == question["text"]
    assert notice is not None
    assert "does not work" in notice
    assert owner.moves == []
    assert (await user_doc(db, username="mallory"))["telegram_id"] is None
    assert await notes_of(db, victim_id) == ["my task 1", "my task 2"]
    # The victim reads the name and cancels: nothing moves, and the link is dead.
    text, _ = await press_link_button(
        app, fake_api, question, link_buttons(question)["✖️ Cancel"], 4004
    )
    assert text.startswith("Cancelled: nothing was linked"), text
    assert await db["link_codes"].count_documents({}) == 0
    text, notice = await press_link_button(app, fake_api, question, confirm, 4004)
    assert notice is not None
    assert "does not work" in notice
    assert owner.moves == []
    assert await notes_of(db, victim_id) == ["my task 1", "my task 2"]
    assert (await (await app.get(ME, headers=bot_for(4004))).json())["id"] == victim_id


async def test_two_concurrent_uses_of_one_link_one_gets_the_question(app, fake_api, db):
    user = await register(app, "vera")
    code = await link_code(app, user["access_token"])
    await asyncio.gather(
        send(app, f"/start link_{code}", 7001), send(app, f"/start link_{code}", 7002)
    )
    [a] = await reply_to(fake_api, 7001)
    [b] = await reply_to(fake_api, 7002)
    asked = [a.startswith("Link this Telegram account"), b.startswith("Link this Telegram")]
    assert sorted(asked) == [False, True], (a, b)
    winner = 7001 if asked[0] else 7002
    question = fake_api.last_message(winner)
    text, notice = await press_link_button(
        app, fake_api, question, link_buttons(question)["✅ Confirm"], winner
    )
    assert text.startswith("Done"), (text, notice)
    assert (await user_doc(db, username="vera"))["telegram_id"] == winner
    assert await db["users"].count_documents({}) == 1


async def test_concurrent_questions_for_one_code_in_the_service(app, db):
    """The same race without the bot in between, many at once: exactly one is asked."""
    user = await register(app, "wade")
    code = await link_code(app, user["access_token"])
    linking = app.app[SERVICES].linking
    results = await asyncio.gather(
        *(linking.preview(code, TelegramProfile(6000 + i)) for i in range(8))
    )
    asked = [i for i, r in enumerate(results) if isinstance(r, LinkPreview)]
    assert len(asked) == 1, results
    outcomes = await asyncio.gather(
        *(linking.redeem(code, TelegramProfile(6000 + i)) for i in range(8))
    )
    assert sorted(r.outcome.value for r in outcomes) == ["invalid"] * 7 + ["linked"]
    assert (await user_doc(db, username="wade"))["telegram_id"] == 6000 + asked[0]


async def test_unlink_in_the_bot_keeps_the_web_account_and_starts_afresh(app, fake_api, db):
    web = await register(app, "una")
    await link_telegram(app, fake_api, web["access_token"], 8008)
    web_id = web["user"]["id"]
    assert (await (await app.get(ME, headers=bot_for(8008))).json())["id"] == web_id

    before = len(await reply_to(fake_api, 8008, 0))
    await send(app, "/unlink", 8008, language_code="ru")
    [answer] = (await reply_to(fake_api, 8008, before + 1))[before:]
    assert answer.startswith("Готово: этот аккаунт Telegram больше не привязан к una"), answer

    assert (await user_doc(db, username="una"))["telegram_id"] is None
    await login(app, "una", PASSWORD)  # the web account works on
    assert (await me(app, web["access_token"])).status == 200
    fresh = await (await app.get(ME, headers=bot_for(8008))).json()
    assert fresh["id"] != web_id  # the Telegram account is a new user of its own
    assert fresh["username"] is None


async def test_unlink_through_the_api(app, fake_api, db):
    web = await register(app, "ursa")
    headers = bearer(web["access_token"])
    await assert_problem(await app.delete(LINK, headers=headers), 409)  # nothing linked yet
    await link_telegram(app, fake_api, web["access_token"], 8009)

    resp = await app.delete(LINK, headers=headers)

    assert resp.status == 204
    assert (await user_doc(db, username="ursa"))["telegram_id"] is None
    assert (await (await app.get(ME, headers=bot_for(8009))).json())["id"] != web["user"]["id"]


async def test_a_telegram_only_account_cannot_be_unlinked(app, fake_api, db):
    me_now = await (await app.get(ME, headers=bot_for(8010))).json()
    body = await assert_problem(await app.delete(LINK, headers=bot_for(8010)), 409)
    assert "password" in body["detail"]
    await send(app, "/unlink", 8010)
    [answer] = await reply_to(fake_api, 8010)
    assert answer.startswith("This Telegram account is the only way into your account")
    assert (await user_doc(db, telegram_id=8010))["_id"] == ObjectId(me_now["id"])


async def test_merge_moves_everything_of_the_telegram_account_and_removes_it(
    app, fake_api, db, owner
):
    # The Telegram user used the bot and the Mini App before: an account with data.
    resp = await app.post("/api/auth/telegram", json={"init_data": tma(5005)})
    assert resp.status == 200
    mini = await resp.json()
    source = await user_doc(db, telegram_id=5005)
    source_id = str(source["_id"])
    await add_notes(db, source_id, "from telegram 1", "from telegram 2", "shared name")
    # The web account has data too.
    web = await register(app, "xena")
    target_id = web["user"]["id"]
    await add_notes(db, target_id, "from web", "shared name")

    answer = await link_telegram(app, fake_api, web["access_token"], 5005)
    assert answer.startswith("Done: this Telegram account is now linked to xena, and"), answer

    assert await notes_of(db, target_id) == sorted(
        ["from telegram 1", "from telegram 2", "shared name", "from web", "shared name"]
    )  # nothing lost, nothing duplicated
    assert await notes_of(db, source_id) == []
    assert owner.moves == [(ObjectId(source_id), ObjectId(target_id))]
    assert await user_doc(db, _id=ObjectId(source_id)) is None
    assert (await user_doc(db, username="xena"))["telegram_id"] == 5005
    assert await db["users"].count_documents({}) == 1
    # The emptied account's sessions and tokens are gone; the Telegram identity is xena now.
    assert (await me(app, mini["access_token"])).status == 401
    assert (await refresh(app, mini["refresh_token"])).status == 401
    for headers in (bot_for(5005), {"Authorization": f"tma {tma(5005)}"}):
        assert (await (await app.get(ME, headers=headers)).json())["id"] == target_id
    assert (await me(app, web["access_token"])).status == 200


async def test_no_merge_when_both_accounts_have_a_password(app, fake_api, db, owner):
    headers = bot_for(5006)
    resp = await app.post(SET_PASSWORD, json={"new_password": NEW_PASSWORD}, headers=headers)
    assert resp.status == 200
    source_id = str((await user_doc(db, telegram_id=5006))["_id"])
    await add_notes(db, source_id, "mine")
    web = await register(app, "yuri")

    answer = await link_telegram(app, fake_api, web["access_token"], 5006)
    assert answer.startswith("I can't merge the two accounts"), answer
    assert "yuri" in answer
    assert await notes_of(db, source_id) == ["mine"]
    assert owner.moves == []
    assert (await user_doc(db, username="yuri"))["telegram_id"] is None
    assert await db["users"].count_documents({}) == 2
    assert await db["link_codes"].count_documents({}) == 0  # the link is used up


async def test_an_interrupted_merge_finishes_when_retried(app, db, owner):
    """The merge is idempotent steps: if it dies half-way (here: the data owner fails after
    moving part of the data), handling the update again finishes it, nothing lost twice."""
    source_user_id = (await (await app.get(ME, headers=bot_for(5010))).json())["id"]
    await add_notes(db, source_user_id, "one", "two", "three")
    web = await register(app, "zoe")
    code = await link_code(app, web["access_token"])
    real_move = owner.move_all
    calls = 0

    async def move_then_crash(from_id, to_id):
        nonlocal calls
        calls += 1
        if calls == 1:
            first = await db["test_notes"].find_one({"text": "one"})
            await db["test_notes"].update_one({"_id": first["_id"]}, {"$set": {"user_id": to_id}})
            raise ConnectionError("the process died here")
        await real_move(from_id, to_id)

    owner.move_all = move_then_crash  # type: ignore[method-assign]
    linking = app.app[SERVICES].linking
    assert isinstance(await linking.preview(code, TelegramProfile(5010)), LinkPreview)
    with pytest.raises(ConnectionError):
        await linking.redeem(code, TelegramProfile(5010))
    assert await notes_of(db, web["user"]["id"]) == ["one"]
    # Telegram delivers the update again after the claim's lease: the same steps resume.
    await db["link_codes"].update_many({}, {"$set": {"claimed_until": 0}})
    result = await linking.redeem(code, TelegramProfile(5010))
    assert result.outcome.value == "merged"
    assert await notes_of(db, web["user"]["id"]) == ["one", "three", "two"]
    assert await db["users"].count_documents({}) == 1


async def test_link_needs_a_bot(client):
    user = await register(client, "abe")
    resp = await client.post("/api/auth/telegram/link", headers=bearer(user["access_token"]))
    body = await assert_problem(resp, 404)
    assert "TELEGRAM_BOT_TOKEN" in body["detail"]


async def test_password_command_explains_the_way_to_a_web_password(app, fake_api, db):
    await send(app, "/start", 3003, language_code="ru")
    await reply_to(fake_api, 3003, 1)  # handled before the next: updates run concurrently
    await send(app, "/password", 3003, language_code="ru")
    answer = (await reply_to(fake_api, 3003, 2))[-1]
    assert answer.startswith("Здесь вы входите через Telegram, пароль не нужен.")
    assert "Настройки → Аккаунт" in answer
    assert "/api" not in answer  # people, not API clients (issue 24)

    web = await register(app, "bella")
    await link_telegram(app, fake_api, web["access_token"], 3004)
    await send(app, "/password", 3004)
    answer = (await reply_to(fake_api, 3004, 2))[-1]
    assert answer.startswith("You can sign in on the web as bella with your password.")


# --- forgot / reset ----------------------------------------------------------------------


async def forgot_code(app, fake_api, username: str, telegram_id: int, nth: int) -> str:
    resp = await app.post(FORGOT, json={"username": username})
    assert resp.status == 202
    return reset_code_in((await reply_to(fake_api, telegram_id, nth))[-1])


async def test_reset_with_the_code_the_bot_sent(app, fake_api, db):
    web = await register(app, "cleo")
    await link_telegram(app, fake_api, web["access_token"], 4001)
    other = await login(app, "cleo")
    code = await forgot_code(app, fake_api, "cleo", 4001, 2)
    message = (await reply_to(fake_api, 4001, 2))[-1]
    assert "It works once, for 10 minutes." in message
    assert code not in json.dumps(await db["reset_codes"].find_one({}), default=str)  # hashed

    resp = await app.post(
        RESET, json={"username": "cleo", "code": code, "new_password": NEW_PASSWORD}
    )
    assert resp.status == 200, await resp.text()
    pair = await resp.json()
    assert (await me(app, pair["access_token"])).status == 200
    for old in (web, other):  # every other session ends, access tokens included
        assert (await me(app, old["access_token"])).status == 401
        assert (await refresh(app, old["refresh_token"])).status == 401
    await login(app, "cleo", NEW_PASSWORD)
    again = await app.post(RESET, json={"username": "cleo", "code": code, "new_password": "x" * 9})
    assert (await assert_problem(again, 422))["errors"][0]["field"] == "code"  # single use


async def test_a_reset_code_guessed_wrong_five_times_is_dead(app, fake_api, db):
    web = await register(app, "dina")
    await link_telegram(app, fake_api, web["access_token"], 4002)
    code = await forgot_code(app, fake_api, "dina", 4002, 2)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    body = {"username": "dina", "new_password": NEW_PASSWORD}
    for _ in range(4):
        await assert_problem(await app.post(RESET, json={**body, "code": wrong}), 422)
    # four wrong tries leave the code alive (the fifth would be allowed) ...
    code = await forgot_code(app, fake_api, "dina", 4002, 3)  # a new code, new tries
    for _ in range(5):
        await assert_problem(await app.post(RESET, json={**body, "code": wrong}), 422)
    # ... five kill it: the right code no longer works
    dead = await app.post(RESET, json={**body, "code": code})
    await assert_problem(dead, 422)
    assert await db["reset_codes"].count_documents({}) == 0
    await login(app, "dina", PASSWORD)  # the password is unchanged


async def test_parallel_guesses_get_five_tries_between_them(make_app, fake_api, db):
    app = await make_app(password_reset_max_per_address=100)
    web = await register(app, "eddy")
    await link_telegram(app, fake_api, web["access_token"], 4003)
    code = await forgot_code(app, fake_api, "eddy", 4003, 2)
    guesses = [f"{(int(code) + i) % 10**8:08d}" for i in range(1, 21)]
    body = {"username": "eddy", "new_password": NEW_PASSWORD}
    answers = await asyncio.gather(*(app.post(RESET, json={**body, "code": g}) for g in guesses))
    assert {a.status for a in answers} == {422}
    assert (await app.post(RESET, json={**body, "code": code})).status == 422


async def test_forgot_answers_the_same_whoever_asks(app, fake_api, db):
    await register(app, "fern")  # no Telegram
    web = await register(app, "gail")
    await link_telegram(app, fake_api, web["access_token"], 4004)
    bodies = set()
    for username in ("fern", "gail", "nobody-here"):
        resp = await app.post(FORGOT, json={"username": username})
        assert resp.status == 202
        bodies.add(await resp.text())
    assert len(bodies) == 1
    await app.app[SERVICES].recovery.drain()  # every code that was going to be sent is sent
    assert len(fake_api.calls_to("sendMessage")) == 2  # the link answer and gail's code


async def test_forgot_does_not_wait_for_telegram(app, fake_api):
    web = await register(app, "hope")
    await link_telegram(app, fake_api, web["access_token"], 4005)
    fake_api.delay("sendMessage", 2.0)
    started = time.monotonic()
    resp = await app.post(FORGOT, json={"username": "hope"})
    assert resp.status == 202
    assert time.monotonic() - started < 1.0  # the code is sent after the answer
    await reply_to(fake_api, 4005, 2)


async def test_forgot_is_limited_per_username_silently_and_per_address(make_app, fake_api):
    app = await make_app(password_forgot_max_per_username=2, password_reset_max_per_address=3)
    web = await register(app, "iris")
    await link_telegram(app, fake_api, web["access_token"], 4006)
    for _ in range(3):
        assert (await app.post(FORGOT, json={"username": "iris"})).status == 202
    await app.app[SERVICES].recovery.drain()  # the three asks have been dealt with
    assert len(await reply_to(fake_api, 4006)) == 3  # the link answer, two codes, not a third
    await assert_problem(await app.post(FORGOT, json={"username": "iris"}), 429)


# --- the Login Widget --------------------------------------------------------------------


async def test_widget_sign_in(app, db):
    resp = await app.post(WIDGET, json=widget_fields(8008, username="wendy", photo_url="x"))
    assert resp.status == 200, await resp.text()
    pair = await resp.json()
    assert (await (await me(app, pair["access_token"])).json())["telegram_id"] == 8008
    assert (await user_doc(db, telegram_id=8008))["telegram_username"] == "wendy"
    # a field the widget may add later is signed too, and accepted
    resp = await app.post(WIDGET, json=widget_fields(8008, allows_write_to_pm="true"))
    assert resp.status == 200


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({**widget_fields(8009), "first_name": "Mallory"}, 401),  # tampered
        (widget_fields(8009, bot_token="999:other-bot"), 401),  # another bot's
        (widget_fields(8009, auth_date=int(time.time()) - 90_000), 401),  # stale
        (widget_fields(8009, auth_date=int(time.time()) + 600), 401),  # from the future
        (widget_fields(-5), 422),  # signed, but not a Telegram id
        ({"id": 8009, "auth_date": 1}, 422),  # no hash
    ],
)
async def test_widget_refusals(app, db, fields, status):
    await assert_problem(await app.post(WIDGET, json=fields), status)
    assert await db["users"].count_documents({}) == 0


async def test_widget_sign_in_needs_a_bot(client):
    await assert_problem(await client.post(WIDGET, json=widget_fields(8010)), 404)


# --- deactivated users -------------------------------------------------------------------


async def test_a_deactivated_user_is_refused_by_every_scheme(app, fake_api, db):
    admin = await register(app, "root")
    await db["users"].update_one({"username": "root"}, {"$set": {"role": "admin"}})
    victim = await register(app, "jake")
    await link_telegram(app, fake_api, victim["access_token"], 4242)
    mini = await (await app.post("/api/auth/telegram", json={"init_data": tma(4242)})).json()
    assert (await me(app, mini["access_token"])).status == 200
    url = f"{ADMIN_USERS}/{victim['user']['id']}/deactivate"
    assert (await app.post(url, headers=bearer(admin["access_token"]))).status == 200

    def deactivated(body: dict[str, Any]) -> None:
        assert body["type"] == "urn:problem:account-deactivated", body

    for token in (victim["access_token"], mini["access_token"]):  # Bearer
        deactivated(await assert_problem(await me(app, token), 403))
    deactivated(await assert_problem(await app.get(ME, headers=bot_for(4242)), 403))  # Bot
    headers = {"Authorization": f"tma {tma(4242)}"}
    deactivated(await assert_problem(await app.get(ME, headers=headers), 403))  # tma
    resp = await app.post("/api/auth/login", json={"username": "jake", "password": PASSWORD})
    deactivated(await assert_problem(resp, 403))  # password
    resp = await app.post("/api/auth/telegram", json={"init_data": tma(4242)})
    deactivated(await assert_problem(resp, 403))  # Mini App sign-in
    deactivated(await assert_problem(await app.post(WIDGET, json=widget_fields(4242)), 403))
    assert (await refresh(app, victim["refresh_token"])).status in (401, 403)
    # No reset code is sent; one sent before the deactivation no longer resets.
    assert (await app.post(FORGOT, json={"username": "jake"})).status == 202
    resp = await app.post(RESET, json={"username": "jake", "code": "1", "new_password": "x" * 9})
    await assert_problem(resp, 422)  # a stranger learns nothing of the deactivation
    await db["reset_codes"].insert_one(
        {"_id": ObjectId(victim["user"]["id"]), "attempts": 0, "expires_ms": 2**50,
         "code_hash": hmac.new(reset_key(), b"12345678", hashlib.sha256).hexdigest()}
    )  # fmt: skip
    resp = await app.post(
        RESET, json={"username": "jake", "code": "12345678", "new_password": "x" * 9}
    )
    deactivated(await assert_problem(resp, 403))

    # The bot: a polite answer, and nothing else (no handler acts for them).
    await app.app[SERVICES].recovery.drain()  # the forgot above has finished: nothing sent
    before = len(await reply_to(fake_api, 4242, 0))
    await send(app, "/me", 4242)
    answer = (await reply_to(fake_api, 4242, before + 1))[-1]
    assert answer.startswith("Your account is deactivated"), answer
    record = await db["telegram_updates"].find_one({}, sort=[("_id", -1)])
    # Stopped early, still recorded as handled; once it is, nothing more will be sent.
    await wait_handled(db, record["_id"])
    texts = await reply_to(fake_api, 4242, 0)
    assert len(texts) == before + 1
    assert not any("code" in t for t in texts)


async def test_the_bot_tells_a_deactivated_user_in_their_language(make_app, fake_api, db):
    clock = ManualClock()
    app = await make_app(clock=clock)
    await send(app, "/start", 4343, language_code="ru")
    await reply_to(fake_api, 4343)
    # Deactivated by another process: this one sees it within the cache bound.
    await db["users"].update_one({"telegram_id": 4343}, {"$set": {"active": False}})
    clock.now += DEFAULT_TTL
    await send(app, "/help", 4343, language_code="ru")
    answer = (await reply_to(fake_api, 4343, 2))[-1]
    assert answer.startswith("Ваш аккаунт отключён")


async def test_a_deactivation_by_another_process_reaches_every_scheme_within_the_bound(
    make_app, db
):
    clock = ManualClock()
    app = await make_app(clock=clock)
    mini = await (await app.post("/api/auth/telegram", json={"init_data": tma(4444)})).json()
    tma_headers = {"Authorization": f"tma {tma(4444)}"}
    for headers in (bot_for(4444), tma_headers, bearer(mini["access_token"])):
        assert (await app.get(ME, headers=headers)).status == 200  # read and cached
    await db["users"].update_one({"telegram_id": 4444}, {"$set": {"active": False}})
    for headers in (bot_for(4444), tma_headers, bearer(mini["access_token"])):
        assert (await app.get(ME, headers=headers)).status == 200  # not yet seen here
    clock.now += DEFAULT_TTL
    for headers in (bot_for(4444), tma_headers, bearer(mini["access_token"])):
        await assert_problem(await app.get(ME, headers=headers), 403)


# --- init data and revocations; fresh confirmations (issue 22, item 10) ----------------------


def tma_header(telegram_id: int, auth_date: int | None = None) -> dict[str, str]:
    return {"Authorization": f"tma {tma(telegram_id, auth_date)}"}


async def test_init_data_signed_before_log_out_everywhere_is_refused(app, db):
    old = tma_header(7100, int(time.time()) - 60)
    assert (await app.get(ME, headers=old)).status == 200  # admitted, and remembered
    sign_in = await app.post("/api/auth/telegram", json={"init_data": tma(7100)})
    assert sign_in.status == 200

    assert (await app.post("/api/auth/logout-all", headers=old)).status == 204

    await assert_problem(await app.get(ME, headers=old), 401)  # the remembered one too
    refused = await app.post("/api/auth/telegram", json={"init_data": old["Authorization"][4:]})
    await assert_problem(refused, 401)
    # Init data Telegram signs from now on (reopening the app) works.
    fresh = tma_header(7100, int(time.time()) + 1)
    assert (await app.get(ME, headers=fresh)).status == 200
    again = await app.post("/api/auth/telegram", json={"init_data": fresh["Authorization"][4:]})
    assert again.status == 200
    # With the user's state cached again (by the fresh one), the old one is still refused.
    await assert_problem(await app.get(ME, headers=old), 401)


async def test_init_data_signed_before_a_password_was_set_is_refused(app, db):
    old = tma_header(7101)
    resp = await app.post(SET_PASSWORD, json={"new_password": NEW_PASSWORD}, headers=old)
    assert resp.status == 200
    pair = await resp.json()

    await assert_problem(await app.get(ME, headers=old), 401)
    assert (await me(app, pair["access_token"])).status == 200  # the new session works


async def test_deleting_an_account_without_a_password_needs_fresh_init_data(app, db, owner):
    stale = tma_header(7102, int(time.time()) - 301)
    user_id = (await (await app.get(ME, headers=stale)).json())["id"]  # fine for reading

    resp = await app.delete(ME, json={}, headers=stale)
    body = await assert_problem(resp, 422)
    assert body["errors"][0]["field"] == "init_data"
    assert "reopen the Mini App" in body["detail"]
    assert await user_doc(db, telegram_id=7102) is not None
    # A session opened with the Mini App (Bearer): the init data goes in the body.
    sign_in = await app.post("/api/auth/telegram", json={"init_data": tma(7102)})
    headers = bearer((await sign_in.json())["access_token"])
    missing = await assert_problem(await app.delete(ME, json={}, headers=headers), 422)
    assert (missing["errors"][0]["field"], missing["errors"][0]["type"]) == ("init_data", "missing")
    someone_else = await app.delete(ME, json={"init_data": tma(7103)}, headers=headers)
    await assert_problem(someone_else, 422)
    assert owner.erased == []
    assert await user_doc(db, telegram_id=7102) is not None

    fresh = await app.delete(ME, json={"init_data": tma(7102)}, headers=headers)
    assert fresh.status == 204
    assert owner.erased == [ObjectId(user_id)]


async def test_a_fresh_mini_app_deletes_its_account_with_no_more_ado(app, db):
    resp = await app.delete(ME, json={}, headers=tma_header(7104))
    assert resp.status == 204
    assert await user_doc(db, telegram_id=7104) is None


async def test_a_first_password_needs_fresh_init_data(app, db):
    stale = tma_header(7105, int(time.time()) - 301)
    resp = await app.post(SET_PASSWORD, json={"new_password": NEW_PASSWORD}, headers=stale)
    assert (await assert_problem(resp, 422))["errors"][0]["field"] == "init_data"
    assert (await user_doc(db, telegram_id=7105))["password_hash"] is None

    body = {"new_password": NEW_PASSWORD, "init_data": tma(7105)}
    assert (await app.post(SET_PASSWORD, json=body, headers=stale)).status == 200
    assert (await user_doc(db, telegram_id=7105))["password_hash"] is not None


async def test_init_data_revoked_by_another_process_is_refused_within_the_bound(make_app, db):
    clock = ManualClock()
    app = await make_app(clock=clock)
    old = tma_header(7106, int(time.time()) - 60)
    assert (await app.get(ME, headers=old)).status == 200  # admitted, and remembered
    # Another process ends every session: this one sees it within the cache bound.
    await db["users"].update_one(
        {"telegram_id": 7106}, {"$set": {"tokens_valid_after": int(time.time() * 1000)}}
    )
    clock.now += DEFAULT_TTL
    fresh = tma_header(7106, int(time.time()) + 1)
    assert (await app.get(ME, headers=fresh)).status == 200  # the user's state read again

    await assert_problem(await app.get(ME, headers=old), 401)
