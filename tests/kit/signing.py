"""Telegram's signatures, as its documentation states them, for tests that must present
genuine (or deliberately broken) credentials. Written here independently of the app's
verifiers (`server/services/accounts/telegram_auth.py`), so a mistake in the app cannot be
copied into the tests that check it.

Both signatures are an HMAC-SHA256 over the data-check string (every field but `hash`,
sorted by key, `key=value` joined by newlines); only the key differs:
- Mini App init data: key = HMAC_SHA256(key="WebAppData", message=bot_token);
- Login Widget: key = SHA256(bot_token)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode

QUERY_ID = "AAHdF6IQAAAAAN0XohDhrOrc"  # a query_id of the shape Telegram sends


def data_check_string(fields: Mapping[str, Any]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def init_data_hash(fields: Mapping[str, Any], bot_token: str) -> str:
    """The hex `hash` Telegram puts in a Mini App's init data."""
    key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(key, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def widget_hash(fields: Mapping[str, Any], bot_token: str) -> str:
    """The hex `hash` of a Login Widget answer."""
    key = hashlib.sha256(bot_token.encode()).digest()
    return hmac.new(key, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def sign_init_data_fields(fields: Mapping[str, str], bot_token: str) -> dict[str, str]:
    """The fields with their `hash` added last (any `hash` given is replaced)."""
    unsigned = {key: value for key, value in fields.items() if key != "hash"}
    return {**unsigned, "hash": init_data_hash(unsigned, bot_token)}


def sign_widget_fields(fields: Mapping[str, Any], bot_token: str) -> dict[str, Any]:
    unsigned = {key: value for key, value in fields.items() if key != "hash"}
    return {**unsigned, "hash": widget_hash(unsigned, bot_token)}


def user_json(user: Mapping[str, Any]) -> str:
    """The `user` field as Telegram writes it: compact JSON, non-ASCII kept as it is."""
    return json.dumps(user, separators=(",", ":"), ensure_ascii=False)


def init_data_fields(
    user: Mapping[str, Any] | str | None,
    bot_token: str,
    *,
    auth_date: int | None = None,
    query_id: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Signed init data fields: `auth_date` (now unless given), `query_id` when given, the
    `extra` fields, and `user` (a mapping is written as Telegram does; a string is taken as
    it is; None leaves the field out)."""
    fields = {"auth_date": str(int(time.time()) if auth_date is None else auth_date)}
    if query_id is not None:
        fields["query_id"] = query_id
    fields.update(extra or {})
    if user is not None:
        fields["user"] = user if isinstance(user, str) else user_json(user)
    return sign_init_data_fields(fields, bot_token)


def signed_init_data(
    user: Mapping[str, Any] | str | None,
    bot_token: str,
    *,
    auth_date: int | None = None,
    query_id: str | None = None,
    extra: Mapping[str, str] | None = None,
    quote_via: Callable[..., str] = quote_plus,
) -> str:
    """Init data as the Mini App receives it: the signed fields, URL-encoded."""
    fields = init_data_fields(user, bot_token, auth_date=auth_date, query_id=query_id, extra=extra)
    return urlencode(fields, quote_via=quote_via)
