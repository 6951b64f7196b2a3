"""Username normalisation as a property of every valid name (uniqueness on the database is
in tests/integration/test_usernames.py)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from server.services.accounts.users import (
    USERNAME_MAX_LENGTH,
    USERNAME_MIN_LENGTH,
    USERNAME_PATTERN,
    normalize_username,
)

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
usernames = st.text(ALPHABET, min_size=USERNAME_MIN_LENGTH, max_size=USERNAME_MAX_LENGTH)


def case_variant(name: str, flips: list[bool]) -> str:
    return (
        "".join(c.swapcase() if f else c for c, f in zip(name, flips, strict=False))
        + name[len(flips) :]
    )


@given(usernames)
def test_every_valid_name_matches_the_pattern(name: str) -> None:
    assert re.fullmatch(USERNAME_PATTERN, name)


@given(usernames)
def test_normalising_is_idempotent_and_keeps_the_name_valid(name: str) -> None:
    normal = normalize_username(name)

    assert normalize_username(normal) == normal
    assert len(normal) == len(name)
    assert re.fullmatch(USERNAME_PATTERN, normal)
    assert normal == normal.lower()


@given(usernames, st.lists(st.booleans(), max_size=USERNAME_MAX_LENGTH))
def test_names_that_differ_only_in_case_are_one_name(name: str, flips: list[bool]) -> None:
    assert normalize_username(case_variant(name, flips)) == normalize_username(name)


@given(usernames, usernames)
def test_names_that_differ_otherwise_stay_apart(a: str, b: str) -> None:
    if a.lower() != b.lower():
        assert normalize_username(a) != normalize_username(b)


@given(st.text(min_size=1, max_size=20))
def test_names_with_anything_but_ascii_letters_digits_and_three_marks_are_invalid(
    name: str,
) -> None:
    valid = re.fullmatch(USERNAME_PATTERN, name) is not None
    assert valid == all(c in ALPHABET for c in name)
