"""The account routes' entries in the route table (server/api/routes.py)."""

from __future__ import annotations

from server.api import account_handlers as h
from server.api import admin_handlers as admin
from server.api.account_schemas import (
    AcceptedOut,
    AdminUserOut,
    AdminUsersOut,
    AdminUsersQuery,
    DeleteMeRequest,
    ForgotPasswordRequest,
    LinkOut,
    ResetPasswordRequest,
    SessionsOut,
    SetPasswordRequest,
    WidgetRequest,
)
from server.api.schemas import TokenPairOut
from server.http.endpoints import Endpoint

ACCOUNT_ENDPOINTS: list[Endpoint] = [
    Endpoint("POST", "/api/auth/password", h.set_password,
             "Set a first password, or change it (current_password required); every other "
             "session and every older access token stop working", "account",
             request=SetPasswordRequest, responses={200: TokenPairOut}, errors=(429, 503)),
    Endpoint("GET", "/api/auth/sessions", h.list_sessions, "The user's sessions", "account",
             responses={200: SessionsOut}, errors=(503,)),
    Endpoint("DELETE", "/api/auth/sessions/{id}", h.end_session,
             "End a session: its refresh token and access tokens stop working", "account",
             responses={204: None}, errors=(404, 503)),
    Endpoint("POST", "/api/auth/logout-all", h.logout_all,
             "End every session; every access token issued so far stops working", "account",
             responses={204: None}, errors=(503,)),
    Endpoint("DELETE", "/api/auth/me", h.delete_me,
             "Delete the account and all its data (password required if it has one)", "account",
             request=DeleteMeRequest, responses={204: None}, errors=(429, 503)),
    Endpoint("POST", "/api/auth/telegram/link", h.link_telegram,
             "A one-time t.me deep link that binds a Telegram account to this user", "account",
             responses={201: LinkOut}, errors=(404, 409, 503)),
    Endpoint("DELETE", "/api/auth/telegram/link", h.unlink_telegram,
             "Unlink the account's Telegram account: the account keeps its data and is signed "
             "in with its username and password; the Telegram account starts afresh. 409 when "
             "not linked, or when the account has no password yet", "account",
             responses={204: None}, errors=(409, 503)),
    Endpoint("POST", "/api/auth/password/forgot", h.forgot_password,
             "Ask for a password reset code (sent by the bot when the account has Telegram); "
             "always 202", "account",
             request=ForgotPasswordRequest, responses={202: AcceptedOut}, errors=(429, 503)),
    Endpoint("POST", "/api/auth/password/reset", h.reset_password,
             "Set a new password with the bot's code; every other session ends", "account",
             request=ResetPasswordRequest, responses={200: TokenPairOut},
             errors=(403, 429, 503)),
    Endpoint("POST", "/api/auth/telegram/widget", h.telegram_widget,
             "Sign in with the Telegram Login Widget's signed fields", "auth",
             request=WidgetRequest, responses={200: TokenPairOut},
             errors=(401, 403, 404, 429, 503)),
    Endpoint("GET", "/api/admin/users", admin.list_users,
             "Admins: users, searched (q) and paged (cursor)", "admin",
             query=AdminUsersQuery, responses={200: AdminUsersOut}, errors=(503,)),
    Endpoint("POST", "/api/admin/users/{id}/deactivate", admin.deactivate_user,
             "Admins: deactivate a user (no sign-in by any scheme; every token ends)", "admin",
             responses={200: AdminUserOut}, errors=(404, 409, 503)),
    Endpoint("POST", "/api/admin/users/{id}/activate", admin.activate_user,
             "Admins: reactivate a user", "admin",
             responses={200: AdminUserOut}, errors=(404, 503)),
]  # fmt: skip
