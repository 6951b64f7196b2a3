"""Shared lists over HTTP: invites, members, ownership. Each handler reads the request, calls
the sharing service once and shapes the answer (who may do what: the service's access rule)."""

from __future__ import annotations

from aiohttp import web

from server.api.body import read_json
from server.api.responses import json_response
from server.api.sharing_schemas import (
    InviteIn,
    InviteOut,
    InvitePreviewOut,
    InvitesOut,
    MemberOut,
    MembersOut,
    OwnerIn,
    RoleIn,
)
from server.api.task_schemas import ListOut
from server.auth.principal import protected, require_user
from server.keys import SERVICES


@protected
async def create_invite(request: web.Request) -> web.Response:
    user_id = require_user(request)
    body = await read_json(request, InviteIn)
    view = await request.app[SERVICES].sharing.create_invite(
        user_id, request.match_info["id"], body.role, body.expires_in
    )
    return json_response(InviteOut.of(view), 201, no_store=True)


@protected
async def list_invites(request: web.Request) -> web.Response:
    user_id = require_user(request)
    views = await request.app[SERVICES].sharing.invites(user_id, request.match_info["id"])
    return json_response(InvitesOut(items=[InviteOut.of(v) for v in views]), no_store=True)


@protected
async def revoke_invite(request: web.Request) -> web.Response:
    user_id = require_user(request)
    info = request.match_info
    await request.app[SERVICES].sharing.revoke(user_id, info["id"], info["code"])
    return web.Response(status=204)


@protected
async def show_invite(request: web.Request) -> web.Response:
    require_user(request)
    view = await request.app[SERVICES].sharing.preview(request.match_info["code"])
    return json_response(InvitePreviewOut.of(view))


@protected
async def accept_invite(request: web.Request) -> web.Response:
    user_id = require_user(request)
    view = await request.app[SERVICES].sharing.accept(user_id, request.match_info["code"])
    return json_response(ListOut.of(view))


@protected
async def list_members(request: web.Request) -> web.Response:
    user_id = require_user(request)
    views = await request.app[SERVICES].sharing.members(user_id, request.match_info["id"])
    return json_response(MembersOut(items=[MemberOut.of(v) for v in views]))


@protected
async def set_member_role(request: web.Request) -> web.Response:
    user_id = require_user(request)
    body = await read_json(request, RoleIn)
    info = request.match_info
    view = await request.app[SERVICES].sharing.set_role(
        user_id, info["id"], info["user_id"], body.role
    )
    return json_response(MemberOut.of(view))


@protected
async def remove_member(request: web.Request) -> web.Response:
    user_id = require_user(request)
    info = request.match_info
    await request.app[SERVICES].sharing.remove(user_id, info["id"], info["user_id"])
    return web.Response(status=204)


@protected
async def transfer_list(request: web.Request) -> web.Response:
    user_id = require_user(request)
    body = await read_json(request, OwnerIn)
    view = await request.app[SERVICES].sharing.transfer(
        user_id, request.match_info["id"], body.user_id
    )
    return json_response(ListOut.of(view))
