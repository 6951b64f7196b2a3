"""The client address behind TRUSTED_PROXY_HOPS proxies: each proxy appends the address it
saw to X-Forwarded-For, so only the right-most `hops` entries are trustworthy."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from server.api.client import MAX_USER_AGENT, client_address, user_agent
from tests.unit.requests import request

PEER = "192.0.2.10"


def address(hops: int, *forwarded: str, peer: str | None = PEER) -> str:
    headers = CIMultiDict(("X-Forwarded-For", value) for value in forwarded)
    return client_address(request("GET", headers=headers, peer=peer, trusted_proxy_hops=hops))


def test_without_trusted_hops_the_socket_peer_counts_whatever_the_header_says() -> None:
    assert address(0, "203.0.113.1") == PEER
    assert address(0) == PEER


def test_trusted_hops_but_no_header_fall_back_to_the_peer() -> None:
    assert address(1) == PEER
    assert address(2) == PEER


def test_one_hop_takes_the_right_most_entry() -> None:
    assert address(1, "203.0.113.1") == "203.0.113.1"
    # The client wrote the left entry itself; the router appended the right one.
    assert address(1, "1.2.3.4, 203.0.113.1") == "203.0.113.1"


def test_two_hops_take_the_second_from_the_right() -> None:
    assert address(2, "1.2.3.4, 203.0.113.1, 198.51.100.7") == "203.0.113.1"
    assert address(2, "203.0.113.1, 198.51.100.7") == "203.0.113.1"


def test_fewer_entries_than_hops_fall_back_to_the_peer() -> None:
    # Someone bypassed a proxy: the header cannot say what the hops would have appended.
    assert address(2, "203.0.113.1") == PEER
    assert address(3, "1.1.1.1, 2.2.2.2") == PEER


def test_repeated_headers_are_one_list_in_order() -> None:
    assert address(1, "1.2.3.4", "203.0.113.1") == "203.0.113.1"
    assert address(2, "1.2.3.4", "203.0.113.1", "198.51.100.7") == "203.0.113.1"


def test_entries_are_stripped() -> None:
    assert address(1, "1.2.3.4 ,   203.0.113.1  ") == "203.0.113.1"


@pytest.mark.parametrize("header", ["1.2.3.4, ", "1.2.3.4,", " "])
def test_an_empty_trusted_entry_falls_back_to_the_peer(header: str) -> None:
    assert address(1, header) == PEER


def test_a_long_entry_is_capped() -> None:
    assert address(1, "a" * 100) == "a" * 64


def test_no_peer_at_all_is_unknown() -> None:
    assert address(0, peer=None) == "unknown"
    assert address(1, peer=None) == "unknown"


# --- the User-Agent, as the session list shows it -----------------------------------------------


@pytest.mark.parametrize(
    ("headers", "shown"),
    [
        ({}, None),
        ({"User-Agent": ""}, None),
        ({"User-Agent": "   "}, None),
        ({"User-Agent": "  Firefox/140  "}, "Firefox/140"),
        ({"user-agent": "curl/8"}, "curl/8"),
        ({"User-Agent": "x" * (MAX_USER_AGENT + 1)}, "x" * MAX_USER_AGENT),
    ],
    ids=["none", "empty", "blank", "stripped", "any-case", "shortened"],
)
def test_the_user_agent_is_stripped_shortened_or_none(
    headers: dict[str, str], shown: str | None
) -> None:
    assert user_agent(request("GET", headers=headers)) == shown
