"""/export and /calendar in the chat, through the real app, webhook and the fake Bot API."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest
from aiohttp.test_utils import TestClient

from tests.bot_helpers import PUBLIC_URL, bot_settings, post_update
from tests.conftest import AppFactory
from tests.e2e.test_bot_tasks import button, press, say
from tests.fake_bot_api import FakeBotAPI, UploadedFile, text_message_update

TG_USER = 4242
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "export.schema.json").read_text()
)


@pytest.fixture
async def app(make_client: AppFactory, fake_api: FakeBotAPI) -> TestClient:
    return await make_client(**bot_settings(fake_api))


async def test_export_sends_the_users_data_as_a_file(app: TestClient, fake_api: FakeBotAPI) -> None:
    await say(app, fake_api, "Buy milk")  # a task, by plain text
    fake_api.stub(
        "sendDocument",
        {"ok": True, "result": {"message_id": 99, "date": int(time.time()),
                                "chat": {"id": TG_USER, "type": "private"}}},
    )  # fmt: skip
    update = text_message_update("/export", user_id=TG_USER, chat_id=TG_USER, language_code="en")
    assert (await post_update(app, update)).status == 200
    (call,) = await fake_api.wait_for("sendDocument")
    document = call.params["document"]
    assert isinstance(document, UploadedFile)
    assert document.filename is not None
    assert document.filename.startswith("tasks-export-")
    assert "Everything I keep about you" in call.params["caption"]
    exported = json.loads(document.content)
    jsonschema.validate(exported, SCHEMA)
    assert exported["account"]["telegram_id"] == TG_USER
    assert [t["title"] for t in exported["tasks"]] == ["Buy milk"]


async def test_calendar_turns_the_feed_on_rotates_and_off(
    app: TestClient, fake_api: FakeBotAPI
) -> None:
    status = await say(app, fake_api, "/calendar", language_code="ru")
    assert "Календарная подписка" in status["text"]
    shown, _ = await press(app, fake_api, status, "Включить")
    url = next(word for word in shown["text"].split() if word.startswith(PUBLIC_URL))
    path = url.removeprefix(PUBLIC_URL)
    assert path.startswith("/cal/")
    assert (await app.get(path)).status == 200

    rotated, _ = await press(app, fake_api, shown, "Новая ссылка")
    new_path = next(w for w in rotated["text"].split() if w.startswith(PUBLIC_URL)).removeprefix(
        PUBLIC_URL
    )
    assert new_path != path
    assert (await app.get(path)).status == 404
    assert (await app.get(new_path)).status == 200

    off, _ = await press(app, fake_api, rotated, "Выключить")
    assert button(off, "Включить").startswith("cal:")
    assert (await app.get(new_path)).status == 404
