"""/api/auth/*: each handler reads the body, calls one service function, shapes the answer."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from server.api.body import read_json, read_json_or_form
from server.api.client import client_address, user_agent
from server.api.responses import json_response
from server.api.schemas import (
    BotOut,
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
from server.auth.principal import principal_of, protected, require_user
from server.keys import SERVICES


def _json(model: BaseModel, status: int = 200, *, no_store: bool = False) -> web.Response:
    return json_response(model, status, no_store=no_store)


async def register(request: web.Request) -> web.Response:
    body = await read_json(request, RegisterRequest)
    user, pair = await request.app[SERVICES].auth.register(
        body.username, body.password, client_address(request), user_agent=user_agent(request)
    )
    out = RegisterOut(**TokenPairOut.of(pair).model_dump(), user=UserOut.of(user))
    return _json(out, 201, no_store=True)


async def login(request: web.Request) -> web.Response:
    body = await read_json_or_form(request, LoginRequest, LoginForm)
    pair = await request.app[SERVICES].auth.login(
        body.username, body.password, client_address(request), user_agent=user_agent(request)
    )
    return _json(TokenPairOut.of(pair), no_store=True)


async def refresh(request: web.Request) -> web.Response:
    body = await read_json(request, RefreshRequest)
    pair = await request.app[SERVICES].auth.refresh(
        body.refresh_token, user_agent=user_agent(request)
    )
    return _json(TokenPairOut.of(pair), no_store=True)


async def telegram(request: web.Request) -> web.Response:
    body = await read_json(request, TelegramAuthRequest)
    _, pair = await request.app[SERVICES].auth.telegram_sign_in(
        body.init_data, client_address(request), user_agent=user_agent(request)
    )
    return _json(TokenPairOut.of(pair), no_store=True)


@protected
async def logout(request: web.Request) -> web.Response:
    body = await read_json(request, RefreshRequest)
    await request.app[SERVICES].auth.logout(require_user(request), body.refresh_token)
    return web.Response(status=204)


@protected
async def me(request: web.Request) -> web.Response:
    principal = principal_of(request)
    if principal.user_id is None:
        assert principal.bot_name is not None
        return _json(MeOut(BotOut(name=principal.bot_name)))
    return _json(MeOut(UserOut.of(await request.app[SERVICES].users.get(principal.user_id))))
