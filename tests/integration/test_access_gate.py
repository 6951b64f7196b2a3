"""The AccessGate's reads on a real database: what a user, a session or a Telegram account
looks like after the writes the services make (`$set` booleans are 1/0 on the embedded
server), and the bound counted on the gate's clock. (The decisions and the cache without a
database: tests/unit/test_access_gate.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from beanie import PydanticObjectId
from bson import ObjectId

from server.services.accounts.access_gate import AccessGate
from server.services.accounts.tokens import AccessClaims
from server.services.accounts.users import TelegramProfile, Users
from server.services.common.errors import AccountDeactivated, InvalidToken
from tests.clock import ManualClock

TTL = 5.0
T0 = 500.0
ISSUED = 1_700_000_000_000


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def gate(models: Any, clock: ManualClock) -> AccessGate:
    return AccessGate(Users(), ttl=TTL, clock=clock)


async def add_user(db: Any, **fields: Any) -> PydanticObjectId:
    result = await db["users"].insert_one({"username": None, **fields})
    return PydanticObjectId(result.inserted_id)


def claims(user_id: object, issued: int = ISSUED, sid: str | None = None) -> AccessClaims:
    return AccessClaims(str(user_id), issued, sid)


async def test_a_user_as_written_at_registration(gate: AccessGate, models: Any) -> None:
    user_id = await add_user(models, active=True, tokens_valid_after=0, telegram_id=None)

    state = await gate.user_state(user_id)

    assert state == (user_id, True, 0, None, T0 + TTL)
    assert type(state.user_id) is PydanticObjectId
    assert await gate.admit_token(claims(user_id)) == user_id


async def test_a_user_without_the_newer_fields_is_active_and_never_revoked(
    gate: AccessGate, models: Any
) -> None:
    # Written before `active` and `tokens_valid_after` existed.
    user_id = await add_user(models, telegram_id=77)

    assert await gate.user_state(user_id) == (user_id, True, 0, 77, T0 + TTL)
    assert await gate.admit_token(claims(user_id, issued=1)) == user_id


async def test_a_user_after_the_services_set_writes(gate: AccessGate, models: Any) -> None:
    user_id = await add_user(models, active=True, tokens_valid_after=0, telegram_id=5)
    await models["users"].update_one(
        {"_id": user_id}, {"$set": {"active": False, "tokens_valid_after": ISSUED}}
    )

    state = await gate.user_state(user_id)

    assert (state.active, state.tokens_valid_after, state.telegram_id) == (False, ISSUED, 5)
    with pytest.raises(AccountDeactivated):
        await gate.admit_token(claims(user_id))


async def test_revocations_by_another_process_are_seen_after_the_bound(
    gate: AccessGate, models: Any, clock: ManualClock
) -> None:
    user_id = await add_user(models, active=True, tokens_valid_after=0)
    assert await gate.admit_token(claims(user_id)) == user_id
    await models["users"].update_one({"_id": user_id}, {"$set": {"tokens_valid_after": ISSUED + 1}})

    clock.now = T0 + TTL - 0.001
    assert await gate.admit_token(claims(user_id)) == user_id  # still within the bound
    clock.now = T0 + TTL
    with pytest.raises(InvalidToken):
        await gate.admit_token(claims(user_id))


@pytest.mark.parametrize("subject", ["", "not-an-object-id", "6650c0ffee0123456789abc"])
async def test_a_subject_that_is_no_user_id_is_refused(
    gate: AccessGate, clock: ManualClock, subject: str
) -> None:
    for _ in range(2):  # read, then remembered within the bound
        with pytest.raises(InvalidToken):
            await gate.admit_token(claims(subject))
        clock.now += 1
    # Remembered as no user at all: inactive, nothing valid.
    assert await gate.user_state(subject) == (None, False, 0, None, T0 + TTL)  # type: ignore[arg-type]


async def test_each_user_is_read_by_its_own_id(gate: AccessGate, models: Any) -> None:
    active = await add_user(models, active=True, telegram_id=1)
    deactivated = await add_user(models, active=False, tokens_valid_after=7, telegram_id=2)

    with pytest.raises(AccountDeactivated):
        await gate.admit_token(claims(deactivated))
    assert await gate.admit_token(claims(active)) == active
    assert await gate.user_state(deactivated) == (deactivated, False, 7, 2, T0 + TTL)


async def test_a_deleted_user_is_refused(gate: AccessGate, models: Any) -> None:
    user_id = await add_user(models, active=True)
    await models["users"].delete_one({"_id": user_id})

    assert await gate.user_state(user_id) == (None, False, 0, None, T0 + TTL)
    with pytest.raises(InvalidToken):
        await gate.admit_token(claims(user_id))


async def add_session(db: Any, user_id: ObjectId, family: str, **fields: Any) -> None:
    await db["refresh_sessions"].insert_one(
        {"user_id": user_id, "family_id": family, "token_hash": family, **fields}
    )


async def test_sessions_live_ended_by_set_and_erased(gate: AccessGate, models: Any) -> None:
    user_id = await add_user(models, active=True)
    other = await add_user(models, active=True)
    await add_session(models, user_id, "live", revoked=False)
    await add_session(models, user_id, "ended", revoked=False)
    await models["refresh_sessions"].update_one({"family_id": "ended"}, {"$set": {"revoked": True}})
    await add_session(models, other, "theirs", revoked=False)

    assert await gate.admit_token(claims(user_id, sid="live")) == user_id
    for _ in range(2):  # read, then remembered within the bound
        for family in ("ended", "theirs", "erased"):
            with pytest.raises(InvalidToken):
                await gate.admit_token(claims(user_id, sid=family))


async def test_a_session_without_the_revoked_field_is_live(gate: AccessGate, models: Any) -> None:
    user_id = await add_user(models)
    await add_session(models, user_id, "old")

    assert await gate.admit_token(claims(user_id, sid="old")) == user_id


async def test_a_session_ended_by_another_process_is_seen_after_the_bound(
    gate: AccessGate, models: Any, clock: ManualClock
) -> None:
    user_id = await add_user(models)
    await add_session(models, user_id, "s", revoked=False)
    await gate.admit_token(claims(user_id, sid="s"))
    await models["refresh_sessions"].delete_one({"family_id": "s"})

    clock.now = T0 + TTL - 0.001
    assert await gate.admit_token(claims(user_id, sid="s")) == user_id
    clock.now = T0 + TTL
    with pytest.raises(InvalidToken):
        await gate.admit_token(claims(user_id, sid="s"))


async def test_telegram_accounts_active_deactivated_and_unknown(
    gate: AccessGate, models: Any, clock: ManualClock
) -> None:
    await add_user(models, telegram_id=1, active=True)
    await add_user(models, telegram_id=2, active=True)
    await models["users"].update_one({"telegram_id": 2}, {"$set": {"active": False}})
    await add_user(models, telegram_id=3)  # from before `active`

    assert [await gate.telegram_account_active(n) for n in (1, 2, 3, 4)] == [
        True, False, True, True
    ]  # fmt: skip
    await models["users"].update_one({"telegram_id": 2}, {"$set": {"active": True}})
    clock.now = T0 + TTL - 0.001
    assert await gate.telegram_account_active(2) is False
    clock.now = T0 + TTL
    assert await gate.telegram_account_active(2) is True


async def test_a_telegram_user_through_users_and_the_gate(gate: AccessGate, models: Any) -> None:
    # The resolver is Users': the account is created on first sight, then checked.
    users = Users()
    admitted = await gate.admit_telegram_user(31, lambda: users.user_id_by_telegram_id(31))

    doc = await models["users"].find_one({"telegram_id": 31})
    assert doc is not None
    assert admitted == doc["_id"]
    assert gate.known_telegram_user(31) is admitted


async def test_a_telegram_id_found_absent_is_a_hint_for_a_first_start(
    gate: AccessGate, models: Any, clock: ManualClock
) -> None:
    """/start of a new user inserts without a second look-up (the gate has just found no
    account); a stale hint (the user created meanwhile elsewhere) still finds the user."""
    await add_user(models, telegram_id=1, active=True)
    assert [await gate.telegram_account_active(n) for n in (1, 2)] == [True, True]
    assert gate.telegram_user_absent(1) is False
    assert gate.telegram_user_absent(2) is True
    assert gate.telegram_user_absent(3) is False  # never looked up: no hint
    clock.now = T0 + TTL
    assert gate.telegram_user_absent(2) is False  # too old to go by

    users = Users()
    created, was_new = await users.ensure_telegram_user(TelegramProfile(2), absent=True)
    assert was_new
    # Another process created it in between: the hint is wrong, the unique index says so.
    again, again_new = await users.ensure_telegram_user(TelegramProfile(2), absent=True)
    assert (again.id, again_new) == (created.id, False)
    assert await models["users"].count_documents({"telegram_id": 2}) == 1
