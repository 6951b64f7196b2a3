"""Refresh-token rotation, reuse detection, and logout, on the database through AuthService.
Each test says which line of the service it protects."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from models import RefreshSession, SpentRefreshToken, User
from models.clock import utcnow
from server.services.accounts.auth import AuthService
from server.services.accounts.tokens import TokenPair, hash_refresh_token
from server.services.common.errors import InvalidToken

PASSWORD = "a-long-unusual-passphrase"


async def account(auth: AuthService, name: str = "alice") -> tuple[User, TokenPair]:
    return await auth.register(name, PASSWORD, client="192.0.2.1")


async def sessions(db: Any) -> list[dict[str, Any]]:
    return await db["refresh_sessions"].find({}).to_list()


async def test_refresh_rotates_the_token_and_records_the_spent_one(
    auth: AuthService, models: Any
) -> None:
    user, first = await account(auth)
    [before] = await sessions(models)

    second = await auth.refresh(first.refresh_token)

    assert auth.access.verify(second.access_token) == str(user.id)
    assert second.refresh_token != first.refresh_token
    [after] = await sessions(models)
    assert after["_id"] == before["_id"]  # the same family, rotated
    assert after["token_hash"] == hash_refresh_token(second.refresh_token)
    assert after["revoked"] in (False, 0)
    spent = await models["spent_refresh_tokens"].find({}).to_list()
    assert [(s["token_hash"], s["family_id"]) for s in spent] == [
        (hash_refresh_token(first.refresh_token), before["family_id"])
    ]
    third = await auth.refresh(second.refresh_token)  # and the new one works once too
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


async def test_a_spent_token_presented_again_revokes_the_family(
    auth: AuthService, models: Any
) -> None:
    _, first = await account(auth)
    second = await auth.refresh(first.refresh_token)

    with pytest.raises(InvalidToken):
        await auth.refresh(first.refresh_token)

    assert [s["revoked"] for s in await sessions(models)] == [True]
    with pytest.raises(InvalidToken):
        await auth.refresh(second.refresh_token)


async def test_losing_the_race_to_spend_a_token_revokes_the_family(
    auth: AuthService, models: Any
) -> None:
    """Two presenters found the session; the other one inserted the spent record first
    (the unique index decides). Reproduced here by writing that record before refreshing."""
    _, pair = await account(auth)
    [session] = await RefreshSession.find_all().to_list()
    await SpentRefreshToken(
        token_hash=session.token_hash, family_id=session.family_id, expires_at=session.expires_at
    ).insert()

    with pytest.raises(InvalidToken):
        await auth.refresh(pair.refresh_token)

    assert [s["revoked"] for s in await sessions(models)] == [True]


async def test_a_refresh_for_a_deleted_user_is_refused(auth: AuthService, models: Any) -> None:
    user, pair = await account(auth)
    await models["users"].delete_one({"_id": user.id})

    with pytest.raises(InvalidToken):
        await auth.refresh(pair.refresh_token)


async def test_an_expired_session_is_refused_and_spends_nothing(
    auth: AuthService, models: Any
) -> None:
    _, pair = await account(auth)
    # replace_one writes a real datetime on every server (a $set would store a string on
    # the embedded one).
    [doc] = await sessions(models)
    doc["expires_at"] = utcnow() - timedelta(seconds=1)
    await models["refresh_sessions"].replace_one({"_id": doc["_id"]}, doc)

    with pytest.raises(InvalidToken):
        await auth.refresh(pair.refresh_token)

    assert await models["spent_refresh_tokens"].count_documents({}) == 0


async def test_a_revoked_session_is_refused(auth: AuthService, models: Any) -> None:
    user, pair = await account(auth)
    assert user.id is not None
    await auth.logout(user.id, pair.refresh_token)

    with pytest.raises(InvalidToken):
        await auth.refresh(pair.refresh_token)
    assert await models["spent_refresh_tokens"].count_documents({}) == 0


async def test_an_unknown_token_is_refused_and_revokes_nothing(
    auth: AuthService, models: Any
) -> None:
    await account(auth)

    with pytest.raises(InvalidToken):
        await auth.refresh("x" * 43)

    assert [s["revoked"] for s in await sessions(models)] == [False]


async def test_logout_with_the_current_token_ends_only_that_session(
    auth: AuthService, models: Any
) -> None:
    user, first = await account(auth)
    other = await auth.login("alice", PASSWORD, client="192.0.2.1")
    assert user.id is not None

    await auth.logout(user.id, first.refresh_token)

    with pytest.raises(InvalidToken):
        await auth.refresh(first.refresh_token)
    await auth.refresh(other.refresh_token)  # the other login's family is untouched


async def test_logout_with_an_already_spent_token_ends_its_session(
    auth: AuthService, models: Any
) -> None:
    """A client that lost the rotated token can still log out with the one it has."""
    user, first = await account(auth)
    second = await auth.refresh(first.refresh_token)
    assert user.id is not None

    await auth.logout(user.id, first.refresh_token)

    assert [s["revoked"] for s in await sessions(models)] == [True]
    with pytest.raises(InvalidToken):
        await auth.refresh(second.refresh_token)


async def test_logout_with_another_users_spent_token_changes_nothing(
    auth: AuthService, models: Any
) -> None:
    _, alice = await account(auth, "alice")
    bob, _ = await account(auth, "bob")
    rotated = await auth.refresh(alice.refresh_token)
    assert bob.id is not None

    await auth.logout(bob.id, alice.refresh_token)

    assert [s["revoked"] for s in await sessions(models)] == [False, False]
    await auth.refresh(rotated.refresh_token)


async def test_logout_with_an_unknown_token_changes_nothing(auth: AuthService, models: Any) -> None:
    user, pair = await account(auth)
    assert user.id is not None

    await auth.logout(user.id, "never-issued")

    await auth.refresh(pair.refresh_token)
