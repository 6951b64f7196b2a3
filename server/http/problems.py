"""RFC 9457 problem documents: the only shape an error response has."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web

from server.http.jsonio import json_response
from server.observability.request_context import current_request_id

PROBLEM_CONTENT_TYPE = "application/problem+json"


class Problem(Exception):
    """Raise from a handler to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title or HTTPStatus(status).phrase
        self.errors = errors
        self.headers = dict(headers or {})
        # RFC 9457 extension members (e.g. a 409's "current": what the conflict is with).
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": f"urn:problem:{self.slug}" if self.slug else "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            document["errors"] = self.errors
        document.update(self.extra)
        if (request_id := current_request_id()) is not None:  # to find the request's log lines
            document["request_id"] = request_id
        return document

    def response(self) -> web.Response:
        response = json_response(self.body(), status=self.status, content_type=PROBLEM_CONTENT_TYPE)
        response.headers.update(self.headers)
        return response
