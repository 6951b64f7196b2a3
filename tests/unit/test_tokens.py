"""Access tokens and refresh-token hashing, without HTTP or a database: every claim, the pinned
algorithm, previous keys, and expiry by an injected clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from typing import Any

import jwt
import pytest

from server.services.accounts.tokens import (
    REQUIRED_CLAIMS,
    VERIFIED_MAX,
    AccessClaims,
    AccessTokens,
    TokenPair,
    hash_refresh_token,
    new_refresh_token,
)
from server.services.common.errors import InvalidToken
from tests.clock import ManualClock

KEY = b"unit-test-jwt-key-0123456789abcdefghijklmnop"
OLD_KEY = b"unit-test-old-key-0123456789abcdefghijklmno"
OTHER_KEY = b"unit-test-other-key-0123456789abcdefghijklmn"
ISSUER, AUDIENCE, TTL = "the-issuer", "the-audience", 900
NOW = 1_700_000_000
SUB = "6650c0ffee0123456789abcd"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def tokens(clock: ManualClock) -> AccessTokens:
    return AccessTokens(KEY, ISSUER, AUDIENCE, TTL, previous_keys=(OLD_KEY,), clock=clock)


def claims(**overrides: Any) -> dict[str, Any]:
    """What `issue` puts in a token at NOW; an override of None removes the claim."""
    base = {
        "sub": SUB, "iat": NOW, "exp": NOW + TTL, "iss": ISSUER, "aud": AUDIENCE,
        "jti": "0" * 32, "typ": "access",
    }  # fmt: skip
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], key: bytes = KEY, algorithm: str = "HS256", **kw: Any) -> str:
    with warnings.catch_warnings():  # PyJWT warns about short keys for HS384/HS512
        warnings.simplefilter("ignore")
        return jwt.encode(payload, key, algorithm=algorithm, **kw)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def by_hand(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A JWT assembled without PyJWT (which refuses to make some of these)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    if key is None:
        return signing_input + "."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


# --- issue ------------------------------------------------------------------------------


def test_issue_writes_every_claim_as_documented(tokens: AccessTokens) -> None:
    token = tokens.issue(SUB)

    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert header == {"alg": "HS256", "typ": "JWT"}
    # The required claims, and `iat_ms` (revocation compares milliseconds); no `sid`
    # without a session.
    assert set(payload) == {*REQUIRED_CLAIMS, "iat_ms"}
    assert payload["sub"] == SUB
    assert payload["iat"] == NOW
    assert payload["iat_ms"] == NOW * 1000
    assert payload["exp"] == NOW + TTL
    assert payload["iss"] == ISSUER
    assert payload["aud"] == AUDIENCE
    assert payload["typ"] == "access"
    assert len(payload["jti"]) == 32
    int(payload["jti"], 16)  # a uuid4 in hex


def test_issue_names_the_session(tokens: AccessTokens) -> None:
    payload = jwt.decode(tokens.issue(SUB, "family-1"), options={"verify_signature": False})

    assert payload["sid"] == "family-1"
    assert set(payload) == {*REQUIRED_CLAIMS, "iat_ms", "sid"}


def test_iat_ms_keeps_the_milliseconds_and_iat_the_whole_seconds(clock: ManualClock) -> None:
    clock.now = NOW + 0.9876
    tokens = AccessTokens(KEY, ISSUER, AUDIENCE, TTL, clock=clock)

    payload = jwt.decode(tokens.issue(SUB), options={"verify_signature": False})

    assert (payload["iat_ms"], payload["iat"], payload["exp"]) == (
        NOW * 1000 + 987, NOW, NOW + TTL
    )  # fmt: skip


def test_not_before_keeps_a_token_from_counting_as_older_than_a_revocation(
    tokens: AccessTokens,
) -> None:
    # Issued right after a revocation stamped (by another clock) later than this one's now.
    later_ms = NOW * 1000 + 2500

    payload = jwt.decode(
        tokens.issue(SUB, not_before_ms=later_ms), options={"verify_signature": False}
    )
    early = jwt.decode(
        tokens.issue(SUB, not_before_ms=NOW * 1000 - 1), options={"verify_signature": False}
    )

    assert (payload["iat_ms"], payload["iat"], payload["exp"]) == (later_ms, NOW + 2, NOW + 2 + TTL)
    assert early["iat_ms"] == NOW * 1000  # an earlier bound changes nothing


def test_without_a_bound_the_clock_alone_decides(clock: ManualClock) -> None:
    # The default bound is no bound at all: even a clock at the epoch's first millisecond
    # is taken as it is.
    clock.now = 0.0009
    tokens = AccessTokens(KEY, ISSUER, AUDIENCE, TTL, clock=clock)

    payload = jwt.decode(tokens.issue(SUB), options={"verify_signature": False})

    assert (payload["iat_ms"], payload["iat"]) == (0, 0)


def test_issue_signs_with_the_current_key_only(tokens: AccessTokens) -> None:
    token = tokens.issue(SUB)

    jwt.decode(token, KEY, algorithms=["HS256"], audience=AUDIENCE, options={"verify_exp": False})
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, OLD_KEY, algorithms=["HS256"], audience=AUDIENCE)


def test_every_token_has_its_own_jti(tokens: AccessTokens) -> None:
    jtis = {
        jwt.decode(tokens.issue(SUB), options={"verify_signature": False})["jti"] for _ in range(20)
    }
    assert len(jtis) == 20


def test_the_ttl_is_public_for_expires_in(tokens: AccessTokens) -> None:
    assert tokens.ttl == TTL


def test_the_real_clock_is_the_default() -> None:
    import time

    token = AccessTokens(KEY, ISSUER, AUDIENCE, TTL).issue(SUB)

    iat = jwt.decode(token, options={"verify_signature": False})["iat"]
    assert abs(iat - time.time()) < 5


# --- verify -----------------------------------------------------------------------------


def test_verify_returns_the_subject_of_an_issued_token(tokens: AccessTokens) -> None:
    assert tokens.verify(tokens.issue(SUB)) == SUB


def test_verify_claims_reads_subject_milliseconds_and_session(tokens: AccessTokens) -> None:
    assert tokens.verify_claims(tokens.issue(SUB, "family-1")) == AccessClaims(
        SUB, NOW * 1000, "family-1"
    )
    assert tokens.verify_claims(tokens.issue(SUB)) == AccessClaims(SUB, NOW * 1000, None)


def test_a_token_without_iat_ms_counts_from_its_iat(tokens: AccessTokens) -> None:
    # Issued before `iat_ms` existed: its whole second is the issue time.
    assert tokens.verify_claims(sign(claims())) == AccessClaims(SUB, NOW * 1000, None)


@pytest.mark.parametrize("value", ["1700000000000", 1.7e12, None, True])
def test_an_iat_ms_that_is_not_an_integer_falls_back_to_iat(
    tokens: AccessTokens, value: Any
) -> None:
    token = sign({**claims(), "iat_ms": value})

    assert tokens.verify_claims(token).issued_ms == NOW * 1000


@pytest.mark.parametrize("sid", [123, ["family-1"], {"id": "x"}, True])
def test_a_session_id_that_is_not_a_string_is_refused(tokens: AccessTokens, sid: Any) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify_claims(sign({**claims(), "sid": sid}))


def test_a_token_signed_with_a_previous_key_is_accepted(tokens: AccessTokens) -> None:
    assert tokens.verify(sign(claims(), OLD_KEY)) == SUB


def test_previous_keys_are_tried_after_the_current_one(clock: ManualClock) -> None:
    several = AccessTokens(KEY, ISSUER, AUDIENCE, TTL, (OTHER_KEY, OLD_KEY), clock=clock)

    assert several.verify(sign(claims(), OLD_KEY)) == SUB
    assert several.verify(sign(claims(), OTHER_KEY)) == SUB


def test_without_previous_keys_an_old_token_is_refused(clock: ManualClock) -> None:
    rotated = AccessTokens(KEY, ISSUER, AUDIENCE, TTL, clock=clock)

    with pytest.raises(InvalidToken):
        rotated.verify(sign(claims(), OLD_KEY))


def test_a_token_of_an_unknown_key_is_refused(tokens: AccessTokens) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(sign(claims(), OTHER_KEY))


def test_a_token_of_a_previous_key_is_held_to_every_claim(tokens: AccessTokens) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(sign(claims(aud="someone-else"), OLD_KEY))


ALGORITHM_ATTACKS = {
    "alg none": lambda: by_hand({"alg": "none", "typ": "JWT"}, claims(), None),
    "alg NONE": lambda: by_hand({"alg": "NONE"}, claims(), None),
    "alg none with a signature": lambda: by_hand({"alg": "none"}, claims(), KEY),
    "hs384 with the right key": lambda: sign(claims(), algorithm="HS384"),
    "hs512 with the right key": lambda: sign(claims(), algorithm="HS512"),
    "header says hs512, signed hs256": lambda: by_hand({"alg": "HS512"}, claims(), KEY),
    "hs256 keyed with public key text": lambda: by_hand(
        {"alg": "HS256"}, claims(), b"-----BEGIN PUBLIC KEY-----\nMFww\n-----END PUBLIC KEY-----\n"
    ),
    "rs256 header, hmac signature": lambda: by_hand({"alg": "RS256"}, claims(), KEY),
    "kid points at another key": lambda: sign(claims(), OTHER_KEY, headers={"kid": "../key"}),
    "jku points at another key set": lambda: sign(
        claims(), OTHER_KEY, headers={"jku": "http://127.0.0.1:1/keys.json"}
    ),
}


@pytest.mark.parametrize("make", ALGORITHM_ATTACKS.values(), ids=ALGORITHM_ATTACKS.keys())
def test_the_algorithm_is_pinned_and_headers_never_pick_a_key(
    tokens: AccessTokens, make: Any
) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(make())


def test_a_kid_header_on_a_genuine_token_changes_nothing(tokens: AccessTokens) -> None:
    assert tokens.verify(sign(claims(), headers={"kid": "whatever"})) == SUB


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_every_required_claim_must_be_present(tokens: AccessTokens, claim: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(sign(claims(**{claim: None})))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("iss", "another-issuer"),
        ("aud", "another-audience"),
        ("aud", ["another-audience"]),
        ("typ", "refresh"),
        ("typ", "ACCESS"),
        ("sub", 12345),
        ("sub", ["x"]),
        ("exp", str(NOW + TTL)),
        ("exp", float(NOW + TTL)),
        ("exp", True),
        ("iat", "yesterday"),
    ],
)
def test_a_wrong_claim_is_refused(tokens: AccessTokens, claim: str, value: Any) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(sign(claims(**{claim: value})))


def test_an_audience_list_that_includes_ours_is_accepted(tokens: AccessTokens) -> None:
    # RFC 7519: `aud` may be a list; PyJWT accepts it when ours is among them.
    assert tokens.verify(sign(claims(aud=[AUDIENCE, "other"]))) == SUB


def test_a_token_is_valid_until_the_second_before_exp(
    tokens: AccessTokens, clock: ManualClock
) -> None:
    token = tokens.issue(SUB)

    clock.now = NOW + TTL - 1
    assert tokens.verify(token) == SUB
    clock.now = NOW + TTL - 0.001
    assert tokens.verify(token) == SUB
    clock.now = NOW + TTL
    with pytest.raises(InvalidToken):
        tokens.verify(token)
    clock.now = NOW + TTL + 3600
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_a_verified_token_is_not_decoded_again(
    tokens: AccessTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signature is checked once per token and process (a client repeats its token on
    every request); a token never seen, or refused, still goes through PyJWT every time."""
    token = tokens.issue(SUB, "sid-1")
    first = tokens.verify_claims(token)
    decoded: list[str] = []

    def no_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        raise jwt.InvalidTokenError("decoded again")

    monkeypatch.setattr(jwt, "decode", no_decode)
    assert tokens.verify_claims(token) == first
    assert decoded == []
    other = tokens.issue(SUB)
    with pytest.raises(InvalidToken):
        tokens.verify(other)
    with pytest.raises(InvalidToken):
        tokens.verify(other)
    assert decoded == [other, other]  # a refused token is not remembered


