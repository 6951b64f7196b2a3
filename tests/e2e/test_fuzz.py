"""Property-based fuzzing of the whole API from its own OpenAPI document (Schemathesis).

The real app runs on a real socket in a background thread with its own event loop: webhook
mode with its bot on the fake Bot API (so the webhook and the `tma` scheme are live), a bot
service token (so the `Bot` scheme is live), the session's embedded MongoDB. Schemathesis loads
the spec from the live `GET /api/openapi.json` and sends every request with `requests`, from
this (synchronous) test, so no event loop is shared with pytest-aiohttp.

For each operation of the spec:

1. Schemathesis' deterministic coverage cases: boundary values, missing and wrongly typed
   fields, unexpected methods;
2. Hypothesis-generated positive (valid per schema) and negative (invalid) cases, seeded
   (`derandomize`) and without an example database, so runs repeat and write nothing.

Some of the time a case carries real credentials instead of generated ones: a registered user's
Bearer token, the bot service token (alone or acting for a Telegram user id), signed Mini App
init data, a live refresh token, the webhook secret with a JSON update. Otherwise the fuzzer
would only ever see the 401s. Routes that end the caller's tokens or account (password change,
log out everywhere, session or account deletion) get a fresh throw-away user instead of the
owner, with its real password, session id and user id; admin routes get an admin's token.

Every response must pass: no 5xx, a documented status code, a documented content type, a
body valid against the documented schema, negative input refused with a 4xx, an unexpected
method answered 405 with `Allow`. Failures are collected (not shrunk) and reported together,
each with a curl command that reproduces it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir, storage_directory
from pymongo import MongoClient
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import OutputConfig, SanitizationConfig
from schemathesis.errors import FailureGroup

from config import load_settings
from server.app import create_app
from tests.bot_helpers import BOT_TOKEN, PUBLIC_URL, SECRET_HEADER, WEBHOOK_SECRET
from tests.conftest import base_settings
from tests.fake_bot_api import FakeBotAPI, text_message_update
from tests.kit.signing import sign_init_data_fields, sign_widget_fields, user_json

OPENAPI_PATH = "/api/openapi.json"
BOT_SERVICE_TOKEN = "fuzz-bot-service-token-0123456789abcdefghij"
USERNAME = "fuzz-owner"
ADMIN_USERNAME = "fuzz-admin"
PASSWORD = "fuzzing is a kind of proof 7319"
NEW_PASSWORD = "fuzzing changed the password 4821"
# Routes whose success ends the caller's tokens or account: a throw-away user takes the hit.
DESTRUCTIVE = {
    ("POST", "/api/auth/password"),
    ("POST", "/api/auth/logout-all"),
    ("DELETE", "/api/auth/me"),
    ("DELETE", "/api/auth/sessions/{id}"),
    ("DELETE", "/api/auth/telegram/link"),
}
# Routes that succeed only for an account linked to Telegram: their throw-away user is.
LINKED = {("DELETE", "/api/auth/telegram/link")}
START_TIMEOUT = 60.0

SEED = 20_240_604
# Hypothesis examples per operation and mode; the coverage cases come on top.
POSITIVE_EXAMPLES = 40
NEGATIVE_EXAMPLES = 30
MIN_REQUESTS = 500

CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "unsupported_method",
    "ignored_auth",
)

HYPOTHESIS_SETTINGS = settings(
    database=None,  # no .hypothesis directory in the repository
    derandomize=True,  # the same cases on every run
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # collect every failure; no shrinking
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


# --- The live app ----------------------------------------------------------------------


class _Server:
    """The real app and the fake Bot API on one event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-app", daemon=True)
        self.runner: web.AppRunner | None = None
        self.fake: FakeBotAPI | None = None

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(START_TIMEOUT)

    async def start(self, overrides: dict[str, Any]) -> str:
        self.fake = FakeBotAPI(BOT_TOKEN)
        await self.fake.start()
        settings_ = load_settings(**overrides, telegram_api_base_url=self.fake.url)
        self.runner = web.AppRunner(create_app(settings_), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        host, port = self.runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def stop(self) -> None:
        try:
            if self.runner is not None:
                await self.runner.cleanup()
        finally:
            if self.fake is not None:
                await self.fake.stop()

    def close(self) -> None:
        try:
            if self.thread.is_alive():
                self.run(self.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=START_TIMEOUT)
            self.loop.close()


@pytest.fixture
def hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hypothesis caches constants in `.hypothesis/` even with database=None: keep it out of
    the repository."""
    previous = storage_directory(intent_to_write=False).home_directory
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    try:
        yield
    finally:
        set_hypothesis_home_dir(previous)


@dataclass(frozen=True)
class LiveAPI:
    url: str
    mongo_uri: str
    db_name: str


@pytest.fixture
def live_api(mongo_uri: str, tmp_path: Path) -> Iterator[LiveAPI]:
    """The live app (its base URL); its database is dropped afterwards."""
    db_name = f"fuzz_{uuid.uuid4().hex[:12]}"
    overrides: dict[str, Any] = {
        **base_settings(mongo_uri, db_name, tmp_path / "data"),
        "mongodb_timeout": 5.0,
        "log_level": "WARNING",
        "telegram_bot_token": BOT_TOKEN,
        "telegram_webhook_secret": WEBHOOK_SECRET,
        "public_url": PUBLIC_URL,
        "bot_api_tokens": BOT_SERVICE_TOKEN,
        # Every request comes from 127.0.0.1: per-address limits this low would turn the run
        # into a stream of 429s. The per-username limits keep their defaults, so 429 still occurs.
        "login_max_failures_per_address": 1_000_000,
        "register_max_per_address": 1_000_000,
        # The owner gets a fresh task or list for many cases: the per-user quotas would turn
        # the run into 429s and 409s (both documented, so the fuzzer still meets them).
        "quota_tasks_per_minute": 1_000_000,
        "quota_lists": 10_000,
        "telegram_sign_in_max_per_address": 1_000_000,
        # Each live case of a members route shares a fresh list (docs/sharing.md, quotas).
        "sharing_max_lists_per_user": 200,
        "password_reset_max_per_address": 1_000_000,
        "username_change_max_per_address": 1_000_000,
        # The owner signs in again for every fresh refresh token: the session cap would end
        # the session of the owner's access token.
        "max_sessions_per_user": 1000,
    }
    server = _Server()
    server.thread.start()
    try:
        yield LiveAPI(server.run(server.start(overrides)), mongo_uri, db_name)
    finally:
        try:
            server.close()
        finally:
            with MongoClient(mongo_uri) as client:
                client.drop_database(db_name)


# --- Real credentials ------------------------------------------------------------------


def signed_widget_fields(user: dict[str, Any], auth_date: int | None = None) -> dict[str, Any]:
    """Login Widget fields signed as Telegram documents it (key: SHA-256 of the bot token)."""
    fields: dict[str, Any] = {
        "id": user["id"],
        "auth_date": int(time.time()) if auth_date is None else auth_date,
    }
    for key in ("first_name", "username"):
        if key in user:
            fields[key] = user[key]
    return sign_widget_fields(fields, BOT_TOKEN)


def signed_init_data(user: dict[str, Any] | None, auth_date: int | None = None) -> str:
    """Mini App init data signed as Telegram documents it."""
    fields = {"auth_date": str(int(time.time()) if auth_date is None else auth_date)}
    if user is not None:
        fields["user"] = user_json(user)
    return urlencode(sign_init_data_fields(fields, BOT_TOKEN))


TELEGRAM_IDS = st.integers(min_value=1, max_value=2**52 - 1)
TELEGRAM_USERS = st.fixed_dictionaries(
    {"id": TELEGRAM_IDS},
    optional={
        "first_name": st.text(max_size=20),
        "username": st.from_regex(r"[A-Za-z0-9_]{1,16}", fullmatch=True),
        "language_code": st.sampled_from(["en", "ru", "de", ""]),
        "is_premium": st.booleans(),
    },
)
# Signed, but the user field is anything at all: the signature holds, the content is wrong.
ODD_TELEGRAM_USERS = st.one_of(
    st.none(),
    st.fixed_dictionaries({"id": st.one_of(st.integers(), st.text(max_size=5), st.none())}),
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
)
TELEGRAM_USER_HEADER_VALUES = st.one_of(
    TELEGRAM_IDS.map(str),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.from_regex(r"[!-~]{0,20}", fullmatch=True),  # any visible ASCII a header may carry
)
UPDATES = st.one_of(
    st.builds(
        lambda update_id, user_id, text: {
            **text_message_update(text, user_id=user_id, chat_id=user_id),
            "update_id": update_id,
        },
        st.integers(min_value=1, max_value=2**31),
        TELEGRAM_IDS,
        st.sampled_from(["/start", "/help", "hello", "/start payload", ""]),
    ),
    st.dictionaries(
        st.sampled_from(["update_id", "message", "edited_message", "callback_query"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(st.text(max_size=8), children, max_size=3)
            ),
            max_leaves=8,
        ),
        max_size=4,
    ),
)


@dataclass(frozen=True)
class Throwaway:
    access_token: str
    user_id: str
    session_id: str


def _register(base_url: str, username: str) -> dict[str, Any]:
    response = requests.post(
        f"{base_url}/api/auth/register",
        json={"username": username, "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@dataclass
class Credentials:
    base_url: str
    access_token: str
    admin_token: str
    setup_requests: int = 0
    throwaways: int = 0
    mongo_uri: str = ""
    db_name: str = ""

    @classmethod
    def register(cls, base_url: str, mongo_uri: str, db_name: str) -> Credentials:
        owner = _register(base_url, USERNAME)
        admin = _register(base_url, ADMIN_USERNAME)
        with MongoClient(mongo_uri) as client:  # what `python -m server promote` does
            client[db_name]["users"].update_one(
                {"username_normalized": ADMIN_USERNAME}, {"$set": {"role": "admin"}}
            )
        return cls(
            base_url, owner["access_token"], admin["access_token"], mongo_uri=mongo_uri,
            db_name=db_name,
        )  # fmt: skip

    def throwaway(self, linked: bool = False) -> Throwaway:
        """A new user with PASSWORD: for a case that may end its tokens or delete it
        (`linked`: with a Telegram account, as the bot's Confirm would have linked it)."""
        self.setup_requests += 1
        self.throwaways += 1
        body = _register(self.base_url, f"fuzz-tmp-{self.throwaways}")
        if linked:
            with MongoClient(self.mongo_uri) as client:
                client[self.db_name]["users"].update_one(
                    {"username_normalized": f"fuzz-tmp-{self.throwaways}"},
                    {"$set": {"telegram_id": 900_000 + self.throwaways}},
                )
        token = body["access_token"]
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        return Throwaway(token, body["user"]["id"], payload["sid"])

    def _owner(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def fresh_task_id(self) -> str:
        """A task of the owner's (a fresh one: the case may delete it)."""
        self.setup_requests += 1
        response = requests.post(
            f"{self.base_url}/api/tasks", json={"title": "fuzz target"}, headers=self._owner(),
            timeout=30,
        )  # fmt: skip
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def fresh_list_id(self) -> str:
        """A list of the owner's own (renamed or deleted by the case)."""
        self.setup_requests += 1
        response = requests.post(
            f"{self.base_url}/api/lists", json={"name": f"fuzz {uuid.uuid4().hex}"},
            headers=self._owner(), timeout=30,
        )  # fmt: skip
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def fresh_share(self, with_member: bool) -> dict[str, str]:
        """A fresh list of the owner's with an open invite, and (`with_member`) a throw-away
        member: the path parameters of the sharing routes (`id`, `code`, `user_id`)."""
        list_id = self.fresh_list_id()
        self.setup_requests += 1
        response = requests.post(
            f"{self.base_url}/api/lists/{list_id}/invites", json={"role": "editor"},
            headers=self._owner(), timeout=30,
        )  # fmt: skip
        assert response.status_code == 201, response.text
        code = str(response.json()["code"])
        if not with_member:
            return {"id": list_id, "code": code}
        member = self.throwaway()
        self.setup_requests += 1
        joined = requests.post(
            f"{self.base_url}/api/invites/{code}/accept",
            headers={"Authorization": f"Bearer {member.access_token}"}, timeout=30,
        )  # fmt: skip
        assert joined.status_code == 200, joined.text
        return {"id": list_id, "user_id": member.user_id}

    def fresh_refresh_token(self) -> str:
        """A refresh token nobody has used yet: a new login of the owner."""
        self.setup_requests += 1
        response = requests.post(
            f"{self.base_url}/api/auth/login",
            json={"username": USERNAME, "password": PASSWORD},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["refresh_token"])


# What a case may carry instead of what Schemathesis generated. Drawn per case, applied in
# `apply_credentials`; "generated" leaves the case alone.
AUTH_CHOICES = st.sampled_from(["bearer", "generated", "bot", "bot-for-user", "tma", "tma-odd"])
BODY_CHOICES = st.sampled_from(["live", "generated"])


@st.composite
def extras(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "auth": draw(AUTH_CHOICES),
        "body": draw(BODY_CHOICES),
        "telegram_user_header": draw(TELEGRAM_USER_HEADER_VALUES),
        "telegram_user": draw(TELEGRAM_USERS),
        "odd_telegram_user": draw(ODD_TELEGRAM_USERS),
        "auth_date": draw(st.sampled_from([None, None, 0, 2**40])),
        "update": draw(st.one_of(UPDATES, st.none())),
        "secret": draw(st.sampled_from([WEBHOOK_SECRET, WEBHOOK_SECRET, "", "wrong"])),
    }


def apply_credentials(
    case: schemathesis.Case, mode: GenerationMode, extra: dict[str, Any], creds: Credentials
) -> dict[str, str]:
    """Put real credentials (or bodies) into the case as `extra` says; return the headers that
    are ours, not generated, so that the `ignored_auth` check knows them as explicit."""
    operation = case.operation
    raw = operation.definition.raw
    protected = bool(raw.get("security"))
    headers = dict(case.headers or {})
    path = operation.path
    live = mode.is_positive and extra["body"] == "live"
    throwaway = None
    targets = (operation.method.upper(), path) in DESTRUCTIVE or path.startswith(
        "/api/admin/users/"
    )
    if targets and (extra["auth"] == "bearer" or (live and "{id}" in path)):
        throwaway = creds.throwaway(linked=(operation.method.upper(), path) in LINKED)
    if protected:
        match extra["auth"]:
            case "bearer" if path.startswith("/api/admin/"):
                headers["Authorization"] = f"Bearer {creds.admin_token}"
            case "bearer" if throwaway is not None:
                headers["Authorization"] = f"Bearer {throwaway.access_token}"
            case "bearer":
                headers["Authorization"] = f"Bearer {creds.access_token}"
            case "bot":
                headers["Authorization"] = f"Bot {BOT_SERVICE_TOKEN}"
            case "bot-for-user":
                headers["Authorization"] = f"Bot {BOT_SERVICE_TOKEN}"
                headers["X-Telegram-User-Id"] = extra["telegram_user_header"]
            case "tma":
                init = signed_init_data(extra["telegram_user"], extra["auth_date"])
                headers["Authorization"] = f"tma {init}"
            case "tma-odd":
                headers["Authorization"] = f"tma {signed_init_data(extra['odd_telegram_user'])}"
    if path == "/telegram/webhook":
        headers[SECRET_HEADER] = extra["secret"]
        # Not declared in the spec (yet): send a body ourselves; if it ever is declared, leave
        # negative bodies alone.
        if extra["update"] is not None and (mode.is_positive or "requestBody" not in raw):
            headers["Content-Type"] = "application/json"
            case.body = extra["update"]
            case.media_type = "application/json"
    elif live:
        # Only positive cases: replacing a negative body would make it valid.
        if throwaway is not None and "{id}" in path:
            # The throw-away's own session, or (admin routes) the throw-away user.
            is_session = path.startswith("/api/auth/sessions/")
            case.path_parameters = {"id": throwaway.session_id if is_session else throwaway.user_id}
        if path == "/api/auth/password":
            case.body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
            case.media_type = "application/json"
        elif path == "/api/auth/me" and operation.method.upper() == "DELETE":
            case.body = {"password": PASSWORD}
            case.media_type = "application/json"
        elif path == "/api/auth/telegram/widget":
            case.body = signed_widget_fields(extra["telegram_user"], extra["auth_date"])
            case.media_type = "application/json"
        elif path in ("/api/auth/refresh", "/api/auth/logout"):
            case.body = {"refresh_token": creds.fresh_refresh_token()}
            case.media_type = "application/json"
        elif path == "/api/auth/telegram":
            user = (
                extra["telegram_user"] if extra["auth"] != "tma-odd" else extra["odd_telegram_user"]
            )
            case.body = {"init_data": signed_init_data(user, extra["auth_date"])}
            case.media_type = "application/json"
        elif path == "/api/auth/login":
            case.body = {"username": USERNAME, "password": PASSWORD}
            case.media_type = "application/json"
        elif path in ("/api/tasks/{id}", "/api/lists/{id}") and extra["auth"] == "bearer":
            # The owner's own object, so the route is reached past its 404.
            fresh = creds.fresh_task_id if path.startswith("/api/tasks") else creds.fresh_list_id
            case.path_parameters = {**(case.path_parameters or {}), "id": fresh()}
        elif (
            path.startswith(("/api/lists/{id}/", "/api/invites/{code}"))
            and extra["auth"] == "bearer"
        ):
            # Shared lists: the owner's fresh list, a live invite, a real member.
            with_member = "{user_id}" in path or path.endswith("/owner")
            share = creds.fresh_share(with_member)
            params = {k: v for k, v in share.items() if "{" + k + "}" in path}
            case.path_parameters = {**(case.path_parameters or {}), **params}
            if path.endswith("/owner") and isinstance(case.body, dict):
                case.body["user_id"] = share["user_id"]
        if path.startswith("/api/tasks") and isinstance(case.body, dict):
            # A generated list reference or RRULE is almost never one that exists or parses:
            # live cases use real ones, so the rest of the body is what gets tested.
            if "list" in case.body:
                case.body["list"] = "today"
            if case.body.get("repeat") is not None:
                case.body["repeat"] = "FREQ=WEEKLY;BYDAY=MO"
    case.headers = headers
    if protected and extra["auth"] != "generated":
        return {"Authorization": headers["Authorization"]}
    return {}


# --- The run ---------------------------------------------------------------------------


@dataclass
class Run:
    base_url: str
    session: requests.Session
    checks: list[Any]
    creds: Credentials
    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)

    def send(self, case: schemathesis.Case, explicit: dict[str, str] | None = None) -> None:
        label = case.operation.label
        try:
            response = case.call(base_url=self.base_url, session=self.session, timeout=30)
        except requests.RequestException as exc:
            self.failures.setdefault(f"{label}: transport error", f"{exc!r}\n{case!r}")
            return
        self.sent[label] += 1
        self.statuses[(label, response.status_code)] += 1
        try:
            case.validate_response(
                response,
                checks=self.checks,
                headers=explicit,
                transport_kwargs={"base_url": self.base_url, "session": self.session},
            )
        except FailureGroup as group:
            # One report per operation and kind of failure; the first example is kept.
            titles = ", ".join(sorted({failure.title for failure in group.exceptions}))
            self.failures.setdefault(f"{label}: {titles}", str(group))


def fuzz_operation(run: Run, operation: Any, schema: Any) -> None:
    generation = schema.config.generation_for(operation=operation)
    for case in schema.iter_coverage_cases(
        operation,
        generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        generation_config=generation,
    ):
        run.send(case)

    fuzz_mode(run, operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES)
    raw = operation.definition.raw
    if any(raw.get(key) for key in ("requestBody", "parameters", "security")):
        # Nothing to make invalid otherwise: Hypothesis would rightly call it unsatisfiable.
        fuzz_mode(run, operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)


def fuzz_mode(run: Run, operation: Any, mode: GenerationMode, examples: int) -> None:
    @given(case=operation.as_strategy(mode), extra=extras())
    @settings(HYPOTHESIS_SETTINGS, max_examples=examples)
    def fuzz(case: schemathesis.Case, extra: dict[str, Any]) -> None:
        run.send(case, apply_credentials(case, mode, extra, run.creds))

    fuzz()


# Its own time limit: the run grows with the routes (every operation, both modes, a fixed
# number of examples), and under coverage it takes several times the suite's 120 s default.
@pytest.mark.timeout(900)
@pytest.mark.usefixtures("hypothesis_home")
def test_the_whole_api_survives_schema_based_fuzzing(
    live_api: LiveAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    load_all_checks()
    checks = [CHECKS.get_one(name) for name in CHECK_NAMES]
    config = schemathesis.Config(
        seed=SEED, output=OutputConfig(sanitization=SanitizationConfig(enabled=False))
    )
    schema = schemathesis.openapi.from_url(live_api.url + OPENAPI_PATH, config=config, timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18, [op.label for op in operations]

    start = time.monotonic()
    with requests.Session() as session:
        run = Run(
            base_url=live_api.url,
            session=session,
            checks=checks,
            creds=Credentials.register(live_api.url, live_api.mongo_uri, live_api.db_name),
        )
        for operation in operations:
            fuzz_operation(run, operation, schema)
    elapsed = time.monotonic() - start

    total = sum(run.sent.values())
    summary = "\n".join(
        [
            f"{total} generated requests in {elapsed:.1f} s "
            f"(+{run.creds.setup_requests} logins and registrations for live credentials)",
            *(
                f"  {label}: {count} requests; statuses "
                + ", ".join(
                    f"{status}x{n}"
                    for (lbl, status), n in sorted(run.statuses.items())
                    if lbl == label
                )
                for label, count in run.sent.items()
            ),
        ]
    )
    print(summary)
    server_errors = [logging.Formatter().format(record) for record in caplog.records]
    if run.failures or server_errors:
        report = [f"### {key}\n{text}" for key, text in run.failures.items()]
        if server_errors:
            report.append("### Errors the server logged\n" + "\n".join(server_errors))
        pytest.fail(
            f"{len(run.failures)} distinct failure(s):\n\n"
            + "\n\n".join(report)
            + "\n\n"
            + summary,
            pytrace=False,
        )
    assert total >= MIN_REQUESTS, summary
    assert set(run.sent) == {op.label for op in operations}, summary
    # The real credentials got the fuzzer past authentication: every protected operation
    # answered 2xx at least once.
    for operation in operations:
        if operation.definition.raw.get("security"):
            assert any(
                lbl == operation.label and 200 <= status < 300 for lbl, status in run.statuses
            ), (operation.label, summary)
