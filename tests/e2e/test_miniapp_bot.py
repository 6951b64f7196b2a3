"""The bot's side of the Mini App: its menu button opens /app/, and /help mentions the app."""

from __future__ import annotations

import logging

from tests.bot_helpers import PUBLIC_URL, bot_settings, post_update
from tests.fake_bot_api import text_message_update

APP_URL = f"{PUBLIC_URL}/app/"


async def test_menu_button_opens_the_mini_app(bot_client, fake_api):
    [call] = await fake_api.wait_for("setChatMenuButton")
    assert "chat_id" not in call.params  # the default button, for every private chat
    button = call.params["menu_button"]
    assert button["type"] == "web_app"
    assert button["web_app"] == {"url": APP_URL}
    assert button["text"]


async def test_no_menu_button_without_a_public_url(make_client, fake_api):
    await make_client(**bot_settings(fake_api, public_url=None))  # polling mode
    await fake_api.wait_for("getUpdates")
    await fake_api.wait_for("setMyCommands", count=2)
    assert not fake_api.calls_to("setChatMenuButton")


async def test_a_refused_menu_button_does_not_stop_the_bot(make_client, fake_api, caplog):
    caplog.set_level(logging.ERROR, logger="server.telegram.bot")
    fake_api.stub_error("setChatMenuButton", 400, "Bad Request: only HTTPS links are allowed")
    client = await make_client(**bot_settings(fake_api))
    assert "could not set the menu button" in caplog.text
    assert fake_api.calls_to("setWebhook")
    response = await post_update(client, text_message_update("/help", language_code="en"))
    assert response.status == 200
    [reply] = await fake_api.wait_for("sendMessage")
    assert reply.params["text"].startswith("I am your assistant.")


async def test_help_mentions_the_app(bot_client, fake_api):
    await post_update(
        bot_client, text_message_update("/help", user_id=61, chat_id=61, language_code="en")
    )
    await post_update(
        bot_client, text_message_update("/help", user_id=62, chat_id=62, language_code="ru")
    )
    calls = await fake_api.wait_for("sendMessage", count=2)
    texts = {c.params["chat_id"]: c.params["text"] for c in calls}
    assert APP_URL in texts["61"]
    assert "in the app" in texts["61"]
    assert APP_URL in texts["62"]
    assert "в приложении" in texts["62"]


async def test_help_without_a_public_url_has_no_app_line(make_client, fake_api):
    await make_client(**bot_settings(fake_api, public_url=None))
    fake_api.push_update(text_message_update("/help", language_code="en"))
    [reply] = await fake_api.wait_for("sendMessage")
    assert "/app/" not in reply.params["text"]
