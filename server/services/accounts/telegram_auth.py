"""Fields Telegram signs for us: Mini App init data and the Login Widget's fields. Both are
checked the same way (one data-check-string, one HMAC-SHA256, the freshness of `auth_date`);
only the key differs: HMAC_SHA256("WebAppData", bot_token) for init data, SHA256(bot_token)
for the widget."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl

from server.services.accounts.users import TelegramProfile, is_telegram_id
from server.services.common.errors import InvalidInitData, InvalidLoginData

MAX_INIT_DATA_LENGTH = 4096
CLOCK_SKEW = 60  # seconds an auth_date may lie in the future
MAX_REMEMBERED = 10_000  # verified init data strings kept


def data_check_string(fields: Mapping[str, str]) -> str:
    """Telegram's data-check-string: every field but `hash`, sorted by key, `key=value`
    joined by line feeds."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


class SignedFields:
    """The check both kinds of signed fields share."""

    error: type[InvalidInitData] = InvalidInitData
    what = "init data"

    def __init__(self, key: bytes, max_age: int) -> None:
        # The key depends only on the bot token: derived once, not per request.
        self._key = key
        self._max_age = max_age

    def sign(self, fields: Mapping[str, str]) -> str:
        """The hash Telegram would send for these fields (used to verify, and by tests)."""
        check = data_check_string(fields)
        return hmac.new(self._key, check.encode(), hashlib.sha256).hexdigest()

    def _check_signature(self, fields: Mapping[str, str]) -> int:
        """Check `hash`; return the signed `auth_date`."""
        received = fields.get("hash", "")
        if not hmac.compare_digest(received.encode(), self.sign(fields).encode()):
            raise self.error(f"{self.what} signature does not match")
        # Only signed data is looked at from here on.
        try:
            return int(fields["auth_date"])
        except (KeyError, ValueError):
            raise self.error(f"{self.what} has no valid auth_date", field="auth_date") from None

    def _check_age(self, auth_date: int, now: float) -> None:
        age = now - auth_date
        if age > self._max_age or age < -CLOCK_SKEW:
            raise self.error(f"{self.what} is expired")


class InitDataVerifier(SignedFields):
    """Telegram Mini App init data (the `tma` scheme and POST /api/auth/telegram)."""

    def __init__(self, bot_token: str, max_age: int) -> None:
        super().__init__(
            hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest(), max_age
        )
        # Only verified init data is kept: forged strings cannot fill it.
        self._verified: dict[str, tuple[TelegramProfile, int]] = {}

    def verify(self, init_data: str, now: float | None = None) -> TelegramProfile:
        """Return the signed user, or raise InvalidInitData saying what is wrong."""
        return self.verify_dated(init_data, now)[0]

    def verify_dated(self, init_data: str, now: float | None = None) -> tuple[TelegramProfile, int]:
        """The signed user and the signed `auth_date` (epoch seconds: when Telegram made the
        init data, compared with the user's revocations and for fresh confirmations)."""
        now = time.time() if now is None else now
        # A Mini App sends the same init data with every request: its signature is checked
        # once, its freshness every time.
        if (known := self._verified.get(init_data)) is not None:
            self._check_age(known[1], now)
            return known
        profile, auth_date = self._verify(init_data)
        self._check_age(auth_date, now)
        if len(self._verified) >= MAX_REMEMBERED:
            self._verified.clear()  # a crude bound: re-verifying costs one HMAC each
        self._verified[init_data] = (profile, auth_date)
        return profile, auth_date

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
        auth_date = self._check_signature(fields)
        return _profile(fields.get("user")), auth_date


class WidgetVerifier(SignedFields):
    """The Telegram Login Widget's fields (`id`, `first_name`, `last_name`, `username`,
    `photo_url`, `auth_date`, `hash`, and whatever Telegram adds: all are signed)."""

    error = InvalidLoginData
    what = "login data"

    def __init__(self, bot_token: str, max_age: int) -> None:
        super().__init__(hashlib.sha256(bot_token.encode()).digest(), max_age)

    def verify(self, fields: Mapping[str, str], now: float | None = None) -> TelegramProfile:
        auth_date = self._check_signature(fields)
        self._check_age(auth_date, time.time() if now is None else now)
        try:
            telegram_id = int(fields["id"])
        except (KeyError, ValueError):
            telegram_id = 0
        if not is_telegram_id(telegram_id):
            raise InvalidLoginData("login data has no valid id", field="id")

        def text(key: str) -> str | None:
            value = fields.get(key)
            return value[:256] if value else None

        return TelegramProfile(
            telegram_id=telegram_id,
            first_name=text("first_name"),
            last_name=text("last_name"),
            username=text("username"),
        )


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
    assert isinstance(user_id, int)

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
