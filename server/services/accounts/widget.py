"""Browser sign-in with the Telegram Login Widget: its signed fields for a token pair."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from models import UsedLoginHash
from models.clock import utcnow
from server.services.accounts.auth import AuthService
from server.services.accounts.telegram_auth import CLOCK_SKEW, WidgetVerifier
from server.services.accounts.tokens import TokenPair
from server.services.accounts.users import Users
from server.services.common.errors import InvalidLoginData, NotConfigured
from server.services.common.throttle import Limit, RateLimiter


class WidgetSignIn:
    def __init__(
        self,
        auth: AuthService,
        users: Users,
        limiter: RateLimiter,
        per_address: Limit,
        verifier: WidgetVerifier | None,
        max_age: int = 300,
    ) -> None:
        self._auth = auth
        self._users = users
        self._limiter = limiter
        self._per_address = per_address
        self._verifier = verifier  # None without a bot token
        self._max_age = max_age  # the verifier's freshness window: how long a hash is kept

    async def sign_in(
        self, fields: Mapping[str, str], client: str, user_agent: str | None = None
    ) -> TokenPair:
        """Check the widget's signature and freshness, and that this payload was not used
        before; the Telegram user is created on first sight (like /start and the Mini App); a
        deactivated one is refused."""
        if self._verifier is None:
            raise NotConfigured("Telegram sign-in needs TELEGRAM_BOT_TOKEN on the server")
        await self._limiter.hit((self._per_address, client))
        profile = self._verifier.verify(fields)
        await self._spend(fields["hash"])
        user, _ = await self._users.ensure_telegram_user(profile)
        return await self._auth.open_session(user, user_agent=user_agent)

    async def _spend(self, payload_hash: str) -> None:
        """Remember a verified payload's hash until it is stale anyway; a second use is
        refused. The unique `_id`, not a lookup, decides between two racing uses."""
        key = hashlib.sha256(payload_hash.encode("utf-8", "surrogateescape")).hexdigest()
        keep = timedelta(seconds=self._max_age + 2 * CLOCK_SKEW)
        try:
            await UsedLoginHash.get_pymongo_collection().insert_one(
                {"_id": key, "expires_at": utcnow() + keep}
            )
        except DuplicateKeyError:
            raise InvalidLoginData("login data was already used; sign in again") from None
