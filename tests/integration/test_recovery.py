"""Password recovery in the service, on a real database: who gets a reset code (and who, in
silence, does not), what a code is and how it is stored, its tries and its expiry, and what a
reset does. (Through HTTP and the bot: tests/e2e/test_account_telegram.py.)"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from typing import Any

import pytest

from models import ResetCode
from models.clock import epoch_ms, from_ms
from server.services.accounts.recovery import RESET_CODE_DIGITS, RESET_CODE_TRIES, RESET_CODE_TTL
from server.services.accounts.tokens import TokenPair
from server.services.common.errors import (
    AccountDeactivated,
    InvalidResetCode,
    InvalidToken,
    PasswordTooCommon,
    TooManyAttempts,
)
from tests.conftest import TEST_JWT_SECRET
from tests.integration.accounts_env import AccountsEnv, SentCode, make_accounts

NEW_PASSWORD = "a brand new passphrase 9182"
CLIENT = "192.0.2.7"
KEY = hmac.new(TEST_JWT_SECRET.encode(), b"password-reset-code", hashlib.sha256).digest()


def keyed(code: str) -> str:
    return hmac.new(KEY, code.encode(), hashlib.sha256).hexdigest()


async def ask(env: AccountsEnv, username: str, client: str = CLIENT) -> list[SentCode]:
    """Ask for a code; wait for the background work; return what the bot sent."""
    await env.services.recovery.forgot(username, client)
    await env.services.recovery.drain()
    return env.messenger.sent


async def reset(
    env: AccountsEnv,
    username: str,
    code: str,
    password: str = NEW_PASSWORD,
    client: str = CLIENT,
    user_agent: str | None = None,
) -> TokenPair:
    return await env.services.recovery.reset(username, code, password, client, user_agent)


async def stored(env: AccountsEnv) -> list[dict[str, Any]]:
    """The codes stored for users (not the decoys stored when no code is sent)."""
    users = [doc["_id"] for doc in await env.db["users"].find({}, {"_id": 1}).to_list()]
    found: list[dict[str, Any]] = await env.db["reset_codes"].find({}).to_list()
    return [doc for doc in found if doc["_id"] in users]


async def linked_user(env: AccountsEnv, name: str = "cleo", **fields: Any) -> Any:
    return await env.add_user(
        username=name, username_normalized=name.lower(), telegram_id=4001, **fields
    )


# --- asking for a code ----------------------------------------------------------------------


NOW_MS = 1_800_000_000_456


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "server.services.accounts.recovery"]


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, "server.services.accounts.recovery")
    return caplog


async def test_a_code_is_eight_digits_sent_once_and_stored_keyed(
    accounts: AccountsEnv, monkeypatch: pytest.MonkeyPatch, log: pytest.LogCaptureFixture
) -> None:
    user = await linked_user(accounts, language_code="de")
    monkeypatch.setattr("server.services.accounts.recovery.epoch_ms", lambda: NOW_MS)

    [sent] = await ask(accounts, "cleo")

    assert (sent.telegram_id, sent.language, sent.minutes) == (4001, "de", 10)
    assert len(sent.code) == RESET_CODE_DIGITS == 8
    assert sent.code.isdigit()
    [doc] = await stored(accounts)
    assert doc["_id"] == user.id
    assert doc["code_hash"] == keyed(sent.code)  # an HMAC under the server's key
    assert sent.code not in str(doc)
    assert doc["attempts"] == 0
    assert doc["expires_ms"] == NOW_MS + RESET_CODE_TTL * 1000 == NOW_MS + 600_000
    assert doc["expires_at"].replace(tzinfo=None) == from_ms(NOW_MS + 600_000).replace(tzinfo=None)
    assert messages(log) == [f"password reset code sent to user {user.id}"]  # the audit trail


async def test_the_users_chosen_language_comes_first(accounts: AccountsEnv) -> None:
    await linked_user(accounts, language="ru", language_code="en")

    [sent] = await ask(accounts, "cleo")

    assert sent.language == "ru"


async def test_short_codes_keep_their_leading_zeros(
    accounts: AccountsEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    await linked_user(accounts)
    monkeypatch.setattr("server.services.accounts.recovery.secrets.randbelow", lambda n: 42 % n)

    [sent] = await ask(accounts, "cleo")

    assert sent.code == "00000042"


async def test_codes_are_drawn_from_all_eight_digit_numbers(
    accounts: AccountsEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    await linked_user(accounts)
    bounds: list[int] = []
    monkeypatch.setattr(
        "server.services.accounts.recovery.secrets.randbelow", lambda n: bounds.append(n) or n - 1
    )

    [sent] = await ask(accounts, "cleo")

    assert (bounds, sent.code) == ([10**8], "99999999")


async def test_a_new_code_replaces_the_old_one_and_its_tries(accounts: AccountsEnv) -> None:
    await linked_user(accounts)
    first = (await ask(accounts, "cleo"))[0].code
    with pytest.raises(InvalidResetCode):
        await reset(accounts, "cleo", wrong(first))

    second = (await ask(accounts, "cleo"))[-1].code

    [doc] = await stored(accounts)
    assert (doc["code_hash"], doc["attempts"]) == (keyed(second), 0)


@pytest.mark.parametrize(
    "fields",
    [{"telegram_id": None}, {"active": False}],
    ids=["no-telegram", "deactivated"],
)
async def test_no_code_for_a_user_the_bot_cannot_or_may_not_reach(
    accounts: AccountsEnv, fields: dict[str, Any]
) -> None:
    await accounts.add_user(username="cleo", username_normalized="cleo", **fields)

    assert await ask(accounts, "cleo") == []
    assert await stored(accounts) == []


async def test_no_code_for_nobody(accounts: AccountsEnv, log: pytest.LogCaptureFixture) -> None:
    await linked_user(accounts)

    assert await ask(accounts, "nobody-here") == []
    assert await stored(accounts) == []
    assert messages(log) == []  # nothing went wrong, nothing to say


async def test_no_code_while_the_bot_is_not_running(
    accounts: AccountsEnv, caplog: pytest.LogCaptureFixture
) -> None:
    await linked_user(accounts)
    accounts.services.telegram.disconnect()

    with caplog.at_level(logging.WARNING, "server.services.accounts.recovery"):
        assert await ask(accounts, "cleo") == []

    assert await stored(accounts) == []
    assert messages(caplog) == ["password reset: the bot is not running; no code sent"]


async def test_a_failed_send_is_logged_not_raised(
    accounts: AccountsEnv, caplog: pytest.LogCaptureFixture
) -> None:
    await linked_user(accounts)
    accounts.messenger.fail = ConnectionError("telegram down")

    with caplog.at_level(logging.WARNING, "server.services.accounts.recovery"):
        await ask(accounts, "cleo")

    assert messages(caplog) == ["password reset: could not send a code: ConnectionError"]


async def test_codes_per_username_are_limited_silently(
    models: Any, accounts_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    env = await make_accounts(models, accounts_settings(password_forgot_max_per_username=2))
    caplog.set_level(logging.INFO, "server.services.accounts.recovery")
    try:
        await linked_user(env)
        for username in ("cleo", "CLEO", "Cleo"):  # one username, however it is written
            await ask(env, username, client=f"192.0.2.{len(env.messenger.sent)}")
        assert len(env.messenger.sent) == 2
        assert messages(caplog)[-1] == (
            "password reset: too many codes asked for one username; none sent"
        )
    finally:
        env.services.passwords.close()


async def test_forgot_and_reset_are_limited_per_address(
    models: Any, accounts_settings: Any
) -> None:
    env = await make_accounts(models, accounts_settings(password_reset_max_per_address=2))
    try:
        await linked_user(env)
        await ask(env, "cleo")
        with pytest.raises(InvalidResetCode):
            await reset(env, "cleo", "00000000")
        with pytest.raises(TooManyAttempts):
            await env.services.recovery.forgot("cleo", CLIENT)
        with pytest.raises(TooManyAttempts):
            await reset(env, "cleo", env.messenger.sent[0].code)
        assert (await stored(env))[0]["attempts"] == 1  # the refused reset tried nothing
        await env.services.recovery.forgot("cleo", "192.0.2.99")  # another address
    finally:
        await env.services.recovery.drain()
        env.services.passwords.close()


async def test_drain_waits_for_every_code_being_sent(accounts: AccountsEnv) -> None:
    await linked_user(accounts)
    await accounts.add_user(username="dina", username_normalized="dina", telegram_id=4002)

    await accounts.services.recovery.forgot("cleo", CLIENT)
    await accounts.services.recovery.forgot("dina", CLIENT)
    await accounts.services.recovery.drain()

    assert sorted(sent.telegram_id for sent in accounts.messenger.sent) == [4001, 4002]


async def test_drain_survives_a_send_cancelled_at_shutdown(accounts: AccountsEnv) -> None:
    await linked_user(accounts)
    sending = asyncio.Event()

    async def hang(*args: object) -> None:
        sending.set()
        await asyncio.Event().wait()

    accounts.messenger.send_reset_code = hang  # type: ignore[method-assign]
    await accounts.services.recovery.forgot("cleo", CLIENT)
    await asyncio.wait_for(sending.wait(), 5)
    for task in accounts.services.recovery._background:
        task.cancel()

    await accounts.services.recovery.drain()  # returns, raises nothing

    assert accounts.services.recovery._background == set()


# --- resetting ------------------------------------------------------------------------------


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


async def test_the_right_code_sets_the_password_and_ends_every_other_session(
    accounts: AccountsEnv, log: pytest.LogCaptureFixture
) -> None:
    user = await linked_user(accounts)
    services = accounts.services
    old = await services.auth.open_session(user)
    old_claims = services.access.verify_claims(old.access_token)
    code = (await ask(accounts, "cleo"))[0].code

    pair = await reset(accounts, "CLEO", code, user_agent="Firefox/140")

    assert await stored(accounts) == []  # single use
    sid = services.access.verify_claims(pair.access_token).session_id
    session = await accounts.db["refresh_sessions"].find_one({"family_id": sid})
    assert session is not None
    assert session["user_agent"] == "Firefox/140"
    doc = await accounts.reload(user.id)
    assert doc is not None
    assert (await services.passwords.verify(doc["password_hash"], NEW_PASSWORD))[0]
    new_claims = services.access.verify_claims(pair.access_token)
    assert await services.gate.admit_token(new_claims) == user.id
    with pytest.raises(InvalidToken):
        await services.gate.admit_token(old_claims)
    with pytest.raises(InvalidResetCode):
        await reset(accounts, "cleo", code)
    assert messages(log)[-1] == f"password reset with a code for user {user.id}"


@pytest.mark.parametrize("typed", ["{a} {b}", "{a}-{b}", " {a}{b} ", "{a}\t{b}"])
async def test_a_code_may_be_typed_in_groups(accounts: AccountsEnv, typed: str) -> None:
    await linked_user(accounts)
    code = (await ask(accounts, "cleo"))[0].code

    await reset(accounts, "cleo", typed.format(a=code[:4], b=code[4:]))

    assert await stored(accounts) == []


async def test_a_code_is_held_to_every_digit(accounts: AccountsEnv) -> None:
    await linked_user(accounts)
    code = (await ask(accounts, "cleo"))[0].code

    for guess in (code[:-1], code + "0", "", "x" + code[1:]):
        with pytest.raises(InvalidResetCode):
            await reset(accounts, "cleo", guess)


async def test_each_wrong_try_counts_and_the_last_kills_the_code(accounts: AccountsEnv) -> None:
    await linked_user(accounts)
    code = (await ask(accounts, "cleo"))[0].code

    for tried in range(1, RESET_CODE_TRIES):
        with pytest.raises(InvalidResetCode):
            await reset(accounts, "cleo", wrong(code))
        assert [doc["attempts"] for doc in await stored(accounts)] == [tried]
    with pytest.raises(InvalidResetCode):
        await reset(accounts, "cleo", wrong(code))  # the fifth

    assert await stored(accounts) == []
    with pytest.raises(InvalidResetCode):
        await reset(accounts, "cleo", code)


async def test_the_last_try_may_be_the_right_one(accounts: AccountsEnv) -> None:
    await linked_user(accounts)
    code = (await ask(accounts, "cleo"))[0].code
    for _ in range(RESET_CODE_TRIES - 1):
        with pytest.raises(InvalidResetCode):
            await reset(accounts, "cleo", wrong(code))

    await reset(accounts, "cleo", code)

    assert await stored(accounts) == []


async def test_a_code_with_its_tries_used_up_is_refused(accounts: AccountsEnv) -> None:
    user = await linked_user(accounts)
    code = (await ask(accounts, "cleo"))[0].code
    await accounts.db["reset_codes"].update_one(
        {"_id": user.id}, {"$set": {"attempts": RESET_CODE_TRIES}}
    )

    with pytest.raises(InvalidResetCode):
        await reset(accounts, "cleo", code)
    assert (await stored(accounts))[0]["attempts"] == RESET_CODE_TRIES  # not counted again


async def test_an_expired_code_is_refused(accounts: AccountsEnv) -> None:
    user = await linked_user(accounts)
    code = (await ask(accounts, "cleo"))[0].code
    await accounts.db["reset_codes"].update_one(
        {"_id": user.id}, {"$set": {"expires_ms": epoch_ms()}}
    )

    with pytest.raises(InvalidResetCode):
        await reset(accounts, "cleo", code)


async def test_another_users_code_resets_nothing(accounts: AccountsEnv) -> None:
    await linked_user(accounts)
    await accounts.add_user(username="dina", username_normalized="dina", telegram_id=4002)
    code = (await ask(accounts, "cleo"))[0].code

    for username in ("dina", "nobody-here"):
        with pytest.raises(InvalidResetCode):
            await reset(accounts, username, code)
    assert [doc["attempts"] for doc in await stored(accounts)] == [0]


async def test_a_weak_new_password_is_refused_before_the_code_is_tried(
    accounts: AccountsEnv,
) -> None:
    await linked_user(accounts)
    code = (await ask(accounts, "cleo"))[0].code
    common = next(iter(accounts.services.auth.common_passwords))

    with pytest.raises(PasswordTooCommon) as caught:
        await reset(accounts, "cleo", code, password=common)

    assert caught.value.field == "new_password"
    assert [doc["attempts"] for doc in await stored(accounts)] == [0]


async def test_a_deactivated_user_with_a_valid_code_is_told_and_nothing_changes(
    accounts: AccountsEnv,
) -> None:
    user = await linked_user(accounts)
    code = (await ask(accounts, "cleo"))[0].code
    await accounts.db["users"].update_one({"_id": user.id}, {"$set": {"active": False}})

    with pytest.raises(AccountDeactivated):
        await reset(accounts, "cleo", code)

    assert (await accounts.reload(user.id) or {})["password_hash"] is None


class SpentRightAfterTheTry:
    """The reset-code collection as a parallel reset with the same code makes it look: the
    code is spent right after this reset's try was counted (a staged race: the embedded
    server answers too fast to produce it). Real operations on the real collection."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def find_one_and_update(self, *args: Any, **kwargs: Any) -> Any:
        doc = await self._real.find_one_and_update(*args, **kwargs)
        if doc is not None:
            await self._real.delete_one({"_id": doc["_id"]})
        return doc


