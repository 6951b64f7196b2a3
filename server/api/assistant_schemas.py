"""Bodies of PATCH /api/auth/me and POST /api/tasks/parse."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from server.api.schemas import Strict, Username
from server.services.dates.zones import is_zone

MAX_PARSE_TEXT = 1000


def _iana(name: str) -> str:
    if not is_zone(name):
        raise ValueError("not an IANA time zone, e.g. Europe/Berlin")
    return name


TimeZoneName = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(_iana),
    Field(description="An IANA time zone name, e.g. Europe/Berlin", examples=["Europe/Berlin"]),
]  # fmt: skip


class MePatch(Strict):
    """Only the fields sent change; `null` clears the time zone or the language."""

    # Optional, not nullable: every account keeps a username once it has one.
    username: Username | SkipJsonSchema[None] = None
    timezone: TimeZoneName | None = None
    language: Literal["en", "ru"] | None = None
    notify_changes: bool | SkipJsonSchema[None] = Field(
        default=None,
        description="Bot messages about other members' changes in your shared lists "
        "(batched: a burst is one message). Off by default",
    )


class ParseRequest(Strict):
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PARSE_TEXT)]
    timezone: TimeZoneName | SkipJsonSchema[None] = Field(
        default=None, description="Read the text in this zone (default: the user's, else UTC)"
    )


class ReadingOut(BaseModel):
    """One reading of the text: exactly the fields saving it stores (docs/capture.md)."""

    remind_at: datetime
    due: datetime | None = Field(description="null for a repeat: its reminder moves on")
    repeat: str | None
    when_text: str | None = None
    repeat_text: str | None = None


class ClarifyOut(BaseModel):
    reason: Literal["ambiguous-time", "ambiguous-day", "ambiguous-date", "in-the-past", "conflict"]
    options: list[datetime] = Field(description="The readings to choose from (may be empty)")
    readings: list[ReadingOut] = Field(
        default_factory=list,
        description="The same readings in the same order, each with the fields to save "
        "(remind_at, due, repeat) and its words: save the chosen one as it is.",
    )
    repeats: list[str] = Field(
        default_factory=list,
        description="With a repeat: the RRULE each option stands for, in the same order (the "
        "rule carries the time of day); save the chosen option's rule as `repeat`. Empty "
        "without a repeat.",
    )
    options_text: list[str] = Field(
        default_factory=list,
        description='Each option as people say it, in the same order: "today 7 PM"',
    )
    repeats_text: list[str] = Field(
        default_factory=list,
        description="Each option's repeat in words, in the same order; empty without a repeat",
    )


class ParseOut(BaseModel):
    title: str = Field(description="The text without the time phrase and the 'remind me' words")
    remind_at: datetime | None = Field(description="When to remind (the first occurrence)")
    repeat: str | None = Field(description="An RFC 5545 RRULE on the user's wall clock")
    due: datetime | None = Field(
        description="The due time saving stores: remind_at for a one-off, null for a repeat"
    )
    timezone: str = Field(description="The zone the text was read in")
    phrase: str | None = Field(description="The words understood as the time")
    clarify: ClarifyOut | None = Field(
        description="Set instead of remind_at when the text is ambiguous or in the past"
    )
    when_text: str | None = Field(
        default=None,
        description='remind_at as people say it, in the user\'s language: "tomorrow 9 AM"',
    )
    repeat_text: str | None = Field(
        default=None, description='The repeat in words, in the user\'s language: "every day"'
    )
