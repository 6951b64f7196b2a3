"""Account routes: passwords, sessions, log out everywhere, deleting the account, linking
Telegram, the Login Widget. Each reads the request, calls one service, shapes the answer."""

from __future__ import annotations

from aiohttp import web

from server.api.account_schemas import (
    AcceptedOut,
    DeleteMeRequest,
    ForgotPasswordRequest,
    LinkOut,
    ResetPasswordRequest,
    SessionOut,
    SessionsOut,
    SetPasswordRequest,
    WidgetRequest,
)
from server.api.body import read_json
from server.api.client import client_address, user_agent
from server.api.responses import json_response
from server.api.schemas import TokenPairOut
from server.auth.principal import principal_of, protected, require_user
from server.keys import SERVICES
from server.services.accounts.manage import Confirmation


def confirmation(request: web.Request, init_data: str | None) -> Confirmation:
    """What the request offers as a fresh confirmation: init data from the body, else a
    `tma` request's own; or the trusted bot acting for the user."""
    principal = principal_of(request)
    if init_data is None and principal.scheme == "tma":
        init_data = request.headers.get("Authorization", "").partition(" ")[2].strip() or None
    trusted = principal.scheme == "Bot" and principal.user_id is not None
    return Confirmation(init_data=init_data, trusted_bot=trusted)


@protected
async def set_password(request: web.Request) -> web.Response:
    body = await read_json(request, SetPasswordRequest)
    pair = await request.app[SERVICES].accounts.set_password(
        require_user(request),
        body.current_password,
        body.new_password,
        client_address(request),
        user_agent(request),
        confirmation(request, body.init_data),
    )
    return json_response(TokenPairOut.of(pair), no_store=True)


@protected
async def list_sessions(request: web.Request) -> web.Response:
    user_id = require_user(request)
    sessions = await request.app[SERVICES].sessions.list(user_id, principal_of(request).session_id)
    return json_response(SessionsOut(items=[SessionOut.of(s) for s in sessions]))


@protected
async def end_session(request: web.Request) -> web.Response:
    await request.app[SERVICES].sessions.end(require_user(request), request.match_info["id"])
    return web.Response(status=204)


@protected
async def logout_all(request: web.Request) -> web.Response:
    await request.app[SERVICES].sessions.end_all(require_user(request))
    return web.Response(status=204)


@protected
async def delete_me(request: web.Request) -> web.Response:
    body = await read_json(request, DeleteMeRequest)
    await request.app[SERVICES].accounts.delete(
        require_user(request),
        body.password,
        client_address(request),
        confirmation(request, body.init_data),
    )
    return web.Response(status=204)


@protected
async def link_telegram(request: web.Request) -> web.Response:
    offer = await request.app[SERVICES].linking.create_link(require_user(request))
    out = LinkOut(url=offer.url, expires_in=offer.expires_in)
    return json_response(out, 201, no_store=True)  # the link is a one-time credential


@protected
async def unlink_telegram(request: web.Request) -> web.Response:
    await request.app[SERVICES].linking.unlink(require_user(request))
    return web.Response(status=204)


async def forgot_password(request: web.Request) -> web.Response:
    body = await read_json(request, ForgotPasswordRequest)
    await request.app[SERVICES].recovery.forgot(body.username, client_address(request))
    return json_response(AcceptedOut(), 202)


async def reset_password(request: web.Request) -> web.Response:
    body = await read_json(request, ResetPasswordRequest)
    pair = await request.app[SERVICES].recovery.reset(
        body.username, body.code, body.new_password, client_address(request), user_agent(request)
    )
    return json_response(TokenPairOut.of(pair), no_store=True)


async def telegram_widget(request: web.Request) -> web.Response:
    body = await read_json(request, WidgetRequest)
    pair = await request.app[SERVICES].widget.sign_in(
        body.signed_fields(), client_address(request), user_agent(request)
    )
    return json_response(TokenPairOut.of(pair), no_store=True)