def test_remembered_tokens_are_bounded(tokens: AccessTokens) -> None:
    first = tokens.issue(SUB)
    tokens.verify(first)
    for _ in range(VERIFIED_MAX):
        tokens.verify(tokens.issue(SUB))
    assert len(tokens._verified) == VERIFIED_MAX
    assert first not in tokens._verified  # the oldest went first
    assert tokens.verify(first) == SUB  # and is simply checked again


def test_an_expired_token_of_a_previous_key_is_refused(
    tokens: AccessTokens, clock: ManualClock
) -> None:
    token = sign(claims(), OLD_KEY)
    clock.now = NOW + TTL

    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_a_token_issued_in_the_future_is_refused(tokens: AccessTokens) -> None:
    in_a_year = NOW + 10**9
    with pytest.raises(InvalidToken):
        tokens.verify(sign(claims(iat=in_a_year, exp=in_a_year + TTL)))


@pytest.mark.parametrize(
    "token",
    ["", "a.b.c", "a.b", "....", "токен.токен.токен", "x" * 100, "Bearer x.y.z"],
)
def test_garbage_is_refused_without_an_error(tokens: AccessTokens, token: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_non_ascii_around_a_valid_token_is_refused(tokens: AccessTokens) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(tokens.issue(SUB) + "é")


def test_a_tampered_payload_is_refused(tokens: AccessTokens) -> None:
    header, _, signature = tokens.issue(SUB).split(".")
    forged = b64(json.dumps(claims(sub="000000000000000000000000")).encode())

    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{forged}.{signature}")


# --- refresh tokens -----------------------------------------------------------------------


def test_refresh_tokens_are_256_bit_random_and_stored_as_sha256() -> None:
    token, digest = new_refresh_token()

    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert hash_refresh_token(token) == digest
    assert new_refresh_token()[0] != token


def test_token_pair_is_a_bearer_pair() -> None:
    pair = TokenPair(access_token="a", refresh_token="r", expires_in=900)
    assert pair.token_type == "bearer"
