"""Request and response bodies of the account routes (sessions, passwords, linking, the
Login Widget, deletion, admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from models import User
from server.api.schemas import AnyPassword, NewPassword, Strict, Username, UserOut
from server.services.accounts.admin import MAX_QUERY_LENGTH
from server.services.accounts.sessions import SessionInfo

Text = Annotated[str, StringConstraints(max_length=1024)]


# Mini App init data as a confirmation (accounts without a password): at most 4096 bytes.
InitDataText = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
INIT_DATA_HELP = (
    "For an account without a password: Telegram init data signed in the last few minutes "
    "(FRESH_CONFIRMATION_MAX_AGE); a `tma` request's own init data counts, and so does the "
    "trusted bot acting for the user"
)


class SetPasswordRequest(Strict):
    current_password: AnyPassword | None = Field(
        default=None, description="Required when the account already has a password"
    )
    new_password: NewPassword
    init_data: InitDataText | None = Field(default=None, description=INIT_DATA_HELP)


class DeleteMeRequest(Strict):
    password: AnyPassword | None = Field(
        default=None, description="Required when the account has a password"
    )
    init_data: InitDataText | None = Field(default=None, description=INIT_DATA_HELP)


class ForgotPasswordRequest(Strict):
    username: Username


class ResetPasswordRequest(Strict):
    username: Username
    code: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="The code the bot sent"
    )
    new_password: NewPassword


class WidgetRequest(BaseModel):
    """The fields the Telegram Login Widget hands to its `data-onauth` callback, as they are.
    Fields beyond these are accepted (Telegram signs every field it sends)."""

    model_config = ConfigDict(extra="allow", strict=True)
    __pydantic_extra__: dict[str, Annotated[str, StringConstraints(max_length=1024)] | int]

    id: int
    first_name: Text | SkipJsonSchema[None] = None
    last_name: Text | SkipJsonSchema[None] = None
    username: Text | SkipJsonSchema[None] = None
    photo_url: Text | SkipJsonSchema[None] = None
    auth_date: int
    hash: Annotated[str, StringConstraints(min_length=1, max_length=128)]

    def signed_fields(self) -> dict[str, str]:
        """The fields as Telegram signed them: every one as a string (numbers in decimal)."""
        fields = {**self.model_dump(exclude_none=True), **(self.__pydantic_extra__ or {})}
        return {key: str(value) for key, value in fields.items()}


class AcceptedOut(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str = (
        "If the account exists and has Telegram, the bot sent a code there; it works once, "
        "for 10 minutes"
    )


class SessionOut(BaseModel):
    id: str
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    current: bool = Field(description="The session of the access token making this request")

    @classmethod
    def of(cls, info: SessionInfo) -> SessionOut:
        return cls(
            id=info.id,
            created_at=info.created_at,
            last_used_at=info.last_used_at,
            user_agent=info.user_agent,
            current=info.current,
        )


class SessionsOut(BaseModel):
    items: list[SessionOut]


class LinkOut(BaseModel):
    url: str = Field(description="https://t.me/<bot>?start=link_<code>: open it in Telegram")
    expires_in: int = Field(description="Seconds the link works (once)")


class AdminUsersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")  # lax: query values are strings

    q: Annotated[str, StringConstraints(max_length=MAX_QUERY_LENGTH)] | SkipJsonSchema[None] = None
    cursor: Annotated[str, StringConstraints(max_length=64)] | SkipJsonSchema[None] = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class AdminUserOut(UserOut):
    active: bool

    @classmethod
    def of(cls, user: User) -> AdminUserOut:
        return cls(**UserOut.of(user).model_dump(), active=user.active)


class AdminUsersOut(BaseModel):
    items: list[AdminUserOut]
    next_cursor: str | None
