"""Telegram updates as the Bot API sends them, the buttons of a message, and a button press
through the real app's webhook. One place for what every bot test builds.

Messages and presses are private-chat ones (chat id = user id by default) unless a builder
says "group"; language "ru" by default, like the fake's first tests."""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

if TYPE_CHECKING:
    from tests.fake_bot_api import FakeBotAPI

JSONDict = dict[str, Any]

BOT_TOKEN = "123456:TEST-bot-token-abcdefghijklmnopqrstuvwxyz"
BOT_ID = 123456  # the numeric part of BOT_TOKEN, as Telegram makes it
WEBHOOK_SECRET = "test-webhook-secret-0123456789abcdef"
PUBLIC_URL = "https://assistant.example.com"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BOT_USER: JSONDict = {"id": BOT_ID, "is_bot": True, "first_name": "bot"}

_update_ids = itertools.count(1000)
_query_ids = itertools.count(1)


# ------------------------------------------------------------------------------ updates


def text_message_update(
    text: str,
    *,
    chat_id: int = 1,
    user_id: int = 1,
    first_name: str = "Test",
    language_code: str = "ru",
    update_id: int | None = None,
    message_id: int = 1,
) -> JSONDict:
    """A realistic private-chat text message update; a leading /command gets its entity.
    update_id is assigned by the fake's push_update() or post_update() when omitted."""
    user = {"id": user_id, "is_bot": False, "first_name": first_name}
    message: JSONDict = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": first_name},
        "from": {**user, "language_code": language_code},
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    update: JSONDict = {"message": message}
    if update_id is not None:
        update["update_id"] = update_id
    return update


def bot_message(chat_id: int, text: str = "", *, message_id: int = 77) -> JSONDict:
    """A message the bot sent to a private chat, for a press on a message the test did not
    have the fake record (a recorded one is `fake.message(chat_id, message_id)`)."""
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": BOT_USER,
        "text": text,
    }


def callback_query_update(
    data: str,
    message: JSONDict | None,
    *,
    user_id: int = 1,
    first_name: str = "Test",
    language_code: str | None = "ru",
    query_id: str | None = None,
) -> JSONDict:
    """A press of an inline button under `message` (a Message as the fake recorded it, or
    `bot_message(...)`); None: a press whose message is too old for Telegram to include.
    `language_code` None leaves it out, as Telegram does for some clients."""
    sender: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code is not None:
        sender["language_code"] = language_code
    query: JSONDict = {
        "id": query_id or str(next(_query_ids)),
        "from": sender,
        "chat_instance": "1",
        "data": data,
    }
    if message is not None:
        query["message"] = message
    return {"callback_query": query}


def chat_member_update(chat_id: int, old: str, new: str, *, first_name: str = "u") -> JSONDict:
    """`my_chat_member`: the user changed the bot's status in their private chat, e.g.
    ("member", "kicked") when they block it and ("kicked", "member") when they unblock it."""

    def status(name: str) -> JSONDict:  # a ban carries its end (0: for ever)
        member: JSONDict = {"user": {**BOT_USER}, "status": name}
        return member | ({"until_date": 0} if name == "kicked" else {})

    return {
        "my_chat_member": {
            "chat": {"id": chat_id, "type": "private", "first_name": first_name},
            "from": {"id": chat_id, "is_bot": False, "first_name": first_name},
            "date": int(time.time()),
            "old_chat_member": status(old),
            "new_chat_member": status(new),
        }
    }


# ------------------------------------------------------------------------- group chats
# As Telegram delivers them to a bot in privacy mode (the default): commands, replies to the
# bot's messages, button presses, service messages and `my_chat_member`; never the chatter.

GROUP_ID = -4_000_000_001  # a basic group: negative, without the supergroups' -100 prefix
SUPERGROUP_ID = -1_004_000_000_001


def group_chat(chat_id: int, title: str = "Семья") -> JSONDict:
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": kind, "title": title}


