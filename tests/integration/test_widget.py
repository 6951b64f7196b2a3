"""Login Widget sign-in in the service, on a real database: configured or not, limited per
address before any check, and a session like every other sign-in's. (Signatures: the unit
tests of WidgetVerifier; through HTTP: tests/e2e/test_account_telegram.py.)"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.services.accounts.telegram_auth import CLOCK_SKEW
from server.services.common.errors import (
    InvalidInitData,
    InvalidLoginData,
    NotConfigured,
    TooManyAttempts,
)
from tests.account_helpers import widget_fields
from tests.integration.accounts_env import AccountsEnv, make_accounts

CLIENT = "192.0.2.8"


def signed(user_id: int, **extra: Any) -> dict[str, str]:
    return {key: str(value) for key, value in widget_fields(user_id, **extra).items()}


async def test_a_signed_widget_user_gets_a_session_and_an_account(accounts: AccountsEnv) -> None:
    widget = accounts.services.widget

    pair = await widget.sign_in(signed(8008, username="wendy"), CLIENT, user_agent="Safari/18")

    doc = await accounts.db["users"].find_one({"telegram_id": 8008})
    assert doc is not None
    assert doc["telegram_username"] == "wendy"
    claims = accounts.services.access.verify_claims(pair.access_token)
    assert claims.subject == str(doc["_id"])
    session = await accounts.db["refresh_sessions"].find_one({"family_id": claims.session_id})
    assert session is not None
    assert (session["user_id"], session["user_agent"]) == (doc["_id"], "Safari/18")
    again = await widget.sign_in(signed(8008), CLIENT)  # the same account, a second session
    assert accounts.services.access.verify_claims(again.access_token).subject == claims.subject
    assert await accounts.db["users"].count_documents({}) == 1


async def test_a_forged_widget_user_is_refused_and_nothing_is_written(
    accounts: AccountsEnv,
) -> None:
    forged = {**signed(8009), "first_name": "Mallory"}

    with pytest.raises(InvalidInitData):
        await accounts.services.widget.sign_in(forged, CLIENT)

    assert await accounts.db["users"].count_documents({}) == 0
    assert await accounts.db["refresh_sessions"].count_documents({}) == 0


async def test_widget_sign_ins_are_limited_per_address_before_any_check(
    models: Any, accounts_settings: Any
) -> None:
    env = await make_accounts(models, accounts_settings(telegram_sign_in_max_per_address=2))
    try:
        widget = env.services.widget
        await widget.sign_in(signed(8011, last_name="1"), CLIENT)
        with pytest.raises(InvalidInitData):
            await widget.sign_in({**signed(8011), "hash": "0" * 64}, CLIENT)  # counted too
        with pytest.raises(TooManyAttempts):
            await widget.sign_in(signed(8011, last_name="2"), CLIENT)
        await widget.sign_in(signed(8011, last_name="3"), "192.0.2.99")  # another address
    finally:
        env.services.passwords.close()


async def test_the_widget_needs_a_bot_token(models: Any, make_settings: Any) -> None:
    env = await make_accounts(models, make_settings())
    try:
        with pytest.raises(
            NotConfigured, match=r"^Telegram sign-in needs TELEGRAM_BOT_TOKEN on the server$"
        ):
            await env.services.widget.sign_in(signed(8012), CLIENT)
        assert await env.db["rate_counters"].count_documents({}) == 0  # nothing counted
    finally:
        env.services.passwords.close()


# --- replays and freshness (issue 22, item 12) ------------------------------------------------


async def test_a_payload_signs_in_once(accounts: AccountsEnv) -> None:
    widget = accounts.services.widget
    payload = signed(8020)
    await widget.sign_in(payload, CLIENT)
    sessions = await accounts.db["refresh_sessions"].count_documents({})

    with pytest.raises(InvalidLoginData, match="already used"):
        await widget.sign_in(dict(payload), "192.0.2.77")  # replayed, from anywhere

    assert await accounts.db["refresh_sessions"].count_documents({}) == sessions
    [used] = await accounts.db["used_login_hashes"].find({}).to_list()
    assert used["_id"] != payload["hash"]  # only a hash of it is kept
    kept = used["expires_at"].replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(seconds=300) < kept <= timedelta(seconds=300 + 2 * CLOCK_SKEW)
    await widget.sign_in(signed(8020, last_name="again"), CLIENT)  # a new payload is fine


async def test_of_two_racing_uses_of_one_payload_one_signs_in(accounts: AccountsEnv) -> None:
    payload = signed(8021)
    results = await asyncio.gather(
        *(accounts.services.widget.sign_in(dict(payload), CLIENT) for _ in range(4)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1, results
    assert all(isinstance(r, InvalidLoginData) for r in results if isinstance(r, BaseException))


async def test_a_payload_is_fresh_for_minutes_not_a_day(accounts: AccountsEnv) -> None:
    now = int(time.time())
    with pytest.raises(InvalidLoginData, match="expired"):
        await accounts.services.widget.sign_in(signed(8022, auth_date=now - 301), CLIENT)
    await accounts.services.widget.sign_in(signed(8022, auth_date=now - 240), CLIENT)
