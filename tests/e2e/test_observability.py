"""Request ids (response, log lines, problem documents), Telegram update ids in the log lines
of their handling, JSON logs without secrets, and the Prometheus metrics: exact values after
a scripted sequence of requests and updates, and where they may be read."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from config import ConfigError
from server.app import create_app
from server.db.embedded import EmbeddedMongo, free_port
from server.observability.log_format import make_handler
from server.observability.logs import AccessLogger
from tests.bot_helpers import BOT_TOKEN, WEBHOOK_SECRET, bot_settings, post_update
from tests.conftest import TEST_JWT_SECRET
from tests.fake_bot_api import text_message_update
from tests.helpers import LOGIN, ME, PASSWORD, REFRESH, REGISTER, assert_problem, bearer, register

METRICS_TOKEN = "metrics-token-0123456789-abcdefghijklmnop"
REQUEST_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


# ------------------------------------------------------------------------------- helpers


class LogCapture:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines()]

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first JSON record matching, waiting for it (aiohttp logs a request just after
        answering it)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            found = [r for r in self.records() if predicate(r)]
            if found:
                return found[0]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no such log record in:\n{self.text()[-3000:]}")


@pytest.fixture
def json_logs() -> Iterator[LogCapture]:
    """Every record of the process, as `LOG_FORMAT=json` writes it, at DEBUG."""
    stream = io.StringIO()
    handler = make_handler("json", stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield LogCapture(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def serve(aiohttp_client, make_settings, db):
    """The app with the access logger `python -m server` uses (the `client` fixture's server
    keeps aiohttp's default one)."""

    async def start(**overrides: Any) -> TestClient:
        server = TestServer(create_app(make_settings(**overrides)))
        await server.start_server(access_log_class=AccessLogger)
        return await aiohttp_client(server)

    return start


async def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics", headers=bearer(METRICS_TOKEN))
    assert response.status == 200, await response.text()
    return parse(await response.text())


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    assert key in samples, f"{name}{labels} not exposed"
    return samples[key]


async def wait_for_metric(client: TestClient, name: str, expected: float, **labels: str) -> None:
    deadline = time.monotonic() + 5
    while (seen := sample(await scrape(client), name, **labels)) != expected:
        assert time.monotonic() < deadline, f"{name}{labels} = {seen}, expected {expected}"
        await asyncio.sleep(0.02)


# --------------------------------------------------------------------------- request ids


async def test_a_request_id_is_returned_logged_and_in_the_problem(serve, json_logs):
    client = await serve()

    created = await client.post(
        REGISTER,
        json={"username": "alice", "password": PASSWORD},
        headers={"X-Request-Id": REQUEST_ID},
    )
    taken = await client.post(
        REGISTER,
        json={"username": "alice", "password": PASSWORD},
        headers={"X-Request-Id": "bad id; with spaces"},
    )

    assert created.status == 201
    assert created.headers["X-Request-Id"] == REQUEST_ID
    made = taken.headers["X-Request-Id"]
    assert made != "bad id; with spaces"
    assert len(made) == 32
    body = await assert_problem(taken, 409)
    assert body["request_id"] == made
    # A line the service logs while handling the request, and the access line after it.
    registered = await json_logs.wait_for(lambda r: r["message"].startswith("user registered"))
    assert registered["request_id"] == REQUEST_ID
    access = await json_logs.wait_for(
        lambda r: r["logger"] == "aiohttp.access" and r["http"]["status"] == 409
    )
    assert access["request_id"] == made
    assert access["http"] == {"method": "POST", "path": REGISTER, "status": 409,
                              "duration_ms": access["http"]["duration_ms"]}  # fmt: skip
    first_access = await json_logs.wait_for(
        lambda r: r["logger"] == "aiohttp.access" and r["http"]["status"] == 201
    )
    assert first_access["request_id"] == REQUEST_ID
    # Lines logged between requests (after the first one ended) carry no request id.
    assert all(r.get("request_id") in (REQUEST_ID, made, None) for r in json_logs.records())


async def test_every_response_carries_a_request_id(client):
    for path in ("/health", "/nowhere", "/api/docs", "/api/docs/static/swagger-ui.css", ME):
        response = await client.get(path)
        assert len(response.headers["X-Request-Id"]) == 32, path
    ids = {(await client.get("/health")).headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3


async def test_problem_documents_name_the_request(client):
    for method, path in (("GET", "/nowhere"), ("GET", ME), ("PUT", "/health")):
        response = await client.request(method, path, headers={"X-Request-Id": "probe-1"})
        body = await response.json()
        assert body["request_id"] == "probe-1", (method, path, body)


async def test_the_update_id_is_on_every_log_line_of_its_handling(make_client, fake_api, json_logs):
    client = await make_client(**bot_settings(fake_api))
    fake_api.stub_error("sendMessage", 400, "Bad Request: chat not found")

    response = await post_update(client, text_message_update("/help", update_id=4242))

    assert response.status == 200
    failed = await json_logs.wait_for(lambda r: r["message"] == "handler failed for update 4242")
    assert failed["update_id"] == 4242
    assert "BadRequest" in failed["exc_info"]
    apology = await json_logs.wait_for(lambda r: "apology for update 4242" in r["message"])
    assert apology["update_id"] == 4242
    # The webhook request's own later lines name the update too; a redelivery shows it.
    again = await post_update(client, text_message_update("/help", update_id=4242))
    assert again.status == 200
    redelivered = await json_logs.wait_for(lambda r: "delivered again" in r["message"])
    assert redelivered["update_id"] == 4242
    assert redelivered["request_id"] == again.headers["X-Request-Id"]


# ---------------------------------------------------------------------------- JSON logs


async def test_json_log_lines_parse_and_hold_no_secret(serve, json_logs, fake_api):
    client = await serve(**bot_settings(fake_api), metrics_token=METRICS_TOKEN)
    wrong_password = "Wrong-but-secret-42"
    registered = await register(client, "alice")
    await client.post(LOGIN, json={"username": "alice", "password": wrong_password})
    login = await client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    pair = await login.json()
    rotated = await (
        await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    ).json()
    await client.get(f"{ME}?access_token={rotated['access_token']}",
                     headers=bearer(rotated["access_token"]))  # fmt: skip
    await client.get("/metrics", headers=bearer(METRICS_TOKEN))
    await post_update(client, text_message_update("/start", user_id=99))
    await fake_api.wait_for("sendMessage")
    # A path that tries to start a forged line of its own.
    await client.get("/nowhere%0A2030-01-01 INFO forged")
    not_found = await json_logs.wait_for(lambda r: r.get("http", {}).get("status") == 404)
    # Escaped as in the plain format (JSON would keep the line whole anyway).
    assert not_found["message"].startswith("GET /nowhere\\n2030-01-01 INFO forged 404 ")

    lines = json_logs.text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(records) > 20
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    secrets = {
        "password": PASSWORD, "wrong password": wrong_password, "jwt secret": TEST_JWT_SECRET,
        "bot token": BOT_TOKEN, "webhook secret": WEBHOOK_SECRET, "metrics token": METRICS_TOKEN,
        **{f"{name} {kind}": tokens[kind]
           for name, tokens in (("register", registered), ("login", pair), ("rotated", rotated))
           for kind in ("access_token", "refresh_token")},
    }  # fmt: skip
    text = json_logs.text()
    for name, secret in secrets.items():
        assert secret not in text, f"{name} in the JSON log"
    assert not any(line.startswith("2030-01-01") or "forged" in line.split('"')[0]
                   for line in lines)  # fmt: skip


# ------------------------------------------------------------------------------ metrics


async def test_metric_values_after_a_scripted_sequence(make_client, fake_api):
    client = await make_client(
        **bot_settings(fake_api),
        metrics_token=METRICS_TOKEN,
        login_max_failures_per_username=2,
    )
    before = await scrape(client)
    assert sample(before, "assistant_argon2_queue_depth") == 0

    # HTTP and auth.
    for _ in range(2):
        assert (await client.get("/health")).status == 200
    registered = await register(client, "alice")
    credentials = {"username": "alice", "password": PASSWORD}
    wrong = {"username": "alice", "password": "not-the-password"}
    signed_in = await client.post(LOGIN, json=credentials)  # counted, forgiven
    assert signed_in.status == 200
    other_session = (await signed_in.json())["access_token"]
    assert (await client.post(LOGIN, json=wrong)).status == 401
    assert (await client.post(LOGIN, json=wrong)).status == 401
    assert (await client.post(LOGIN, json=wrong)).status == 429  # 3 failures > 2
    refresh = {"refresh_token": registered["refresh_token"]}
    assert (await client.post(REFRESH, json=refresh)).status == 200
    assert (await client.post(REFRESH, json=refresh)).status == 401  # spent: session revoked
    assert (await client.get(ME, headers=bearer(other_session))).status == 200
    assert (await client.get(ME, headers=bearer("not-a-jwt"))).status == 401
    assert (await client.get(ME)).status == 401
    assert (await client.get(ME, headers={"Authorization": "Basic YTpi"})).status == 401
    assert (await client.get("/nowhere/alice-private-path")).status == 404
    assert (await client.get("/api/docs/static/swagger-ui.css")).status == 200

    # Telegram: two new updates, one redelivery, one whose handler fails, one forged.
    assert (await post_update(client, text_message_update("/start", update_id=1))).status == 200
    assert (await post_update(client, text_message_update("/start", update_id=1))).status == 200
    assert (await post_update(client, text_message_update("/help", update_id=2))).status == 200
    await fake_api.wait_for("sendMessage", count=2)
    await wait_for_metric(client, "assistant_telegram_updates_handled_total", 2)
    fake_api.stub_error("sendMessage", 403, "Forbidden: bot was blocked by the user")
    assert (await post_update(client, text_message_update("/help", update_id=3))).status == 200
    await wait_for_metric(client, "assistant_telegram_updates_failed_total", 1)
    forged = await post_update(client, text_message_update("/help", update_id=4), secret="nope")
    assert forged.status == 401

    m = await scrape(client)

    def requests(method: str, route: str, status: str) -> float:
        return sample(m, "assistant_http_requests_total", method=method, route=route,
                      status=status)  # fmt: skip

    assert requests("GET", "/health", "2xx") == 2
    assert requests("POST", "/api/auth/register", "2xx") == 1
    assert requests("POST", "/api/auth/login", "2xx") == 1
    assert requests("POST", "/api/auth/login", "4xx") == 3
    assert requests("POST", "/api/auth/refresh", "4xx") == 1
    assert requests("GET", "/api/auth/me", "2xx") == 1
    assert requests("GET", "/api/auth/me", "4xx") == 3
    assert requests("GET", "unmatched", "4xx") == 1
    assert requests("GET", "/api/docs/static", "2xx") == 1
    assert requests("POST", "/telegram/webhook", "2xx") == 4
    assert requests("POST", "/telegram/webhook", "4xx") == 1
    duration = "assistant_http_request_duration_seconds_count"
    assert sample(m, duration, method="POST", route="/api/auth/login", status="4xx") == 3

    def auth(scheme: str, outcome: str) -> float:
        return sample(m, "assistant_auth_attempts_total", scheme=scheme, outcome=outcome)

    assert (auth("password", "accepted"), auth("password", "refused")) == (1, 2)
    assert auth("password", "throttled") == 1
    assert (auth("refresh", "accepted"), auth("refresh", "refused")) == (1, 1)
    assert (auth("bearer", "accepted"), auth("bearer", "refused")) == (1, 1)
    assert (auth("none", "refused"), auth("other", "refused")) == (1, 1)
    assert (auth("webhook", "accepted"), auth("webhook", "refused")) == (4, 1)
    assert auth("bot", "accepted") == auth("tma", "refused") == 0

    def updates(stage: str) -> float:
        return sample(m, f"assistant_telegram_updates_{stage}_total")

    assert updates("received") == 4
    assert updates("recorded") == 3
    assert updates("duplicate") == 1
    assert updates("handled") == 2
    assert updates("failed") == 1
    assert updates("taken_over") == 0
    assert sample(m, "assistant_telegram_update_handling_lag_seconds_count") == 3
    assert sample(m, "assistant_db_errors_total", kind="unavailable") == 0
    assert sample(m, "assistant_db_errors_total", kind="error") == 0
    assert sample(m, "assistant_reminders_due_total") == 0
    assert sample(m, "assistant_argon2_queue_depth") == 0
    assert sample(m, "process_resident_memory_bytes") > 0

    # No raw path, user data or id is a label value.
    text = await (await client.get("/metrics", headers=bearer(METRICS_TOKEN))).text()
    for private in ("alice", "nowhere", "swagger-ui.css", registered["user"]["id"]):
        assert private not in text, private


async def test_database_errors_are_counted(make_client, tmp_path):
    mongo = EmbeddedMongo(tmp_path / "mongo")
    await asyncio.to_thread(mongo.start)
    try:
        client = await make_client(
            mongodb_uri=mongo.uri, mongodb_timeout=1.0, metrics_token=METRICS_TOKEN
        )
        await asyncio.to_thread(mongo.stop)

        response = await client.post(LOGIN, json={"username": "alice", "password": PASSWORD})

        assert response.status == 503
        m = await scrape(client)
        assert sample(m, "assistant_db_errors_total", kind="unavailable") == 1
        assert sample(m, "assistant_db_errors_total", kind="error") == 0
        assert sample(m, "assistant_http_requests_total", method="POST",
                      route="/api/auth/login", status="5xx") == 1  # fmt: skip
    finally:
        await asyncio.to_thread(mongo.stop)


async def test_metrics_are_off_by_default(client):
    response = await client.get("/metrics")

    await assert_problem(response, 404)


async def test_metrics_on_the_app_port_need_the_token(make_client):
    client = await make_client(metrics_token=METRICS_TOKEN)

    for headers in ({}, bearer("wrong-token"), {"Authorization": f"Bot {METRICS_TOKEN}"}):
        response = await client.get("/metrics", headers=headers)
        await assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    response = await client.get("/metrics", headers=bearer(METRICS_TOKEN))
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert "assistant_http_requests_total" in await response.text()


async def test_metrics_on_a_port_of_their_own(make_client):
    port = free_port()
    client = await make_client(metrics_port=port)

    assert (await client.get("/metrics")).status == 404  # not on the public port
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        assert response.status == 200
        text = await response.text()
    assert "assistant_telegram_updates_received_total 0.0" in text


def test_a_metrics_port_off_loopback_needs_the_token(make_settings):
    with pytest.raises(ConfigError, match="METRICS_TOKEN is required"):
        make_settings(metrics_port=9100, metrics_host="0.0.0.0")  # noqa: S104
    make_settings(metrics_port=9100, metrics_host="0.0.0.0", metrics_token=METRICS_TOKEN)  # noqa: S104


def test_production_wants_a_strong_metrics_token(make_settings):
    production = {"env": "production", "argon2_time_cost": 2, "argon2_memory_cost": 19456}
    with pytest.raises(ConfigError, match="METRICS_TOKEN must be at least 32 bytes"):
        make_settings(**production, metrics_token="short-token")
