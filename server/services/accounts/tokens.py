"""Access JWTs and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jwt

from server.services.common.errors import InvalidToken

ALGORITHM = "HS256"
ACCESS_TYPE = "access"
REQUIRED_CLAIMS = ["sub", "iat", "exp", "iss", "aud", "jti", "typ"]
VERIFIED_MAX = 4096  # tokens whose signature this process has checked, remembered at most


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type


def hash_refresh_token(token: str) -> str:
    # A fast hash is right here: the token has 256 bits of entropy, nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> tuple[str, str]:
    """Return (token, its hash). The token goes to the client; only the hash is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


class AccessClaims(NamedTuple):
    """What an access token says once its signature and standard claims are checked."""

    subject: str
    issued_ms: int  # epoch ms: `iat_ms`, or `iat` in seconds for tokens without it
    session_id: str | None  # `sid`: the refresh session (family) it was issued for


class AccessTokens:
    def __init__(
        self,
        key: bytes,
        issuer: str,
        audience: str,
        ttl: int,
        previous_keys: tuple[bytes, ...] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        # Verification only: tokens signed with a previous key stay valid until they expire.
        self._keys = (key, *previous_keys)
        self._issuer = issuer
        self._audience = audience
        self.ttl = ttl
        self._clock = clock  # injectable, so tests can expire a token without waiting
        # token -> (its claims, `exp`): a client sends the same access token on every request
        # for its lifetime, and checking the signature (PyJWT's decode, ~30 us) is most of the
        # Bearer scheme's CPU. Only tokens that passed every check below are kept; expiry is
        # checked again on each use, and revocation is the AccessGate's question, asked on
        # every request as before. Bounded: the oldest entry goes first.
        self._verified: dict[str, tuple[AccessClaims, int]] = {}

    def issue(self, subject: str, session_id: str | None = None, not_before_ms: int = 0) -> str:
        """A token for `subject`. `iat_ms` (milliseconds; `iat` has whole seconds) is what
        revocation compares with the user's "tokens valid after" instant; `not_before_ms` keeps
        a token issued right after a revocation from counting as older than it."""
        issued_ms = max(int(self._clock() * 1000), not_before_ms)
        now = issued_ms // 1000
        claims: dict[str, object] = {
            "sub": subject,
            "iat": now,
            "iat_ms": issued_ms,
            "exp": now + self.ttl,
            "iss": self._issuer,
            "aud": self._audience,
            "jti": uuid.uuid4().hex,
            "typ": ACCESS_TYPE,
        }
        if session_id is not None:
            claims["sid"] = session_id
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> str:
        """Return the subject of a valid access token; raise InvalidToken otherwise."""
        return self.verify_claims(token).subject

    def verify_claims(self, token: str) -> AccessClaims:
        """The claims of a cryptographically valid access token; raise InvalidToken otherwise.
        (Whether it was revoked since is the AccessGate's question.)"""
        known = self._verified.get(token)
        if known is not None:
            if known[1] <= self._clock():
                del self._verified[token]
                raise InvalidToken()
            return known[0]
        if not token.isascii():  # a JWT is base64url and dots; anything else is not one
            raise InvalidToken()
        claims = None
        for key in self._keys:
            try:
                claims = jwt.decode(
                    token,
                    key,
                    # Pinned: the header's `alg` is never trusted (no `none`, no key confusion).
                    algorithms=[ALGORITHM],
                    audience=self._audience,
                    issuer=self._issuer,
                    # `exp` is checked below against our clock, the same way PyJWT would.
                    options={"require": REQUIRED_CLAIMS, "verify_exp": False},
                )
                break
            except jwt.InvalidSignatureError:
                continue  # perhaps signed before a key rotation: try the previous keys
            except jwt.PyJWTError:
                raise InvalidToken() from None
        if claims is None:
            raise InvalidToken()
        subject, issued_ms, sid = claims.get("sub"), claims.get("iat_ms"), claims.get("sid")
        if claims.get("typ") != ACCESS_TYPE or not isinstance(subject, str):
            raise InvalidToken()
        expires = claims["exp"]
        if type(expires) is not int or expires <= self._clock():
            raise InvalidToken()
        if type(issued_ms) is not int:
            issued_ms = int(claims["iat"]) * 1000  # a token from before `iat_ms` existed
        if sid is not None and not isinstance(sid, str):
            raise InvalidToken()
        verified = AccessClaims(subject, issued_ms, sid)
        if len(self._verified) >= VERIFIED_MAX:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (verified, expires)
        return verified
