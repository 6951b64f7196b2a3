"""/api/admin/*: admins only (the service checks the role on every call)."""

from __future__ import annotations

from aiohttp import web

from server.api.account_schemas import AdminUserOut, AdminUsersOut, AdminUsersQuery
from server.api.query import read_query
from server.api.responses import json_response
from server.auth.principal import protected, require_user
from server.keys import SERVICES


@protected
async def list_users(request: web.Request) -> web.Response:
    query = read_query(request, AdminUsersQuery)
    page = await request.app[SERVICES].admin.list_users(
        require_user(request), query.q, query.cursor, query.limit
    )
    items = [AdminUserOut.of(user) for user in page.items]
    return json_response(AdminUsersOut(items=items, next_cursor=page.next_cursor))


@protected
async def deactivate_user(request: web.Request) -> web.Response:
    return await _set_active(request, active=False)


@protected
async def activate_user(request: web.Request) -> web.Response:
    return await _set_active(request, active=True)


async def _set_active(request: web.Request, active: bool) -> web.Response:
    user = await request.app[SERVICES].admin.set_active(
        require_user(request), request.match_info["id"], active
    )
    return json_response(AdminUserOut.of(user))
