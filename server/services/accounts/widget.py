"""Browser sign-in with the Telegram Login Widget: its signed fields for a token pair."""

from __future__ import annotations

from collections.abc import Mapping

from server.services.accounts.auth import AuthService
from server.services.accounts.telegram_auth import WidgetVerifier
from server.services.accounts.tokens import TokenPair
from server.services.accounts.users import Users
from server.services.common.errors import NotConfigured
from server.services.common.throttle import Limit, RateLimiter


class WidgetSignIn:
    def __init__(
        self,
        auth: AuthService,
        users: Users,
        limiter: RateLimiter,
        per_address: Limit,
        verifier: WidgetVerifier | None,
    ) -> None:
        self._auth = auth
        self._users = users
        self._limiter = limiter
        self._per_address = per_address
        self._verifier = verifier  # None without a bot token

    async def sign_in(
        self, fields: Mapping[str, str], client: str, user_agent: str | None = None
    ) -> TokenPair:
        """Check the widget's signature and freshness; the Telegram user is created on first
        sight (like /start and the Mini App); a deactivated one is refused."""
        if self._verifier is None:
            raise NotConfigured("Telegram sign-in needs TELEGRAM_BOT_TOKEN on the server")
        await self._limiter.hit((self._per_address, client))
        profile = self._verifier.verify(fields)
        user, _ = await self._users.ensure_telegram_user(profile)
        return await self._auth.open_session(user, user_agent=user_agent)
