"""Builds the services once at start-up from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from server.services.auth import AuthLimits, AuthService
from server.services.passwords import Passwords
from server.services.telegram_auth import InitDataVerifier
from server.services.throttle import Limit
from server.services.tokens import AccessTokens
from server.services.users import TelegramUsers


@dataclass(frozen=True, slots=True)
class Services:
    passwords: Passwords
    access: AccessTokens
    auth: AuthService
    telegram_users: TelegramUsers

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        passwords = Passwords(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
            workers=settings.hash_workers,
        )
        access = AccessTokens(
            key=settings.jwt_key,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl=settings.access_token_ttl,
            previous_keys=tuple(
                s.get_secret_value().encode() for s in settings.jwt_previous_secrets
            ),
        )
        init_data = (
            InitDataVerifier(
                settings.telegram_bot_token.get_secret_value(), settings.init_data_max_age
            )
            if settings.telegram_bot_token is not None
            else None
        )
        limits = AuthLimits(
            login_per_username_and_address=Limit(
                "login-user-addr",
                settings.login_max_failures_per_username_and_address,
                settings.login_window,
            ),
            login_per_username=Limit(
                "login-user", settings.login_max_failures_per_username, settings.login_window
            ),
            login_per_address=Limit(
                "login-addr", settings.login_max_failures_per_address, settings.login_window
            ),
            register_per_address=Limit(
                "register-addr", settings.register_max_per_address, settings.register_window
            ),
            telegram_per_address=Limit(
                "telegram-addr",
                settings.telegram_sign_in_max_per_address,
                settings.telegram_sign_in_window,
            ),
        )
        telegram_users = TelegramUsers()
        auth = AuthService(
            passwords,
            access,
            refresh_ttl=settings.refresh_token_ttl,
            limits=limits,
            telegram_users=telegram_users,
            init_data=init_data,
        )
        return cls(passwords=passwords, access=access, auth=auth, telegram_users=telegram_users)

    def close(self) -> None:
        self.passwords.close()
