"""Telegram Mini App init data: the signature check (HMAC-SHA256 with a key derived from the
bot token and "WebAppData") and the freshness of `auth_date`."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl

from server.services.errors import InvalidInitData
from server.services.users import TelegramProfile, is_telegram_id

MAX_INIT_DATA_LENGTH = 4096
CLOCK_SKEW = 60  # seconds an auth_date may lie in the future
MAX_REMEMBERED = 10_000  # verified init data strings kept


class InitDataVerifier:
    def __init__(self, bot_token: str, max_age: int) -> None:
        # The derived key depends only on the bot token: compute it once, not per request.
        self._key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
        self._max_age = max_age
        # Only verified init data is kept: forged strings cannot fill it.
        self._verified: dict[str, tuple[TelegramProfile, int]] = {}

    def sign(self, fields: dict[str, str]) -> str:
        """The hash Telegram would send for these fields (used to verify, and by tests)."""
        check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
        return hmac.new(self._key, check.encode(), hashlib.sha256).hexdigest()

    def verify(self, init_data: str, now: float | None = None) -> TelegramProfile:
        """Return the signed user, or raise InvalidInitData saying what is wrong."""
        now = time.time() if now is None else now
        # A Mini App sends the same init data with every request: its signature is checked
        # once, its freshness every time.
        if (known := self._verified.get(init_data)) is not None:
            profile, auth_date = known
            self._check_age(auth_date, now)
            return profile
        profile, auth_date = self._verify(init_data)
        self._check_age(auth_date, now)
        if len(self._verified) >= MAX_REMEMBERED:
            self._verified.clear()  # a crude bound: re-verifying costs ~20 µs each
        self._verified[init_data] = (profile, auth_date)
        return profile

    def _check_age(self, auth_date: int, now: float) -> None:
        age = now - auth_date
        if age > self._max_age or age < -CLOCK_SKEW:
            raise InvalidInitData("init data is expired")

    def _verify(self, init_data: str) -> tuple[TelegramProfile, int]:
        if len(init_data) > MAX_INIT_DATA_LENGTH:
            raise InvalidInitData("init data is too long")
        if not init_data.isascii():  # it is URL-encoded: non-ASCII means it is not init data
            raise InvalidInitData("init data is not URL-encoded")
        try:
            pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise InvalidInitData("init data is not a query string") from None
        fields = dict(pairs)
        if len(fields) != len(pairs):
            raise InvalidInitData("init data repeats a field")
        received = fields.pop("hash", "")
        if not hmac.compare_digest(received.encode(), self.sign(fields).encode()):
            raise InvalidInitData("init data signature does not match")
        # Only signed data is looked at from here on.
        try:
            auth_date = int(fields["auth_date"])
        except (KeyError, ValueError):
            raise InvalidInitData("init data has no valid auth_date", field="auth_date") from None
        return _profile(fields.get("user")), auth_date


def _profile(raw_user: str | None) -> TelegramProfile:
    try:
        user = json.loads(raw_user) if raw_user else None
    except ValueError:
        user = None
    if not isinstance(user, dict):
        raise InvalidInitData("init data has no user", field="user")
    user_id = user.get("id")
    if not is_telegram_id(user_id):
        raise InvalidInitData("init data user has no valid id", field="user.id")

    def text(key: str) -> str | None:
        value = user.get(key)
        return value[:256] if isinstance(value, str) else None

    return TelegramProfile(
        telegram_id=user_id,
        first_name=text("first_name"),
        last_name=text("last_name"),
        username=text("username"),
        language_code=text("language_code"),
    )
