"""The calendar feed, export and import routes' entries in the route table (routes.py)."""

from __future__ import annotations

from server.api import data_handlers as h
from server.api.data_schemas import (
    ExportOut,
    FeedOut,
    FeedStatusOut,
    ImportFile,
    ImportOut,
    ImportQuery,
)
from server.http.endpoints import Endpoint

DATA_ENDPOINTS: list[Endpoint] = [
    Endpoint("POST", "/api/calendar/feed", h.enable_feed,
             "Turn the private calendar feed on, or rotate its secret URL (the old one stops "
             "working)", "data", responses={201: FeedOut}, errors=(403, 503)),
    Endpoint("GET", "/api/calendar/feed", h.feed_status, "Whether the calendar feed is on",
             "data", responses={200: FeedStatusOut}, errors=(403, 503)),
    Endpoint("DELETE", "/api/calendar/feed", h.disable_feed,
             "Turn the calendar feed off: its URL stops working", "data",
             responses={204: None}, errors=(403, 503)),
    Endpoint("GET", "/cal/{token}.ics", h.calendar,
             "The calendar feed (RFC 5545, text/calendar); the token in the URL is the only "
             "credential. ETag / If-None-Match: 304", "data",
             responses={200: None}, errors=(404, 429, 503),
             path_schemas={"token": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$"}}),
    Endpoint("GET", "/api/export", h.export,
             "Everything held about the caller as one JSON document (docs/export.schema.json)",
             "data", responses={200: ExportOut}, errors=(403, 503)),
    Endpoint("POST", "/api/import", h.import_data,
             "Import an export of this service or Todoist's CSV template (the file is the body)",
             "data", query=ImportQuery, request=ImportFile, responses={200: ImportOut},
             errors=(403, 413, 422, 503)),
]  # fmt: skip
