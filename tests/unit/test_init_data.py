"""Mini App init data: Telegram's signature, freshness by an explicit `now`, the verified
cache, and what signed-but-incomplete data is refused for. No HTTP, no database."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.services.accounts import telegram_auth
from server.services.accounts.telegram_auth import (
    CLOCK_SKEW,
    MAX_INIT_DATA_LENGTH,
    InitDataVerifier,
)
from server.services.accounts.users import MAX_TELEGRAM_ID, TelegramProfile
from server.services.common.errors import InvalidInitData
from tests.kit.signing import init_data_hash

BOT_TOKEN = "123456:UNIT-bot-token-abcdefghijklmnopqrstuvwxyz"
MAX_AGE = 3600
NOW = 1_700_000_000
USER = {"id": 4242, "first_name": "Мария", "last_name": "Иванова", "username": "maria",
        "language_code": "ru"}  # fmt: skip


def telegram_hash(fields: dict[str, str], bot_token: str = BOT_TOKEN) -> str:
    """Telegram's documented algorithm (the kit's, written independently of the app)."""
    return init_data_hash(fields, bot_token)


def signed(
    user: Any = USER, *, auth_date: Any = NOW, bot_token: str = BOT_TOKEN, **extra: str
) -> str:
    fields = {**extra}
    if auth_date is not None:
        fields["auth_date"] = str(auth_date)
    if user is not None:
        fields["user"] = user if isinstance(user, str) else json.dumps(user, ensure_ascii=False)
    fields["hash"] = telegram_hash(fields, bot_token)
    return urlencode(fields)


@pytest.fixture
def verifier() -> InitDataVerifier:
    return InitDataVerifier(BOT_TOKEN, MAX_AGE)


def test_signed_init_data_gives_the_telegram_profile(verifier: InitDataVerifier) -> None:
    profile = verifier.verify(signed(query_id="AAH"), now=NOW)

    assert profile == TelegramProfile(
        telegram_id=4242, first_name="Мария", last_name="Иванова", username="maria",
        language_code="ru",
    )  # fmt: skip


def test_sign_matches_telegrams_algorithm(verifier: InitDataVerifier) -> None:
    fields = {"auth_date": "1", "user": '{"id":1}', "query_id": "q"}
    assert verifier.sign(fields) == telegram_hash(fields)


def test_missing_optional_profile_fields_are_none(verifier: InitDataVerifier) -> None:
    profile = verifier.verify(signed({"id": 7}), now=NOW)

    assert profile == TelegramProfile(telegram_id=7)


def test_profile_texts_are_capped_and_non_texts_dropped(verifier: InitDataVerifier) -> None:
    user = {"id": 7, "first_name": "a" * 300, "last_name": 5, "username": None,
            "language_code": ["ru"]}  # fmt: skip

    profile = verifier.verify(signed(user), now=NOW)

    assert profile.first_name == "a" * 256
    assert (profile.last_name, profile.username, profile.language_code) == (None, None, None)


# --- forged -------------------------------------------------------------------------------


def test_another_bots_signature_is_refused(verifier: InitDataVerifier) -> None:
    with pytest.raises(InvalidInitData, match=r"^init data signature does not match$"):
        verifier.verify(signed(bot_token="654321:ANOTHER"), now=NOW)


def test_a_changed_field_is_refused(verifier: InitDataVerifier) -> None:
    forged = signed().replace("4242", "4243")
    with pytest.raises(InvalidInitData, match=r"^init data signature does not match$"):
        verifier.verify(forged, now=NOW)


@pytest.mark.parametrize("tail", ["&start_param=admin", "&auth_date=1", "&hash=00"])
def test_an_added_or_repeated_field_is_refused(verifier: InitDataVerifier, tail: str) -> None:
    with pytest.raises(InvalidInitData):
        verifier.verify(signed() + tail, now=NOW)


def test_a_repeated_field_is_named_as_such(verifier: InitDataVerifier) -> None:
    with pytest.raises(InvalidInitData, match=r"^init data repeats a field$"):
        verifier.verify(signed() + "&auth_date=" + str(NOW), now=NOW)


def test_no_hash_is_refused(verifier: InitDataVerifier) -> None:
    without = "&".join(p for p in signed().split("&") if not p.startswith("hash="))
    with pytest.raises(InvalidInitData, match=r"^init data signature does not match$"):
        verifier.verify(without, now=NOW)


def test_an_uppercase_hash_is_refused(verifier: InitDataVerifier) -> None:
    data = signed()
    head, digest = data.rsplit("hash=", 1)
    with pytest.raises(InvalidInitData):
        verifier.verify(f"{head}hash={digest.upper()}", now=NOW)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("a=%ZZ&&b", "init data is not a query string"),
        ("just-text", "init data is not a query string"),
        ("user=é&hash=00", "init data is not URL-encoded"),
        ("", "init data signature does not match"),
    ],
)
def test_what_is_not_init_data_is_refused(
    verifier: InitDataVerifier, data: str, reason: str
) -> None:
    with pytest.raises(InvalidInitData) as caught:
        verifier.verify(data, now=NOW)
    assert str(caught.value) == reason
    assert caught.value.field is None


def test_the_length_limit_is_exact(verifier: InitDataVerifier) -> None:
    data = signed()
    pad = MAX_INIT_DATA_LENGTH - len(data) - len("&x=")
    at_limit = signed(x="a" * pad)
    assert len(at_limit) == MAX_INIT_DATA_LENGTH
    verifier.verify(at_limit, now=NOW)

    with pytest.raises(InvalidInitData, match=r"^init data is too long$"):
        verifier.verify(signed(x="a" * (pad + 1)), now=NOW)


# --- freshness ----------------------------------------------------------------------------


def test_auth_date_may_be_exactly_max_age_old(verifier: InitDataVerifier) -> None:
    verifier.verify(signed(), now=NOW + MAX_AGE)
    with pytest.raises(InvalidInitData, match=r"^init data is expired$"):
        verifier.verify(signed(), now=NOW + MAX_AGE + 1)


def test_auth_date_may_lie_a_minute_in_the_future(verifier: InitDataVerifier) -> None:
    verifier.verify(signed(), now=NOW - CLOCK_SKEW)
    with pytest.raises(InvalidInitData, match=r"^init data is expired$"):
        verifier.verify(signed(auth_date=NOW + 1), now=NOW - CLOCK_SKEW)


def test_init_data_seen_before_still_expires(verifier: InitDataVerifier) -> None:
    data = signed()
    verifier.verify(data, now=NOW)  # verified and remembered

    assert verifier.verify(data, now=NOW + MAX_AGE).telegram_id == 4242
    with pytest.raises(InvalidInitData, match=r"^init data is expired$"):
        verifier.verify(data, now=NOW + MAX_AGE + 1)
    with pytest.raises(InvalidInitData, match=r"^init data is expired$"):
        verifier.verify(data, now=NOW - CLOCK_SKEW - 1)


def test_stale_init_data_is_not_remembered(verifier: InitDataVerifier) -> None:
    data = signed()
    with pytest.raises(InvalidInitData):
        verifier.verify(data, now=NOW + MAX_AGE + 1)
    # Were it remembered, its profile would be served from the cache here.
    assert data not in verifier._verified


def test_the_real_clock_is_used_without_now(verifier: InitDataVerifier) -> None:
    import time

    verifier.verify(signed(auth_date=int(time.time())))
    with pytest.raises(InvalidInitData, match=r"^init data is expired$"):
        verifier.verify(signed(auth_date=NOW))  # 2023: long expired


def test_the_cache_is_bounded(verifier: InitDataVerifier, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telegram_auth, "MAX_REMEMBERED", 3)
    datas = [signed({"id": i}) for i in range(1, 5)]
    for data in datas[:3]:
        verifier.verify(data, now=NOW)
    assert len(verifier._verified) == 3

    verifier.verify(datas[3], now=NOW)  # full: cleared, then this one remembered

    assert list(verifier._verified) == [datas[3]]


def test_the_signature_of_a_string_is_checked_once(
    verifier: InitDataVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    check = verifier._verify

    def counted(init_data: str) -> tuple[TelegramProfile, int]:
        checks.append(init_data)
        return check(init_data)

    monkeypatch.setattr(verifier, "_verify", counted)
    data = signed()
    for _ in range(3):
        assert verifier.verify(data, now=NOW).telegram_id == 4242

    assert checks == [data]


def test_a_remembered_string_keeps_its_own_profile(verifier: InitDataVerifier) -> None:
    one, two = signed({"id": 1}), signed({"id": 2})
    verifier.verify(one, now=NOW)
    verifier.verify(two, now=NOW)

    assert verifier.verify(one, now=NOW).telegram_id == 1
    assert verifier.verify(two, now=NOW).telegram_id == 2


# --- signed but incomplete (a 422, not a 401) ----------------------------------------------


@pytest.mark.parametrize("auth_date", [None, "", "yesterday", "1.5", "0x10"])
def test_signed_data_without_a_valid_auth_date_names_the_field(
    verifier: InitDataVerifier, auth_date: str | None
) -> None:
    with pytest.raises(InvalidInitData) as caught:
        verifier.verify(signed(auth_date=auth_date), now=NOW)
    assert caught.value.field == "auth_date"
    assert str(caught.value) == "init data has no valid auth_date"


@pytest.mark.parametrize(
    "user", [None, "", "{not json", "[1, 2]", '"text"', "42", "null", "{'id': 1}"]
)
def test_signed_data_without_a_parsable_user_names_the_field(
    verifier: InitDataVerifier, user: str | None
) -> None:
    with pytest.raises(InvalidInitData) as caught:
        verifier.verify(signed(user), now=NOW)
    assert caught.value.field == "user"
    assert str(caught.value) == "init data has no user"


@pytest.mark.parametrize("user_id", [None, 0, -1, "42", 4.0, True, MAX_TELEGRAM_ID, 2**64])
def test_signed_data_with_an_invalid_user_id_names_it(
    verifier: InitDataVerifier, user_id: Any
) -> None:
    user = {"first_name": "x"} if user_id is None else {"id": user_id}
    with pytest.raises(InvalidInitData) as caught:
        verifier.verify(signed(user), now=NOW)
    assert caught.value.field == "user.id"
    assert str(caught.value) == "init data user has no valid id"


def test_forged_data_is_refused_before_its_fields_are_read(verifier: InitDataVerifier) -> None:
    # Unsigned junk must say "signature", never name a field: that would leak what we parse.
    fields = {"auth_date": "x", "user": "{", "hash": "0" * 64}
    with pytest.raises(InvalidInitData) as caught:
        verifier.verify(urlencode(fields), now=NOW)
    assert caught.value.field is None


# --- properties ---------------------------------------------------------------------------

texts = st.text(
    st.characters(blacklist_categories=("Cs",)), max_size=40
)  # any Unicode but lone surrogates, which JSON and UTF-8 cannot carry
names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda n: n not in ("hash", "auth_date", "user")
)
profiles = st.fixed_dictionaries(
    {"id": st.integers(1, MAX_TELEGRAM_ID - 1)},
    optional={"first_name": texts, "last_name": texts, "username": texts,
              "language_code": texts},
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    user=profiles,
    extra=st.dictionaries(names, texts, max_size=4),
    age=st.integers(-CLOCK_SKEW, MAX_AGE),
)
def test_whatever_telegram_signs_verifies_to_its_user(
    user: dict[str, Any], extra: dict[str, str], age: int
) -> None:
    verifier = InitDataVerifier(BOT_TOKEN, MAX_AGE)
    data = signed(user, **extra)
    if len(data) > MAX_INIT_DATA_LENGTH:
        return

    profile = verifier.verify(data, now=NOW + age)

    assert profile.telegram_id == user["id"]
    for key in ("first_name", "last_name", "username", "language_code"):
        assert getattr(profile, key) == (user[key][:256] if key in user else None)


@settings(max_examples=150, deadline=None)
@given(user=profiles, extra=st.dictionaries(names, texts, max_size=3))
def test_the_apps_sign_round_trips_with_its_verify(
    user: dict[str, Any], extra: dict[str, str]
) -> None:
    verifier = InitDataVerifier(BOT_TOKEN, MAX_AGE)
    fields = {**extra, "auth_date": str(NOW), "user": json.dumps(user)}
    fields["hash"] = verifier.sign(fields)

    assert verifier.verify(urlencode(fields), now=NOW).telegram_id == user["id"]
    assert fields["hash"] == telegram_hash({k: v for k, v in fields.items() if k != "hash"})


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_change_to_a_signed_field_breaks_the_signature(data: st.DataObject) -> None:
    verifier = InitDataVerifier(BOT_TOKEN, MAX_AGE)
    fields = {"auth_date": str(NOW), "user": json.dumps(USER), "query_id": "AAH"}
    key = data.draw(st.sampled_from(sorted(fields)))
    value = data.draw(texts.filter(lambda v, k=key: v != fields[k]))
    forged = {**fields, key: value, "hash": telegram_hash(fields)}

    with pytest.raises(InvalidInitData):
        verifier.verify(urlencode(forged), now=NOW)


@settings(max_examples=200, deadline=None)
@given(raw=st.text(max_size=300))
def test_arbitrary_strings_only_ever_raise_invalid_init_data(raw: str) -> None:
    verifier = InitDataVerifier(BOT_TOKEN, MAX_AGE)
    with pytest.raises(InvalidInitData):
        verifier.verify(raw, now=NOW)
    with pytest.raises(InvalidInitData):
        verifier.verify(quote(raw, safe="=&"), now=NOW)
