"""Bodies of the calendar feed, export and import routes (server/api/data_handlers.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class FeedOut(BaseModel):
    url: str = Field(description="The secret feed URL: whoever has it can read the calendar")


class FeedStatusOut(BaseModel):
    enabled: bool
    created_at: str | None = Field(description="When the current URL was made (RFC 3339)")


class ImportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["export", "todoist"] = Field(
        default="export",
        description="export: this service's JSON export; todoist: Todoist's CSV template",
    )


class ImportOut(BaseModel):
    lists: int = Field(description="Lists created")
    tasks: int = Field(description="Tasks created")
    reminders: int = Field(description="Of those, tasks with a reminder planned")
    skipped: int = Field(description="Tasks an earlier import of the same items created")
    summary: str


class ExportOut(BaseModel):
    """The export document: see docs/export.schema.json for every field."""

    model_config = ConfigDict(extra="allow")

    schema_version: int


class ImportFile(BaseModel):
    """The body of a `format=export` import (described for OpenAPI; the importer reads the
    file itself: docs/import.md). A Todoist import's body is its CSV file instead."""

    model_config = ConfigDict(extra="allow")

    schema_version: Literal[1]
    lists: list[dict[str, Any]] = Field(default_factory=list)
    tasks: list[dict[str, Any]] = Field(default_factory=list)
