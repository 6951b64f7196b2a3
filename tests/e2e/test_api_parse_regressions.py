"""Issue 22 item 6 through the real app: phrases that made POST /api/tasks/parse answer 500
(the parser raised) are read, or refused as "not understood", with a 200."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.helpers import bearer, register

PARSE = "/api/tasks/parse"


@pytest.mark.parametrize(
    ("text", "zone", "title", "hour"),
    [
        ("call mom 9 pm", "Europe/Moscow", "call mom", 21),
        ("встреча 7 вечера", "Europe/Moscow", "встреча", 19),
        ("dentist 10 a.m. tomorrow", "Europe/Berlin", "dentist", 10),
        ("dentist tmrw 9am", "UTC", "dentist", 9),
        ("3pm tomorrow", "UTC", "", 15),
        ("0000-01-01", "UTC", "0000-01-01", None),
        ("9999-12-31 at 23:00", "America/New_York", "9999-12-31 at 23:00", None),
        ("0001-01-01", "Asia/Tokyo", "0001-01-01", None),
    ],
)
async def test_phrases_that_raised_are_read_with_a_200(client, text, zone, title, hour):
    user = await register(client, "frank")
    resp = await client.post(
        PARSE, json={"text": text, "timezone": zone}, headers=bearer(user["access_token"])
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["title"] == title
    assert body["timezone"] == zone
    if hour is None:
        assert (body["remind_at"], body["clarify"], body["phrase"]) == (None, None, None)
    else:
        when = datetime.fromisoformat(body["remind_at"])
        assert (when.hour, when.minute) == (hour, 0)
        assert body["clarify"] is None


async def test_the_longest_accepted_text_is_read_with_a_200(client):
    user = await register(client, "gina")
    text = "завтра в 9 " + "купить молоко " * 70  # ~1000 characters, the schema's limit
    resp = await client.post(
        PARSE, json={"text": text[:1000], "timezone": "UTC"}, headers=bearer(user["access_token"])
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["phrase"] == "завтра в 9"
    assert body["title"].startswith("купить молоко купить молоко")
