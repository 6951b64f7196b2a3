"""The start that points the way: `/` leads to the Mini App, and every route answers JSON in
one style (compact UTF-8), whatever produced it (a model, a dict, a problem document)."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient

from tests.helpers import ME, bearer, register


def compact(body: bytes) -> bytes:
    """The same document written compactly, in UTF-8, keys in their order."""
    return json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode()


async def test_the_root_redirects_to_the_mini_app(client: TestClient) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/app/"
    followed = await client.get("/")
    assert followed.status == 200
    assert "text/html" in followed.headers["Content-Type"]


async def test_every_kind_of_answer_is_compact_utf8(client: TestClient) -> None:
    pair = await register(client, "ivan")
    auth = bearer(pair["access_token"])
    answers = {
        "parse": await client.post(
            "/api/tasks/parse",
            json={"text": "купить молоко завтра в 9", "timezone": "Europe/Moscow"},
            headers=auth,
        ),
        "me": await client.patch(ME, json={"timezone": "Europe/Moscow"}, headers=auth),
        "list": await client.post("/api/lists", json={"name": "Дача"}, headers=auth),
        "problem": await client.post("/api/lists", json={"name": "Дача"}, headers=auth),
        "health": await client.get("/health"),
        "openapi": await client.get("/api/openapi.json"),
        "config": await client.get("/app/config.json"),
    }
    for name, response in answers.items():
        body = await response.read()
        assert response.status < 500, name
        assert response.charset in (None, "utf-8"), name
        assert body == compact(body), f"{name}: {body[:120]!r}"
    parsed = json.loads(await answers["parse"].read())
    assert parsed["title"] == "купить молоко"
    assert "купить молоко".encode() in await answers["parse"].read()  # not \u-escaped
    assert answers["problem"].status == 409
