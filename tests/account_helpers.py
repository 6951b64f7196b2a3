"""Helpers for the account tests: a tiny data owner (the seam lists, tasks and reminders
implement), a clock moved by hand, Telegram-signed widget fields, and a search of every
collection for traces of a user."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from aiohttp.test_utils import TestClient
from beanie import PydanticObjectId
from bson import ObjectId, json_util

from models import User
from server.services.accounts.account_data import Holdings
from server.services.common.mongo import same_id
from tests.bot_helpers import BOT_TOKEN, post_update
from tests.clock import ManualClock
from tests.fake_bot_api import FakeBotAPI, callback_query_update, text_message_update
from tests.helpers import bearer
from tests.kit.signing import sign_widget_fields

__all__ = ["ManualClock"]

NOTES = "test_notes"
NEW_PASSWORD = "a brand new passphrase 9182"
LINK = "/api/auth/telegram/link"
SESSIONS = "/api/auth/sessions"
LOGOUT_ALL = "/api/auth/logout-all"
SET_PASSWORD = "/api/auth/password"
FORGOT = "/api/auth/password/forgot"
RESET = "/api/auth/password/reset"
WIDGET = "/api/auth/telegram/widget"
ADMIN_USERS = "/api/admin/users"


class NotesOwner:
    """A data owner as the lists/tasks/reminders services are one: each note belongs to a
    user; a merge moves them, a deletion erases them (the AccountDataOwner protocol)."""

    def __init__(self) -> None:
        self.moves: list[tuple[PydanticObjectId, PydanticObjectId]] = []
        self.erased: list[PydanticObjectId] = []

    @staticmethod
    def collection() -> Any:
        return User.get_pymongo_collection().database[NOTES]

    async def holdings(self, user_id: PydanticObjectId) -> Holdings:
        # A find, not count_documents (which misses an ObjectId on the embedded server).
        notes = await self.collection().find({"user_id": same_id(user_id)}, {"_id": 1}).to_list()
        return Holdings(lists=0, tasks=len(notes))  # a note stands for a task here

    async def move_all(self, from_user_id: PydanticObjectId, to_user_id: PydanticObjectId) -> None:
        self.moves.append((from_user_id, to_user_id))
        await self.collection().update_many(
            {"user_id": same_id(from_user_id)}, {"$set": {"user_id": to_user_id}}
        )

    async def erase_user(self, user_id: PydanticObjectId) -> None:
        self.erased.append(user_id)
        await self.collection().delete_many({"user_id": same_id(user_id)})


async def add_notes(db: Any, user_id: str, *texts: str) -> None:
    await db[NOTES].insert_many([{"user_id": ObjectId(user_id), "text": t} for t in texts])


async def notes_of(db: Any, user_id: str) -> list[str]:
    docs = await db[NOTES].find({"user_id": same_id(ObjectId(user_id))}).to_list()
    return sorted(doc["text"] for doc in docs)


def widget_fields(
    user_id: int, *, bot_token: str = BOT_TOKEN, auth_date: int | None = None, **extra: Any
) -> dict[str, Any]:
    """Login Widget fields signed as Telegram documents it (written here independently of the
    app): key = SHA256(bot_token); hash = HMAC_SHA256(key, data-check-string)."""
    fields: dict[str, Any] = {
        "id": user_id,
        "first_name": "Wendy",
        "auth_date": int(time.time()) if auth_date is None else auth_date,
        **extra,
    }
    return sign_widget_fields(fields, bot_token)


async def link_code(client: TestClient, access_token: str) -> str:
    resp = await client.post(LINK, headers=bearer(access_token))
    assert resp.status == 201, await resp.text()
    url = (await resp.json())["url"]
    assert url.startswith("https://t.me/test_assistant_bot?start=link_"), url
    return url.split("?start=link_", 1)[1]


async def send(client: TestClient, text: str, telegram_id: int, language_code: str = "en") -> None:
    update = text_message_update(
        text, user_id=telegram_id, chat_id=telegram_id, language_code=language_code
    )
    resp = await post_update(client, update)
    assert resp.status == 200, await resp.text()


async def reply_to(fake_api: FakeBotAPI, telegram_id: int, count: int = 1) -> list[str]:
    """Wait for `count` messages to this chat; return their texts."""
    deadline = time.monotonic() + 5
    while True:
        texts = [
            str(c.params["text"])
            for c in fake_api.calls_to("sendMessage")
            if str(c.params.get("chat_id")) == str(telegram_id)
        ]
        if len(texts) >= count or time.monotonic() > deadline:
            assert len(texts) >= count, (telegram_id, texts)
            return texts
        await asyncio.sleep(0.02)


async def link_question(
    client: TestClient, fake_api: FakeBotAPI, code: str, telegram_id: int, language: str = "en"
) -> dict[str, Any]:
    """Open a link in Telegram (`/start link_<code>`); return the bot's answer as the chat
    shows it (the confirmation question with its buttons, or a refusal)."""
    before = len(await reply_to(fake_api, telegram_id, 0))
    await send(client, f"/start link_{code}", telegram_id, language_code=language)
    await reply_to(fake_api, telegram_id, before + 1)
    return fake_api.last_message(telegram_id)


def link_buttons(message: dict[str, Any]) -> dict[str, str]:
    """The question's buttons: label -> callback data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def press_link_button(
    client: TestClient,
    fake_api: FakeBotAPI,
    message: dict[str, Any],
    data: str,
    telegram_id: int,
    language: str = "en",
) -> tuple[str, str | None]:
    """Press a button under `message` as `telegram_id`; return the message's text as the chat
    now shows it, and the notice the press was answered with."""
    update = callback_query_update(data, message, user_id=telegram_id, language_code=language)
    query_id = update["callback_query"]["id"]
    assert (await post_update(client, update)).status == 200
    await fake_api.wait_answered(query_id)
    now = fake_api.message(message["chat"]["id"], message["message_id"])
    return str(now["text"]), fake_api.answered[query_id].get("text")


async def link_telegram(
    client: TestClient, fake_api: FakeBotAPI, access_token: str, telegram_id: int
) -> str:
    """Link a Telegram account through the bot, as a user does (open the link, press
    Confirm); return the bot's last word (a refusal when there was nothing to confirm)."""
    code = await link_code(client, access_token)
    question = await link_question(client, fake_api, code, telegram_id)
    buttons = link_buttons(question)
    if not buttons:
        return str(question["text"])
    text, _ = await press_link_button(
        client, fake_api, question, buttons["✅ Confirm"], telegram_id
    )
    return text


def reset_code_in(text: str) -> str:
    match = re.search(r"<code>(\d{8})</code>", text)
    assert match, text
    return match.group(1)


async def traces_of(db: Any, needles: list[str]) -> dict[str, list[str]]:
    """Every document, in every collection, whose JSON contains one of `needles`."""
    found: dict[str, list[str]] = {}
    for name in await db.list_collection_names():
        for doc in await db[name].find({}).to_list():
            text = json_util.dumps(doc)
            hits = [needle for needle in needles if needle in text]
            if hits:
                found.setdefault(name, []).append(f"{hits}: {text[:200]}")
    return found