def group_message_update(
    text: str,
    *,
    chat_id: int = GROUP_ID,
    user_id: int,
    first_name: str = "Test",
    language_code: str = "ru",
    title: str = "Семья",
    reply_to: JSONDict | None = None,
    message_id: int = 1,
) -> JSONDict:
    """A member's message in a group: a /command (with its entity, `/list@bot_name` too) or
    a reply to one of the bot's messages (`reply_to`: the message as the fake recorded it)."""
    message: JSONDict = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": group_chat(chat_id, title),
        "from": {"id": user_id, "is_bot": False, "first_name": first_name,
                 "language_code": language_code},
        "text": text,
    }  # fmt: skip
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return {"message": message}


def group_member_update(
    old: str,
    new: str,
    *,
    chat_id: int = GROUP_ID,
    by_user_id: int,
    first_name: str = "u",
    language_code: str = "ru",
    title: str = "Семья",
) -> JSONDict:
    """`my_chat_member` in a group: someone added the bot ("left" → "member") or removed it
    ("member" → "left", or "kicked" when banned)."""

    def status(name: str) -> JSONDict:
        member: JSONDict = {"user": {**BOT_USER}, "status": name}
        return member | ({"until_date": 0} if name == "kicked" else {})

    return {
        "my_chat_member": {
            "chat": group_chat(chat_id, title),
            "from": {"id": by_user_id, "is_bot": False, "first_name": first_name,
                     "language_code": language_code},
            "date": int(time.time()),
            "old_chat_member": status(old),
            "new_chat_member": status(new),
        }
    }  # fmt: skip


def migration_updates(
    old_chat_id: int, new_chat_id: int, *, by_user_id: int, title: str = "Семья"
) -> tuple[JSONDict, JSONDict]:
    """The two service messages of a group's upgrade to a supergroup: in the old chat,
    `migrate_to_chat_id`; in the new one, `migrate_from_chat_id`."""
    sender = {"id": by_user_id, "is_bot": False, "first_name": "u"}
    old = {"message_id": 90, "date": int(time.time()), "chat": group_chat(old_chat_id, title),
           "from": sender, "migrate_to_chat_id": new_chat_id}  # fmt: skip
    new = {"message_id": 1, "date": int(time.time()), "chat": group_chat(new_chat_id, title),
           "from": sender, "migrate_from_chat_id": old_chat_id}  # fmt: skip
    return {"message": old}, {"message": new}


# ------------------------------------------------------------------------------ buttons


def buttons(message: Any) -> list[tuple[str, str]]:
    """(text, callback_data) of every inline button, row by row. Takes a message as the
    chat shows it, sendMessage/editMessageText params, or a recorded `Call`."""
    holder = message.params if hasattr(message, "params") else message
    markup = holder.get("reply_markup") or {}
    return [
        (b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row
    ]


def button(message: Any, label: str) -> str:
    """The callback data of the first button whose text starts with `label`."""
    found = [data for text, data in buttons(message) if text.startswith(label)]
    assert found, (label, buttons(message))
    return found[0]


# ------------------------------------------------------------------- through the webhook


async def post_update(
    client: TestClient, update: JSONDict, secret: str = WEBHOOK_SECRET
) -> ClientResponse:
    """POST an update as Telegram does; one without an update_id gets a fresh one."""
    update = {"update_id": next(_update_ids), **update}
    return await client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: secret})


async def press(
    client: TestClient,
    fake: FakeBotAPI,
    message: JSONDict,
    label: str,
    *,
    user_id: int | None = None,
    language_code: str = "ru",
) -> tuple[JSONDict, str | None]:
    """Press the button labelled `label` (a prefix) under `message` as its chat's user (or
    `user_id`); wait for the bot to answer the press. Returns the message as the chat now
    shows it and the notice the bot answered with."""
    sender = message["chat"]["id"] if user_id is None else user_id
    update = callback_query_update(
        button(message, label), message, user_id=sender, language_code=language_code
    )
    query_id = update["callback_query"]["id"]
    assert (await post_update(client, update)).status == 200
    answer = await fake.wait_answered(query_id)
    return fake.message(message["chat"]["id"], message["message_id"]), answer.get("text")
