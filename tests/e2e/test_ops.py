"""Operations: liveness and readiness (with the database really stopped and started again),
data surviving an app restart, the OpenAPI document and docs page, security headers and
what the logs may contain."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.db.embedded import EmbeddedMongo
from server.observability.logs import AccessLogger
from tests.conftest import TEST_JWT_SECRET
from tests.helpers import (
    LOGIN,
    LOGOUT,
    ME,
    PASSWORD,
    REFRESH,
    REGISTER,
    assert_problem,
    bearer,
    login,
    me,
    register,
)

AUTH_PATHS = {REGISTER, LOGIN, REFRESH, LOGOUT, ME}


async def test_health_answers_ok(client):
    resp = await client.get("/health")

    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_ready_answers_ok_while_the_database_answers(client):
    resp = await client.get("/ready")

    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/health", "/ready"])
async def test_probes_answer_head(client, path):
    """RFC 9110 §9.1: a server supports HEAD wherever it supports GET; probes often use it."""
    resp = await client.head(path)

    assert resp.status == 200


async def wait_until_ready(client, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    status = 0
    while time.monotonic() < deadline:
        status = (await client.get("/ready")).status
        if status == 200:
            break
        await asyncio.sleep(0.2)
    return status


async def test_ready_follows_the_database_down_and_back_up(make_client, tmp_path):
    mongo = EmbeddedMongo(tmp_path / "mongo")
    await asyncio.to_thread(mongo.start)
    restarted: EmbeddedMongo | None = None
    try:
        client = await make_client(mongodb_uri=mongo.uri, mongodb_timeout=1.0)
        await register(client, "alice")
        assert (await client.get("/ready")).status == 200

        await asyncio.to_thread(mongo.stop)

        body = await assert_problem(await client.get("/ready"), 503)
        assert "database" in body["detail"].lower()
        assert (await client.get("/health")).status == 200
        started = time.monotonic()
        login_resp = await client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
        assert time.monotonic() - started < 5
        await assert_problem(login_resp, 503)
        assert login_resp.headers["Retry-After"].isdigit()

        restarted = EmbeddedMongo(mongo.data_dir, port=mongo.port)
        await asyncio.to_thread(restarted.start)

        assert await wait_until_ready(client, 10) == 200
        await login(client, "alice")  # the data is still there
    finally:
        await asyncio.to_thread(mongo.stop)
        if restarted is not None:
            await asyncio.to_thread(restarted.stop)


async def test_data_survives_an_app_restart_on_the_same_data_dir(make_client, tmp_path):
    settings = {"mongodb_uri": None, "data_dir": tmp_path / "d"}
    first = await make_client(**settings)
    registered = await register(first, "alice")
    await first.close()  # runs the app's cleanup: the embedded server stops

    second = await make_client(**settings)

    await login(second, "alice")
    assert (await me(second, registered["access_token"])).status == 200
    assert (await second.post(REFRESH, json={"refresh_token": registered["refresh_token"]})).ok


async def test_openapi_document_describes_every_route(client):
    resp = await client.get("/api/openapi.json")

    assert resp.status == 200
    spec = await resp.json()
    assert spec["openapi"] == "3.1.0"
    assert {"/health", "/ready"} | AUTH_PATHS <= spec["paths"].keys()

    def request_ref(path: str, content_type: str = "application/json") -> str:
        body = spec["paths"][path]["post"]["requestBody"]
        return body["content"][content_type]["schema"]["$ref"]

    assert request_ref(REGISTER) == "#/components/schemas/RegisterRequest"
    assert request_ref(LOGIN) == "#/components/schemas/LoginRequest"
    assert request_ref(LOGIN, "application/x-www-form-urlencoded").endswith("/LoginForm")
    assert request_ref(REFRESH) == "#/components/schemas/RefreshRequest"
    assert request_ref(LOGOUT) == "#/components/schemas/RefreshRequest"
    assert "200" in spec["paths"][ME]["get"]["responses"]
    assert "security" in spec["paths"][ME]["get"]

    schema = spec["components"]["schemas"]["RegisterRequest"]
    assert set(schema["required"]) == {"username", "password"}
    username = schema["properties"]["username"]
    assert username["pattern"] == "^[A-Za-z0-9_.-]+$"
    assert (username["minLength"], username["maxLength"]) == (3, 64)
    password = schema["properties"]["password"]
    assert (password["minLength"], password["maxLength"]) == (8, 128)


async def docs_page(client) -> str:
    resp = await client.get("/api/docs")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    return await resp.text()


async def test_docs_page_has_a_strict_csp_and_cannot_be_framed(client):
    """Issue 22, item 12: no inline script, nothing from elsewhere, no framing."""
    resp = await client.get("/api/docs")
    html = await resp.text()
    csp = {
        part.split()[0]: part.split()[1:]
        for part in resp.headers["Content-Security-Policy"].split("; ")
    }
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in html  # every script is a file the CSP allows
    init = await client.get("/api/docs/init.js")
    assert init.status == 200
    assert init.headers["Content-Type"].startswith("text/javascript")
    assert 'url: "/api/openapi.json"' in await init.text()


async def test_docs_page_assets_are_served_by_the_app(client):
    html = await docs_page(client)

    assert "http://" not in html
    assert "https://" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith(".js") for a in assets)
    assert any(a.endswith(".css") for a in assets)
    for asset in assets:
        resp = await client.get(asset)
        assert resp.status == 200, asset
        assert len(await resp.read()) > 0, asset


async def test_docs_page_loads_the_apps_openapi_document(client):
    await docs_page(client)
    init = await (await client.get("/api/docs/init.js")).text()  # the page's start-up script
    match = re.search(r'\burl:\s*"([^"]+)"', init)
    assert match, "the page names no OpenAPI document"

    resp = await client.get(match.group(1))

    assert resp.status == 200, f"the docs page loads {match.group(1)}: {resp.status}"
    assert (await resp.json()) == (await (await client.get("/api/openapi.json")).json())


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/health", {}),
        ("GET", "/ready", {}),
        ("GET", "/api/openapi.json", {}),
        ("GET", "/api/docs", {}),
        ("GET", "/api/docs/static/swagger-ui.css", {}),
        ("GET", "/nowhere", {}),
        ("GET", REGISTER, {}),
        ("GET", ME, {}),
        ("POST", REGISTER, {"json": {"username": "x"}}),
        ("POST", REGISTER, {"json": {"username": "alice", "password": PASSWORD}}),
    ],
    ids=["health", "ready", "openapi", "docs", "asset", "404", "405", "401", "422", "201"],
)
async def test_every_response_has_nosniff(client, method, path, kwargs):
    resp = await client.request(method, path, **kwargs)

    assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_logs_carry_one_access_line_per_request_and_no_secrets(
    aiohttp_client, make_settings, db, caplog
):
    """With the access logger `python -m server` uses. The `client` fixture's server keeps
    aiohttp's default one (TestServer drops its keyword arguments), so this test starts the
    server itself, the way the runner of `python -m server` does."""
    caplog.set_level(logging.DEBUG)
    server = TestServer(create_app(make_settings()))
    await server.start_server(access_log_class=AccessLogger)
    client = await aiohttp_client(server)
    wrong_password = "Wrong-but-secret-42"
    registered = await register(client, "alice")
    await client.post(LOGIN, json={"username": "alice", "password": wrong_password})
    pair = await login(client, "alice")
    refreshed = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    rotated = await refreshed.json()
    # A careless client puts its token in the query string too: the access line leaves it out.
    careless = f"{ME}?access_token={rotated['access_token']}"
    assert (await client.get(careless, headers=bearer(rotated["access_token"]))).status == 200
    await client.post(
        LOGOUT,
        json={"refresh_token": rotated["refresh_token"]},
        headers=bearer(pair["access_token"]),
    )

    def access_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]

    for _ in range(40):  # aiohttp logs a request just after sending its response
        if len(access_lines()) >= 6:
            break
        await asyncio.sleep(0.05)
    lines = access_lines()
    assert re.fullmatch(r"POST /api/auth/login 200 \d+\.\dms", lines[2]), lines
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        "POST /api/auth/register 201",
        "POST /api/auth/login 401",
        "POST /api/auth/login 200",
        "POST /api/auth/refresh 200",
        "GET /api/auth/me 200",
        "POST /api/auth/logout 204",
    ]
    secrets = {
        "password": PASSWORD,
        "wrong password": wrong_password,
        "jwt secret": TEST_JWT_SECRET,
        **{f"{name} {kind}": tokens[kind]
           for name, tokens in (("register", registered), ("login", pair), ("rotated", rotated))
           for kind in ("access_token", "refresh_token")},
    }  # fmt: skip
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) > len(lines)  # the app logged more than the access lines
    for name, secret in secrets.items():
        leaks = [m for m in messages if secret in m]
        assert not leaks, f"{name} in the log: {leaks[:1]}"
