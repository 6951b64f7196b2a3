"""`ETag` / `If-None-Match` for the answers a client polls (GET /api/lists, GET /api/tasks):
an unchanged answer is a `304` without a body, so a Mini App keeping a shared list up to date
spends a few bytes per poll instead of the whole page.

The tag is a hash of the body the request would get (bodies are bounded: a page is at most
100 tasks), so it changes whenever anything shown changes, whoever changed it, in whichever
process; no version counters to keep in step. `private, no-cache`: a browser may keep it but
must ask each time (the answer depends on who asks)."""

from __future__ import annotations

import hashlib

from aiohttp import web

CACHE_CONTROL = "private, no-cache"


def tag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison, a list of tags, or `*`."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False


def with_etag(request: web.Request, response: web.Response) -> web.Response:
    """The response with its ETag, or a bodiless 304 when the client has it already."""
    body = response.body
    assert isinstance(body, bytes)  # JSON built in memory by the handlers
    tag = tag_of(body)
    if matches(request.headers.get("If-None-Match"), tag):
        return web.Response(status=304, headers={"ETag": tag, "Cache-Control": CACHE_CONTROL})
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
