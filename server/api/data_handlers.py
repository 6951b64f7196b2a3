"""The calendar feed, "download my data" and import: read the request, call the data
services, shape the answer."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from server.api.body import read_query
from server.api.data_schemas import FeedOut, FeedStatusOut, ImportOut, ImportQuery
from server.api.responses import json_response
from server.auth.principal import protected, require_user
from server.http.problems import Problem
from server.keys import SERVICES, SETTINGS
from server.services.portability.feed import etag_matches, feed_url
from server.services.portability.importer import ImportRejected

# What the body guard lets through for the import before the handler's own, configured
# limit (IMPORT_MAX_BYTES, at most this) decides.
IMPORT_CEILING = 64 * 1024 * 1024
READ_CHUNK = 64 * 1024


def public_feed_url(request: web.Request, token: str) -> str:
    public = request.app[SETTINGS].public_url
    return feed_url(str(public) if public is not None else str(request.url.origin()), token)


@protected
async def enable_feed(request: web.Request) -> web.Response:
    user_id = require_user(request)
    token = await request.app[SERVICES].feeds.enable(user_id)
    return json_response(FeedOut(url=public_feed_url(request, token)), 201, no_store=True)


@protected
async def feed_status(request: web.Request) -> web.Response:
    user_id = require_user(request)
    created_ms = await request.app[SERVICES].feeds.status(user_id)
    created = (
        None
        if created_ms is None
        else datetime.fromtimestamp(created_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
    )
    return json_response(FeedStatusOut(enabled=created_ms is not None, created_at=created))


@protected
async def disable_feed(request: web.Request) -> web.Response:
    user_id = require_user(request)
    await request.app[SERVICES].feeds.disable(user_id)
    return web.Response(status=204)


async def calendar(request: web.Request) -> web.Response:
    """No credentials but the token in the URL (not @protected: the auth middleware lets it
    through). Any token that opens no feed is the same plain 404."""
    feeds = request.app[SERVICES].feeds
    uid = await feeds.owner(request.match_info["token"])
    if uid is None:
        raise Problem(404, "Not found", slug="not-found")
    feed = await feeds.render(uid)
    # private: the URL is a secret; shared caches must not keep it.
    headers = {"ETag": feed.etag, "Cache-Control": "private, max-age=300"}
    if etag_matches(request.headers.get("If-None-Match"), feed.etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=feed.body, content_type="text/calendar", charset="utf-8",
                        headers=headers)  # fmt: skip


@protected
async def export(request: web.Request) -> web.StreamResponse:
    user_id = require_user(request)
    chunks = request.app[SERVICES].exporter.chunks(user_id)
    first = await anext(chunks)  # an unknown user fails here, still as a problem document
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Content-Disposition": f'attachment; filename="tasks-export-{day}.json"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


@protected
async def import_data(request: web.Request) -> web.Response:
    user_id = require_user(request)
    query = read_query(request, ImportQuery)
    limit = request.app[SETTINGS].import_max_bytes
    too_large = Problem(413, f"The file must be at most {limit} bytes", slug="too-large")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    parts: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)
    if not size:
        error = {"field": "body", "message": "Empty", "type": "missing"}
        raise Problem(422, "The body is empty: send the file as the body",
                      slug="validation-error", errors=[error])  # fmt: skip
    try:
        report = await request.app[SERVICES].importer.run(user_id, query.format, b"".join(parts))
    except ImportRejected as exc:
        found: dict[str, object] = {"field": exc.field, "message": str(exc), "type": "invalid"}
        where = f"row {exc.row}, " if exc.row is not None else ""
        if exc.row is not None:
            found["row"] = exc.row
        raise Problem(422, f"Invalid {where}field {exc.field}: {exc}", slug="validation-error",
                      errors=[found]) from None  # fmt: skip
    return json_response(
        ImportOut(lists=report.lists, tasks=report.tasks, reminders=report.reminders,
                  skipped=report.skipped, summary=report.summary()),
    )  # fmt: skip


import_data.__max_body_bytes__ = IMPORT_CEILING  # type: ignore[attr-defined]
