"""Usernames are unique case-insensitively, decided by the database's unique index: a model
of the rule (a set of lower-cased names) against registrations on the real database."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.services.accounts.auth import AuthService
from server.services.common.errors import InvalidCredentials, UsernameTaken

PASSWORD = "a-long-unusual-passphrase"
# A small alphabet, so that drawn names often collide in some letter case.
names = st.text("aAbB._", min_size=3, max_size=5)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(attempts=st.lists(names, min_size=1, max_size=6))
async def test_a_name_is_taken_in_every_letter_case(
    auth: AuthService, models: Any, attempts: list[str]
) -> None:
    await models["users"].delete_many({})
    taken: set[str] = set()
    for name in attempts:
        if name.lower() in taken:
            with pytest.raises(UsernameTaken):
                await auth.register(name, PASSWORD, client="192.0.2.1")
        else:
            user, _ = await auth.register(name, PASSWORD, client="192.0.2.1")
            assert (user.username, user.username_normalized) == (name, name.lower())
            taken.add(name.lower())
    assert await models["users"].count_documents({}) == len(taken)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=names, typed=st.lists(st.booleans(), min_size=5, max_size=5))
async def test_login_finds_the_account_in_any_letter_case(
    auth: AuthService, models: Any, name: str, typed: list[bool]
) -> None:
    await models["users"].delete_many({})
    await auth.register(name, PASSWORD, client="192.0.2.1")
    variant = "".join(c.swapcase() if flip else c for c, flip in zip(name, typed, strict=False))

    await auth.login(variant, PASSWORD, client="192.0.2.1")
    with pytest.raises(InvalidCredentials):
        await auth.login(variant + "x", PASSWORD, client="192.0.2.1")
