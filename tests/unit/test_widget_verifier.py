"""The Telegram Login Widget's signed fields: the signature (keyed with SHA256(bot_token), not
the Mini App's key), freshness by an explicit `now`, and what signed-but-incomplete fields are
refused for. No HTTP, no database."""

from __future__ import annotations

import time
from typing import Any

import pytest

from server.services.accounts.telegram_auth import CLOCK_SKEW, InitDataVerifier, WidgetVerifier
from server.services.accounts.users import MAX_TELEGRAM_ID, TelegramProfile
from server.services.common.errors import InvalidInitData, InvalidLoginData
from tests.kit.signing import widget_hash as kit_widget_hash

BOT_TOKEN = "123456:UNIT-bot-token-abcdefghijklmnopqrstuvwxyz"
MAX_AGE = 86_400
NOW = 1_700_000_000


def widget_hash(fields: dict[str, str], bot_token: str = BOT_TOKEN) -> str:
    """Telegram's documented algorithm, written here independently of the app:
    HMAC_SHA256(data-check-string, SHA256(bot_token))."""
    return kit_widget_hash(fields, bot_token)


def signed(bot_token: str = BOT_TOKEN, **fields: Any) -> dict[str, str]:
    values = {"id": "4242", "first_name": "Wendy", "auth_date": str(NOW), **fields}
    values = {key: str(value) for key, value in values.items() if value is not None}
    return {**values, "hash": widget_hash(values, bot_token)}


@pytest.fixture
def verifier() -> WidgetVerifier:
    return WidgetVerifier(BOT_TOKEN, MAX_AGE)


def refusal(verifier: WidgetVerifier, fields: dict[str, str], now: float = NOW) -> InvalidLoginData:
    with pytest.raises(InvalidLoginData) as caught:
        verifier.verify(fields, now=now)
    return caught.value


def test_signed_fields_give_the_telegram_profile(verifier: WidgetVerifier) -> None:
    fields = signed(last_name="Wu", username="wendy", photo_url="https://t.me/i/w.jpg")

    assert verifier.verify(fields, now=NOW) == TelegramProfile(
        telegram_id=4242, first_name="Wendy", last_name="Wu", username="wendy"
    )


def test_missing_or_empty_profile_fields_are_none(verifier: WidgetVerifier) -> None:
    assert verifier.verify(signed(first_name=None), now=NOW) == TelegramProfile(4242)
    assert verifier.verify(signed(first_name="", username=""), now=NOW) == TelegramProfile(4242)


def test_profile_texts_are_capped(verifier: WidgetVerifier) -> None:
    fields = signed(first_name="f" * 300, last_name="l" * 256, username="u" * 257)

    profile = verifier.verify(fields, now=NOW)

    assert (profile.first_name, profile.last_name, profile.username) == (
        "f" * 256, "l" * 256, "u" * 256
    )  # fmt: skip


def test_fields_telegram_adds_later_are_signed_too(verifier: WidgetVerifier) -> None:
    fields = signed(allows_write_to_pm="true")

    assert verifier.verify(fields, now=NOW).telegram_id == 4242
    tampered = {**fields, "allows_write_to_pm": "false"}
    assert str(refusal(verifier, tampered)) == "login data signature does not match"


@pytest.mark.parametrize(
    "fields",
    [
        {**signed(), "first_name": "Mallory"},
        {**signed(), "id": "4243"},
        signed(bot_token="999:another-bot"),
        {key: value for key, value in signed().items() if key != "hash"},
        {**signed(), "hash": signed()["hash"].upper()},
    ],
    ids=["tampered", "another-id", "another-bot", "no-hash", "uppercase-hash"],
)
def test_forged_fields_are_refused(verifier: WidgetVerifier, fields: dict[str, str]) -> None:
    found = refusal(verifier, fields)

    assert str(found) == "login data signature does not match"
    assert found.field is None


def test_the_mini_apps_key_does_not_sign_widget_fields(verifier: WidgetVerifier) -> None:
    fields = {"id": "4242", "auth_date": str(NOW)}
    mini_app_hash = InitDataVerifier(BOT_TOKEN, MAX_AGE).sign(fields)

    assert str(refusal(verifier, {**fields, "hash": mini_app_hash})) == (
        "login data signature does not match"
    )


def test_the_widget_signs_as_telegram_does(verifier: WidgetVerifier) -> None:
    fields = {"id": "1", "auth_date": "2", "username": "u"}

    assert verifier.sign(fields) == widget_hash(fields)


def test_freshness_is_judged_at_now(verifier: WidgetVerifier) -> None:
    fields = signed()

    verifier.verify(fields, now=NOW + MAX_AGE)  # exactly max_age old
    verifier.verify(fields, now=NOW - CLOCK_SKEW)  # a minute in the future
    for now in (NOW + MAX_AGE + 1, NOW - CLOCK_SKEW - 1):
        found = refusal(verifier, fields, now=now)
        assert (str(found), found.field) == ("login data is expired", None)


def test_the_real_clock_is_used_without_now(verifier: WidgetVerifier) -> None:
    assert verifier.verify(signed(auth_date=int(time.time()))).telegram_id == 4242
    with pytest.raises(InvalidLoginData, match=r"^login data is expired$"):
        verifier.verify(signed())  # signed at NOW, long ago


@pytest.mark.parametrize("auth_date", [None, "", "yesterday", "1.5"])
def test_signed_fields_without_a_valid_auth_date_name_it(
    verifier: WidgetVerifier, auth_date: str | None
) -> None:
    found = refusal(verifier, signed(auth_date=auth_date))

    assert (str(found), found.field) == ("login data has no valid auth_date", "auth_date")


@pytest.mark.parametrize("user_id", [None, "", "0", "-5", "4.0", "x", str(MAX_TELEGRAM_ID)])
def test_signed_fields_without_a_valid_id_name_it(
    verifier: WidgetVerifier, user_id: str | None
) -> None:
    found = refusal(verifier, signed(id=user_id))

    assert (str(found), found.field) == ("login data has no valid id", "id")


def test_widget_refusals_are_init_data_refusals_of_their_own_kind() -> None:
    # The API maps both to 401/422; the widget's fields are named without "init_data.".
    assert issubclass(InvalidLoginData, InvalidInitData)
    assert (InvalidLoginData.field_prefix, InvalidInitData.field_prefix) == ("", "init_data.")
