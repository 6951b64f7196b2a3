"""Every HTTP route of the service, in one table."""

from __future__ import annotations

from aiohttp import web

from server.api import assistant_handlers, auth_handlers, health, tasks_handlers
from server.api.account_routes import ACCOUNT_ENDPOINTS
from server.api.assistant_schemas import MePatch, ParseOut, ParseRequest
from server.api.data_routes import DATA_ENDPOINTS
from server.api.docs import add_docs
from server.api.openapi import build_openapi
from server.api.schemas import (
    HealthOut,
    LoginForm,
    LoginRequest,
    MeOut,
    RefreshRequest,
    RegisterOut,
    RegisterRequest,
    TelegramAuthRequest,
    TokenPairOut,
    UserOut,
)
from server.api.sharing_routes import SHARING_ENDPOINTS
from server.api.task_schemas import (
    ListIn,
    ListOut,
    ListsOut,
    TaskIn,
    TaskListQuery,
    TaskOut,
    TaskPageOut,
    TaskPatch,
)
from server.http.endpoints import Endpoint, add_endpoints
from server.http.jsonio import json_response

API_TITLE = "Assistant backend"
API_VERSION = "0.1.0"
OPENAPI_PATH = "/api/openapi.json"

ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/health", health.health, "Liveness", "ops", responses={200: HealthOut}),
    Endpoint("GET", "/ready", health.ready, "Readiness: the database answers", "ops",
             responses={200: HealthOut}, errors=(503,)),
    Endpoint("POST", "/api/auth/register", auth_handlers.register, "Create an account", "auth",
             request=RegisterRequest, responses={201: RegisterOut}, errors=(409, 429, 503)),
    Endpoint("POST", "/api/auth/login", auth_handlers.login, "Log in with a password", "auth",
             request=LoginRequest, form=LoginForm, responses={200: TokenPairOut},
             errors=(401, 403, 429, 503)),
    Endpoint("POST", "/api/auth/refresh", auth_handlers.refresh,
             "Exchange a refresh token for a new pair (the old one is spent)", "auth",
             request=RefreshRequest, responses={200: TokenPairOut}, errors=(401, 403, 503)),
    Endpoint("POST", "/api/auth/logout", auth_handlers.logout, "End the refresh token's session",
             "auth", request=RefreshRequest, responses={204: None}, errors=(403, 422, 503)),
    Endpoint("POST", "/api/auth/telegram", auth_handlers.telegram,
             "Sign in with Telegram Mini App init data", "auth", request=TelegramAuthRequest,
             responses={200: TokenPairOut}, errors=(401, 403, 404, 429, 503)),
    Endpoint("GET", "/api/auth/me", auth_handlers.me,
             "The current user (or the bot itself, for a bot without X-Telegram-User-Id)",
             "auth", responses={200: MeOut}, errors=(422, 503)),
    Endpoint("GET", "/api/lists", tasks_handlers.list_lists,
             "The user's lists: built-ins first (inbox, today, later, someday), then their own",
             "lists", responses={200: ListsOut}, errors=(403, 503)),
    Endpoint("POST", "/api/lists", tasks_handlers.create_list,
             "Create a list (409: the name is taken, or the list quota is full)", "lists",
             request=ListIn, responses={201: ListOut}, errors=(403, 409, 503)),
    Endpoint("PATCH", "/api/lists/{id}", tasks_handlers.rename_list,
             "Rename a list (built-ins: 409)", "lists", request=ListIn,
             responses={200: ListOut}, errors=(403, 404, 409, 503)),
    Endpoint("DELETE", "/api/lists/{id}", tasks_handlers.delete_list,
             "Delete a list; its tasks move to inbox (built-ins: 409)", "lists",
             responses={204: None}, errors=(403, 404, 409, 503)),
    Endpoint("GET", "/api/tasks", tasks_handlers.list_tasks,
             "Tasks, newest first, a page at a time; or search with q", "tasks",
             query=TaskListQuery, responses={200: TaskPageOut}, errors=(403, 404, 503)),
    Endpoint("POST", "/api/tasks", tasks_handlers.create_task,
             "Create a task (409: a quota is full; 429: created too fast)", "tasks",
             request=TaskIn, responses={201: TaskOut}, errors=(403, 409, 429, 503)),
    Endpoint("GET", "/api/tasks/{id}", tasks_handlers.get_task, "One task", "tasks",
             responses={200: TaskOut}, errors=(403, 404, 503)),
    Endpoint("PATCH", "/api/tasks/{id}", tasks_handlers.update_task,
             "Change a task (null clears notes, due, remind_at, repeat). With If-Match: "
             "\"<version>\" (the task's ETag), 409 with the current task (`current`) if it "
             "changed since", "tasks",
             request=TaskPatch, responses={200: TaskOut}, errors=(400, 403, 404, 409, 503)),
    Endpoint("DELETE", "/api/tasks/{id}", tasks_handlers.delete_task,
             "Delete a task (If-Match as for PATCH)", "tasks",
             responses={204: None}, errors=(400, 403, 404, 409, 503)),
    Endpoint("PATCH", "/api/auth/me", assistant_handlers.patch_me,
             "Change your username (throttled per user and per address), time zone or "
             "language", "auth", request=MePatch,
             responses={200: UserOut}, errors=(403, 409, 422, 429, 503)),
    Endpoint("POST", "/api/tasks/parse", assistant_handlers.parse_text,
             "What the natural-language parser understands in a text (saves nothing)", "tasks",
             request=ParseRequest, responses={200: ParseOut}, errors=(403, 422, 503)),
    *ACCOUNT_ENDPOINTS,
    *DATA_ENDPOINTS,
    *SHARING_ENDPOINTS,
]  # fmt: skip


def setup_routes(app: web.Application, others: list[Endpoint]) -> None:
    """The API's routes, plus the other adapters' (`others`, e.g. the Telegram webhook), in
    one router and one OpenAPI document."""
    endpoints = ENDPOINTS + others
    add_endpoints(app, endpoints)
    spec = build_openapi(endpoints, API_TITLE, API_VERSION)

    async def openapi(request: web.Request) -> web.Response:
        return json_response(spec)

    app.router.add_get(OPENAPI_PATH, openapi)
    add_docs(app, OPENAPI_PATH, API_TITLE)
