"""The real python-telegram-bot Application inside the app, against the fake Bot API."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.errors import StartupError
from server.telegram.texts import COMMANDS
from tests.bot_helpers import (
    BOT_TOKEN,
    PUBLIC_URL,
    WEBHOOK_SECRET,
    bot_settings,
    post_update,
    wait_handled,
    wait_until,
)
from tests.fake_bot_api import FakeBotAPI, text_message_update
from tests.process import child_env

ROOT = Path(__file__).resolve().parents[2]


async def users_with(db, telegram_id: int) -> list[dict]:
    return await db["users"].find({"telegram_id": telegram_id}).to_list()


async def test_webhook_mode_registers_webhook_and_commands(bot_client, fake_api):
    [call] = fake_api.calls_to("setWebhook")
    assert call.params["url"] == f"{PUBLIC_URL}/telegram/webhook"
    assert call.params["secret_token"] == WEBHOOK_SECRET
    assert call.params["allowed_updates"] == ["message", "callback_query", "my_chat_member"]
    languages = {c.params.get("language_code") for c in fake_api.calls_to("setMyCommands")}
    assert languages == {None, "ru"}
    ru = fake_api.commands[('{"type": "default"}', "ru")]
    assert [c["command"] for c in ru] == [
        "start", "help", "me", "inbox", "today", "later", "someday", "lists", "find", "new",
        "password", "unlink", "timezone", "quiet", "digest", "calendar", "export",
        "notify",
    ]  # fmt: skip
    assert ru[0]["description"] == "Регистрация и приветствие"
    assert ru[9] == {"command": "new", "description": "Добавить задачу: /new название"}
    en = fake_api.commands[('{"type": "default"}', "")]
    assert [c["command"] for c in en] == [c["command"] for c in ru]
    assert en[9] == {"command": "new", "description": "Add a task: /new title"}
    assert not fake_api.calls_to("getUpdates")  # no polling in webhook mode


async def test_start_registers_user_and_greets_in_russian(bot_client, fake_api, db):
    update = text_message_update("/start", user_id=777, first_name="Иван", update_id=10)
    update["message"]["from"]["username"] = "ivan"
    response = await post_update(bot_client, update)
    assert response.status == 200
    [reply] = await fake_api.wait_for("sendMessage")
    assert reply.params["chat_id"] == "1"
    assert reply.params["text"].startswith("Привет, Иван!")
    [user] = await users_with(db, 777)
    assert user["first_name"] == "Иван"
    assert user["telegram_username"] == "ivan"
    assert user["language_code"] == "ru"
    assert user["password_hash"] is None


async def test_start_in_english_for_other_languages(bot_client, fake_api):
    update = text_message_update("/start", user_id=5, first_name="Ann", language_code="de")
    assert (await post_update(bot_client, update)).status == 200
    [reply] = await fake_api.wait_for("sendMessage")
    assert reply.params["text"].startswith("Hello, Ann!")


async def test_second_start_creates_nothing_and_welcomes_back(bot_client, fake_api, db):
    for update_id in (20, 21):
        update = text_message_update("/start", user_id=42, language_code="en", update_id=update_id)
        assert (await post_update(bot_client, update)).status == 200
        await fake_api.wait_for("sendMessage", count=update_id - 19)
    replies = [c.params["text"] for c in fake_api.calls_to("sendMessage")]
    assert replies[0].startswith("Hello, Test!")
    assert replies[1].startswith("Welcome back, Test!")
    assert len(await users_with(db, 42)) == 1


async def test_same_update_delivered_twice_is_handled_once(bot_client, fake_api, db, caplog):
    caplog.set_level(logging.INFO, logger="server.telegram.webhook")
    update = text_message_update("/start", user_id=43, update_id=30)
    first, second = await asyncio.gather(
        post_update(bot_client, update), post_update(bot_client, update)
    )
    assert (first.status, second.status) == (200, 200)
    # One of the two was recognised as a redelivery before answering, so it was not queued.
    assert caplog.text.count("update 30 delivered again; already handled") == 1
    await wait_handled(db, 30)
    assert len(fake_api.calls_to("sendMessage")) == 1
    assert len(await users_with(db, 43)) == 1
    assert await db["telegram_updates"].count_documents({"update_id": 30}) == 1


async def test_concurrent_starts_of_one_user_create_one_account(bot_client, fake_api, db):
    updates = [text_message_update("/start", user_id=44, update_id=40 + i) for i in range(10)]
    responses = await asyncio.gather(*(post_update(bot_client, u) for u in updates))
    assert [r.status for r in responses] == [200] * 10
    await fake_api.wait_for("sendMessage", count=10)
    assert len(await users_with(db, 44)) == 1


async def test_help_and_me(bot_client, fake_api):
    await post_update(bot_client, text_message_update("/me", user_id=50, language_code="en"))
    [unknown] = await fake_api.wait_for("sendMessage")
    assert unknown.params["text"] == "I don't know you yet. Send /start first."
    await post_update(bot_client, text_message_update("/start", user_id=50, language_code="en"))
    await post_update(bot_client, text_message_update("/help", user_id=50, language_code="en"))
    await fake_api.wait_for("sendMessage", count=3)
    await post_update(bot_client, text_message_update("/me", user_id=50, language_code="en"))
    calls = await fake_api.wait_for("sendMessage", count=4)
    texts = [c.params["text"] for c in calls]
    assert any(t.startswith("I am your assistant.") for t in texts)
    me = texts[-1]
    # for people: no internal ids, no ISO dates
    assert me.startswith("Your account\nName: Test\nWeb sign-in: not set up yet")
    assert "Time zone: not set (/timezone)" in me
    assert re.search(r"With me since [A-Z][a-z]+ \d{1,2}, \d{4}", me)
    assert "50" not in me
    assert not re.search(r"[0-9a-f]{24}|\d{4}-\d{2}-\d{2}", me)
    assert calls[-1].params["reply_markup"]["inline_keyboard"][0][0]["web_app"]["url"] == (
        "https://assistant.example.com/app/#account"
    )


@pytest.mark.parametrize("language_code", ["en", "ru"])
async def test_help_names_every_command_of_the_menu(bot_client, fake_api, language_code):
    await post_update(bot_client, text_message_update("/help", language_code=language_code))
    [reply] = await fake_api.wait_for("sendMessage")
    words = set(re.findall(r"/[a-z]+", reply.params["text"]))
    missing = {f"/{name}" for name, _ in COMMANDS} - {"/start", "/help"} - words
    assert not missing, f"/help does not name {sorted(missing)}"


async def test_help_in_russian(bot_client, fake_api):
    await post_update(bot_client, text_message_update("/help", language_code="ru"))
    [reply] = await fake_api.wait_for("sendMessage")
    assert reply.params["text"].startswith("Я ваш ассистент.")


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", WEBHOOK_SECRET + "x"])
async def test_wrong_or_missing_secret_is_refused_and_nothing_runs(
    bot_client, fake_api, db, secret
):
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    update = text_message_update("/start", user_id=60, update_id=60)
    response = await bot_client.post("/telegram/webhook", json=update, headers=headers)
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    # Only a recorded update is ever queued, and recording happens before the answer: with
    # nothing recorded once the 401 is back, nothing can run later.
    assert await db["telegram_updates"].count_documents({}) == 0
    assert not fake_api.calls_to("sendMessage")
    assert await users_with(db, 60) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'"text"',
        b"{}",
        b'{"update_id": "7"}',
        b'{"update_id": 7, "message": {"chat": 5}}',
        b'{"update_id": 7, "message": "hello"}',
    ],
)
async def test_malformed_update_is_400_and_the_bot_carries_on(bot_client, fake_api, db, body):
    response = await bot_client.post(
        "/telegram/webhook",
        data=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
                 "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status == 400
    assert (await response.json())["status"] == 400
    assert await db["telegram_updates"].count_documents({}) == 0
    # The bot still works afterwards.
    ok = await post_update(bot_client, text_message_update("/help", update_id=99))
    assert ok.status == 200
    await fake_api.wait_for("sendMessage")


async def test_handler_error_is_logged_with_update_id_and_answered(
    bot_client, fake_api, db, caplog
):
    # Make /start fail inside the handler: Telegram refuses its reply.
    fake_api.stub_error("sendMessage", 400, "Bad Request: chat not found")
    with caplog.at_level(logging.ERROR, logger="server.telegram.handlers"):
        response = await post_update(bot_client, text_message_update("/start", update_id=70))
        assert response.status == 200
        await fake_api.wait_for("sendMessage", count=2)  # the reply, then the apology
    # Logged before the apology was sent.
    assert any("handler failed for update 70" in r.getMessage() for r in caplog.records)
    # The app keeps serving updates.
    fake_api.reset()
    await post_update(bot_client, text_message_update("/help", update_id=71))
    [reply] = await fake_api.wait_for("sendMessage")
    assert reply.params["text"].startswith("Я ваш ассистент.")


async def test_webhook_is_404_when_the_bot_is_off(client):
    response = await post_update(client, text_message_update("/start", update_id=1))
    assert response.status == 404


async def test_polling_mode_answers_updates_from_get_updates(make_client, fake_api, db, caplog):
    caplog.set_level(logging.INFO, logger="server.telegram.bot")
    await make_client(**bot_settings(fake_api, public_url=None))
    assert "Telegram bot @test_assistant_bot: polling mode" in caplog.text
    await fake_api.wait_for("getUpdates")
    assert not fake_api.calls_to("setWebhook")
    fake_api.push_update(text_message_update("/start", user_id=80, first_name="Poll"))
    [reply] = await fake_api.wait_for("sendMessage")
    assert reply.params["text"].startswith("Привет, Poll!")
    assert len(await users_with(db, 80)) == 1
    assert fake_api.calls_to("deleteWebhook")  # PTB clears any webhook before polling


async def test_api_runs_alone_without_bot_token(make_client, fake_api, caplog):
    caplog.set_level(logging.INFO, logger="server.telegram.bot")
    client = await make_client()
    assert (await client.get("/health")).status == 200
    assert not fake_api.calls  # nothing talks to Telegram
    assert "Telegram bot: off" in caplog.text


async def test_unreachable_bot_api_at_start_keeps_the_api_up(make_client, fake_api):
    url = fake_api.url
    await fake_api.stop()
    client = await make_client(
        **bot_settings(FakeBotAPI("x"), telegram_api_base_url=url, mongodb_timeout=2.0)
    )
    assert (await client.get("/health")).status == 200
    response = await post_update(client, text_message_update("/start", update_id=5))
    assert response.status == 503


async def run_cli(*args: str, fake: FakeBotAPI, tmp_path, **env: str) -> tuple[int, str, str]:
    """Run `python -m server ...` as operators do, against the fake Bot API."""
    environment = child_env(**{
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_BASE_URL": fake.url,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PUBLIC_URL": PUBLIC_URL,
        "DATA_DIR": str(tmp_path / "cli-data"),
        "LOG_LEVEL": "DEBUG",  # the most a library will log; secrets must still not appear
        **env,
    })  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", *args,
        cwd=ROOT, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_cli_webhook_commands(fake_api, tmp_path):
    code, out, err = await run_cli("set-webhook", fake=fake_api, tmp_path=tmp_path)
    assert code == 0
    assert f"{PUBLIC_URL}/telegram/webhook" in out
    assert "setWebhook" in err  # DEBUG logging really ran
    assert BOT_TOKEN not in out + err
    assert WEBHOOK_SECRET not in out + err
    [call] = fake_api.calls_to("setWebhook")
    assert call.params["secret_token"] == WEBHOOK_SECRET
    code, out, _ = await run_cli("webhook-info", fake=fake_api, tmp_path=tmp_path)
    assert code == 0
    assert f"url: {PUBLIC_URL}/telegram/webhook" in out
    code, out, _ = await run_cli("delete-webhook", fake=fake_api, tmp_path=tmp_path)
    assert code == 0
    assert fake_api.calls_to("deleteWebhook")
    assert BOT_TOKEN not in out


async def test_cli_set_webhook_without_public_url_fails_clearly(fake_api, tmp_path):
    code, _, err = await run_cli("set-webhook", fake=fake_api, tmp_path=tmp_path, PUBLIC_URL="")
    assert code == 2
    assert "PUBLIC_URL" in err
    assert not fake_api.calls_to("setWebhook")


async def test_handled_updates_are_marked_so_they_are_never_replayed(bot_client, fake_api, db):
    await post_update(bot_client, text_message_update("/help", update_id=600))
    await fake_api.wait_for("sendMessage")
    await wait_handled(db, 600)


async def test_an_update_acknowledged_by_a_process_that_died_is_handled_by_another(
    make_client, fake_api, db
):
    # What a process leaves behind when it dies between the 200 and the handler.
    update = text_message_update("/start", user_id=610, first_name="Orphan", update_id=610)
    received = datetime.now(UTC) - timedelta(seconds=30)
    await db["telegram_updates"].insert_one({
        "_id": 610, "update_id": 610, "payload": update, "received_at": received,
        "expires_at": received + timedelta(days=7), "handled": False, "claimed_at": 0.0,
    })  # fmt: skip
    handled = text_message_update("/start", user_id=611, update_id=611)
    await db["telegram_updates"].insert_one({
        "_id": 611, "update_id": 611, "payload": handled, "received_at": received,
        "expires_at": received + timedelta(days=7), "handled": True, "claimed_at": 0.0,
    })  # fmt: skip
    await make_client(**bot_settings(fake_api, update_retry_after=1))
    [reply] = await fake_api.wait_for("sendMessage")
    assert reply.params["text"].startswith("Привет, Orphan!")
    record = await wait_handled(db, 610)

    # Once its claim is older than UPDATE_RETRY_AFTER it would be stale, were it not handled.
    async def claim_lapsed() -> bool:
        return time.time() > record["claimed_at"] + 1

    await wait_until(claim_lapsed, "the claim on update 610 lapsed")
    # A fresh orphan: the sweep that takes it looks at 610 in the same query.
    sentinel = text_message_update("/start", user_id=612, first_name="Later", update_id=612)
    await db["telegram_updates"].insert_one({
        "_id": 612, "update_id": 612, "payload": sentinel, "received_at": received,
        "expires_at": received + timedelta(days=7), "handled": False, "claimed_at": 0.0,
    })  # fmt: skip
    await fake_api.wait_for("sendMessage", count=2)
    await wait_handled(db, 612)
    texts = [c.params["text"] for c in fake_api.calls_to("sendMessage")]
    assert [t.split("!")[0] for t in texts] == ["Привет, Orphan", "Привет, Later"]
    assert await users_with(db, 611) == []  # the handled one was left alone


async def test_a_slow_handler_keeps_its_claim_and_runs_once(make_client, fake_api, db):
    # The reply takes longer than UPDATE_RETRY_AFTER: the live process renews its claim, so
    # no sweep (of this or another process) takes the update over and runs it again.
    client = await make_client(**bot_settings(fake_api, update_retry_after=1))
    fake_api.delay("sendMessage", 2.5)
    assert (await post_update(client, text_message_update("/help", update_id=620))).status == 200
    # A takeover would start within the first ~1.5 s (a sweep every 0.5 s), and the fake
    # records its call on arrival: before the slow first reply completes.
    await wait_handled(db, 620, timeout=10)
    assert len(fake_api.calls_to("sendMessage")) == 1


async def test_a_refused_set_webhook_does_not_stop_the_service(make_client, fake_api, caplog):
    caplog.set_level(logging.ERROR, logger="server.telegram.bot")
    fake_api.stub_error("setWebhook", 429, "Too Many Requests: retry after 5")
    client = await make_client(**bot_settings(fake_api))
    assert (await client.get("/health")).status == 200
    assert "could not register the webhook" in caplog.text
    response = await post_update(client, text_message_update("/help", update_id=630))
    assert response.status == 200  # the webhook Telegram already had keeps working
    await fake_api.wait_for("sendMessage")


async def test_webhook_body_over_the_limit_is_413_and_nothing_is_stored(bot_client, fake_api, db):
    update = text_message_update("x" * 70_000, update_id=640)
    response = await post_update(bot_client, update)
    assert response.status == 413
    assert response.content_type == "application/problem+json"
    assert await db["telegram_updates"].count_documents({}) == 0
    assert not fake_api.calls_to("sendMessage")


REFUSED_TOKEN = "999999:REFUSED-bot-token-abcdefghijklmnopqrstu"


async def test_a_bot_token_telegram_refuses_stops_the_start_up(make_client, fake_api):
    with pytest.raises(StartupError, match="TELEGRAM_BOT_TOKEN was refused by the Bot API"):
        await make_client(**bot_settings(fake_api, telegram_bot_token=REFUSED_TOKEN))
    [get_me] = fake_api.calls_to("getMe")
    assert get_me.token == REFUSED_TOKEN
    assert not fake_api.calls_to("setWebhook")


async def test_the_service_exits_when_telegram_refuses_the_token(fake_api, tmp_path):
    code, out, err = await run_cli(
        "serve", fake=fake_api, tmp_path=tmp_path, TELEGRAM_BOT_TOKEN=REFUSED_TOKEN
    )
    assert code == 1
    assert err.strip().splitlines()[-1] == "error: TELEGRAM_BOT_TOKEN was refused by the Bot API"
    assert "database: embedded nx-27017 stopped" in err
    assert "Traceback" not in err  # the parts that had started are closed, not finalised
    assert "Unclosed" not in err  # nor the bot's connection pool
    assert REFUSED_TOKEN not in out + err


async def test_sigterm_during_a_slow_start_up_stops_the_service_at_once(fake_api, tmp_path):
    # Telegram hangs at start-up: a deploy's SIGTERM must not wait for it (the platform's
    # SIGKILL follows within 30 s), and what had started is closed.
    fake_api.delay("getMe", 60)
    environment = child_env(**{
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_BASE_URL": fake_api.url,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, "PUBLIC_URL": PUBLIC_URL,
        "DATA_DIR": str(tmp_path / "data"), "PORT": "0",
    })  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", "serve", cwd=ROOT, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await fake_api.wait_for("getMe", timeout=30)  # start-up is waiting on Telegram now
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = err.decode()
    assert process.returncode == 0, text
    assert "stopping during start-up: a signal arrived" in text
    assert "database: embedded nx-27017 stopped" in text
    assert "Traceback" not in text
    assert "Unclosed" not in text


@pytest.mark.parametrize("update_id", [2**63, -1, 10**30])
async def test_update_id_out_of_range_is_400(bot_client, db, update_id):
    response = await post_update(
        bot_client, {**text_message_update("/help"), "update_id": update_id}
    )
    assert response.status == 400
    assert await db["telegram_updates"].count_documents({}) == 0


async def test_an_update_with_an_integer_bson_cannot_hold_is_400(bot_client, db):
    update = text_message_update("/help", update_id=650)
    update["message"]["chat"]["id"] = 2**70  # valid JSON, not storable in BSON
    response = await post_update(bot_client, update)
    assert response.status == 400
    assert await db["telegram_updates"].count_documents({}) == 0
