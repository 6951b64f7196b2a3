"""The test kit itself: the fake Bot API's marks and event-driven waits, and the signers
(checked against the app's verifiers, which are written separately)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from server.services.accounts.telegram_auth import InitDataVerifier, WidgetVerifier
from server.services.common.errors import InvalidInitData
from tests.fake_bot_api import FakeBotAPI
from tests.kit.signing import init_data_fields, sign_widget_fields, signed_init_data
from tests.kit.telegram import BOT_TOKEN, bot_message, button, buttons, callback_query_update


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(BOT_TOKEN) as fake:
        yield fake


async def call(fake: FakeBotAPI, method: str, **params: str) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{fake.base_url}{BOT_TOKEN}/{method}"
        async with session.post(url, data=params) as resp:
            assert resp.status == 200, await resp.text()


async def test_wait_new_returns_only_the_calls_after_the_mark(fake: FakeBotAPI) -> None:
    await call(fake, "sendMessage", chat_id="1", text="before")
    mark = fake.mark()
    assert fake.calls_since(mark) == []
    later = asyncio.create_task(call(fake, "sendMessage", chat_id="1", text="after"))
    [new] = await fake.wait_new("sendMessage", since=mark)
    await later
    assert new.params["text"] == "after"
    assert [c.params["text"] for c in await fake.wait_for("sendMessage", 2)] == [
        "before",
        "after",
    ]


async def test_a_mark_stays_a_point_in_time_across_reset(fake: FakeBotAPI) -> None:
    await call(fake, "sendMessage", chat_id="1", text="one")
    mark = fake.mark()
    await call(fake, "sendMessage", chat_id="1", text="two")
    fake.reset()
    await call(fake, "sendMessage", chat_id="1", text="three")
    assert [c.params["text"] for c in fake.calls_since(mark)] == ["three"]


async def test_a_waiter_wakes_on_the_call_not_on_a_timer(fake: FakeBotAPI) -> None:
    # A waiter parked on the fake's event is woken by the call itself: with nothing arriving
    # it is still waiting after a long while, and it returns as soon as the call lands.
    mark = fake.mark()
    waiter = asyncio.create_task(fake.wait_new("sendMessage", since=mark, timeout=30))
    await asyncio.sleep(0.3)  # a stretch in which a 10 ms poller would have looked 30 times
    assert not waiter.done()
    started = time.monotonic()
    await call(fake, "sendMessage", chat_id="1", text="now")
    [got] = await asyncio.wait_for(waiter, 5)
    assert got.params["text"] == "now"
    assert time.monotonic() - started < 1.0


async def test_a_wait_that_is_not_met_fails_naming_what_it_saw(fake: FakeBotAPI) -> None:
    mark = fake.mark()
    await call(fake, "getMe")
    with pytest.raises(AssertionError, match=r"new call\(s\) to sendMessage.*getMe"):
        await fake.wait_new("sendMessage", since=mark, timeout=0.2)
    with pytest.raises(AssertionError, match="three replies"):
        await fake.until(lambda: len(fake.calls_to("sendMessage")) >= 3, "three replies", 0.2)


async def test_wait_answered_wakes_once_the_answer_is_recorded(fake: FakeBotAPI) -> None:
    waiter = asyncio.create_task(fake.wait_answered("q1"))
    await call(fake, "answerCallbackQuery", callback_query_id="q1", text="done")
    assert (await asyncio.wait_for(waiter, 5))["text"] == "done"


def test_buttons_read_a_message_or_its_params() -> None:
    markup = {"inline_keyboard": [[{"text": "✅ Done", "callback_data": "c:d:1"}]]}
    message = {**bot_message(42, "card"), "reply_markup": markup}
    assert buttons(message) == [("✅ Done", "c:d:1")]
    assert button(message, "✅") == "c:d:1"
    press = callback_query_update("c:d:1", message, user_id=42)["callback_query"]
    assert (press["from"]["id"], press["message"]["chat"]["id"], press["data"]) == (
        42,
        42,
        "c:d:1",
    )


def test_the_signers_satisfy_the_apps_verifiers_and_a_changed_field_does_not() -> None:
    now = 1_700_000_000
    user = {"id": 4242, "first_name": "Мария"}
    verifier = InitDataVerifier(BOT_TOKEN, 3600)
    assert verifier.verify(signed_init_data(user, BOT_TOKEN, auth_date=now), now=now)
    fields = init_data_fields(user, BOT_TOKEN, auth_date=now)
    fields["auth_date"] = str(now + 1)
    forged = "&".join(f"{k}={v}" for k, v in fields.items())
    with pytest.raises(InvalidInitData):
        verifier.verify(forged, now=now)

    widget = sign_widget_fields({"id": "4242", "first_name": "W", "auth_date": str(now)}, BOT_TOKEN)
    assert WidgetVerifier(BOT_TOKEN, 3600).verify(widget, now=now)