async def test_a_code_spent_by_a_parallel_reset_does_not_reset_twice(
    accounts: AccountsEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await linked_user(accounts)
    code = (await ask(accounts, "cleo"))[0].code
    racing = SpentRightAfterTheTry(ResetCode.get_pymongo_collection())
    monkeypatch.setattr(ResetCode, "get_pymongo_collection", lambda: racing)

    with pytest.raises(InvalidResetCode):
        await reset(accounts, "cleo", code)

    assert (await accounts.reload(user.id) or {})["password_hash"] is None


async def test_a_name_without_a_reachable_account_costs_the_same_work(
    accounts: AccountsEnv,
) -> None:
    """Issue 22, item 9: a code, its keyed hash and one write happen for every name, so the
    timing of the answer (and the load behind it) does not tell whether the account exists.
    The code for nobody is stored under a decoy id: one per name, which no reset reaches."""
    await accounts.add_user(username="cleo")  # no Telegram: nothing to send
    for _ in range(2):
        assert await ask(accounts, "nobody-here") == []
        assert await ask(accounts, "cleo") == []
    decoys = await accounts.db["reset_codes"].find({}).to_list()
    assert len(decoys) == 2  # one per name, replaced, not piling up
    assert await stored(accounts) == []  # none is a user's
    assert all(len(doc["code_hash"]) == 64 and doc["attempts"] == 0 for doc in decoys)
    for name in ("nobody-here", "cleo"):
        with pytest.raises(InvalidResetCode):
            await reset(accounts, name, "00000000")
