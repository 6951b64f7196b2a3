"""Request and response bodies. The handlers validate with these and OpenAPI is built from
them, so the documentation cannot drift from the behaviour."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from models import User
from server.services.accounts.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from server.services.accounts.telegram_auth import MAX_INIT_DATA_LENGTH
from server.services.accounts.tokens import TokenPair
from server.services.accounts.users import (
    USERNAME_MAX_LENGTH,
    USERNAME_MIN_LENGTH,
    USERNAME_PATTERN,
)

Username = Annotated[
    str,
    StringConstraints(
        min_length=USERNAME_MIN_LENGTH, max_length=USERNAME_MAX_LENGTH, pattern=USERNAME_PATTERN
    ),
]
NewPassword = Annotated[
    str, StringConstraints(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
]
# Login does not re-apply today's password policy: an older, shorter password still logs in.
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX_LENGTH)]
RefreshTokenStr = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RegisterRequest(Strict):
    username: Username
    password: NewPassword


class LoginRequest(Strict):
    username: Username
    password: AnyPassword


class LoginForm(LoginRequest):
    """OAuth2 password grant (RFC 6749 §4.3) as sent by OAuth2 clients and Swagger UI."""

    model_config = ConfigDict(extra="forbid", strict=False)
    # Optional, not nullable: a form cannot carry null.
    grant_type: Literal["password"] | SkipJsonSchema[None] = None
    scope: Annotated[str, StringConstraints(max_length=1024)] | SkipJsonSchema[None] = None
    client_id: Annotated[str, StringConstraints(max_length=256)] | SkipJsonSchema[None] = None
    client_secret: Annotated[str, StringConstraints(max_length=256)] | SkipJsonSchema[None] = None


class RefreshRequest(Strict):
    refresh_token: RefreshTokenStr


class TelegramAuthRequest(Strict):
    init_data: Annotated[str, StringConstraints(min_length=1, max_length=MAX_INIT_DATA_LENGTH)] = (
        Field(description="Telegram.WebApp.initData, exactly as the Mini App received it")
    )


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int = Field(description="Lifetime of the access token, in seconds")

    @classmethod
    def of(cls, pair: TokenPair) -> TokenPairOut:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.expires_in,
        )


class UserOut(BaseModel):
    kind: Literal["user"] = "user"
    id: str
    username: str | None
    telegram_id: int | None
    telegram_username: str | None
    first_name: str | None
    last_name: str | None
    language_code: str | None
    has_password: bool
    timezone: str | None
    language: Literal["en", "ru"] | None
    role: Literal["user", "admin"]
    notify_changes: bool = Field(
        description="Bot messages about other members' changes in shared lists (off by default)"
    )
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=str(user.id),
            username=user.username,
            telegram_id=user.telegram_id,
            telegram_username=user.telegram_username,
            first_name=user.first_name,
            last_name=user.last_name,
            language_code=user.language_code,
            has_password=user.has_password,
            timezone=user.timezone,
            language=user.language,
            role=user.role,
            notify_changes=bool(user.notify_changes),
            created_at=user.created_at,
        )


class BotOut(BaseModel):
    """A trusted bot client acting as itself (no X-Telegram-User-Id)."""

    kind: Literal["bot"] = "bot"
    name: str = Field(description="Fingerprint of the bot's service token, not the token")


class MeOut(RootModel[Annotated[UserOut | BotOut, Field(discriminator="kind")]]):
    pass


class RegisterOut(TokenPairOut):
    user: UserOut


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class ProblemOut(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    request_id: str | None = None  # the X-Request-Id of the request, as in its log lines
