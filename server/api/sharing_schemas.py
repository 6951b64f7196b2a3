"""Bodies of the shared-list routes (DESIGN.md, "Shared lists"). The services check the
values again (they also serve the bot)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from server.api.schemas import Strict
from server.services.sharing.service import InvitePreview, InviteView, MemberView

MemberRoleIn = Literal["editor", "viewer"]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class InviteIn(Strict):
    role: MemberRoleIn
    expires_in: Annotated[int, Field(ge=60, description="Seconds; default 7 days")] | None = None


class InviteOut(BaseModel):
    code: str
    role: MemberRoleIn
    expires_at: datetime
    telegram_url: str | None = Field(description="t.me/<bot>?start=join_<code>; null: no bot")
    web_url: str | None = Field(description="<PUBLIC_URL>/app/#join=<code>; null: no PUBLIC_URL")

    @classmethod
    def of(cls, view: InviteView) -> InviteOut:
        return cls(
            code=view.code, role=view.role, expires_at=view.expires_at,
            telegram_url=view.telegram_url, web_url=view.web_url,
        )  # fmt: skip


class InvitesOut(BaseModel):
    items: list[InviteOut]


class InvitePreviewOut(BaseModel):
    list_id: str
    list_name: str
    owner_name: str
    role: MemberRoleIn
    expires_at: datetime

    @classmethod
    def of(cls, view: InvitePreview) -> InvitePreviewOut:
        return cls(
            list_id=view.list_id, list_name=view.list_name, owner_name=view.owner_name,
            role=view.role, expires_at=view.expires_at,
        )  # fmt: skip


class MemberOut(BaseModel):
    user_id: str
    name: str
    role: Literal["owner", "editor", "viewer"]
    joined_at: datetime
    owner: bool

    @classmethod
    def of(cls, view: MemberView) -> MemberOut:
        return cls(
            user_id=view.user_id, name=view.name, role=view.role, joined_at=view.joined_at,
            owner=view.owner,
        )  # fmt: skip


class MembersOut(BaseModel):
    items: list[MemberOut]


class RoleIn(Strict):
    role: MemberRoleIn


class OwnerIn(Strict):
    user_id: UserId
