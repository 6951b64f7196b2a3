"""Access JWTs and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from server.services.errors import InvalidToken

ALGORITHM = "HS256"
ACCESS_TYPE = "access"
REQUIRED_CLAIMS = ["sub", "iat", "exp", "iss", "aud", "jti", "typ"]


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

    def issue(self, subject: str) -> str:
        now = int(self._clock())
        claims = {
            "sub": subject,
            "iat": now,
            "exp": now + self.ttl,
            "iss": self._issuer,
            "aud": self._audience,
            "jti": uuid.uuid4().hex,
            "typ": ACCESS_TYPE,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> str:
        """Return the subject of a valid access token; raise InvalidToken otherwise."""
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
        if claims.get("typ") != ACCESS_TYPE or not isinstance(claims.get("sub"), str):
            raise InvalidToken()
        expires = claims["exp"]
        if type(expires) is not int or expires <= self._clock():
            raise InvalidToken()
        return claims["sub"]
