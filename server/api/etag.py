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

from server.http.problems import Problem

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


# --- A task's version: `ETag` on single-task answers, `If-Match` on its writes ---------------
#
# A single task's tag is its stored `version` (`"7"`), not a hash: it is what a conditional
# write compares, and a page's items carry the same number (`version`) for a client that never
# fetched the task alone. Texts worked out per request (`when_text` "today" turning into
# "yesterday") are not part of it: the tag names the stored task, which is what a write can
# conflict with. Single-task answers are therefore not offered as `304`s.

IF_MATCH_MAX_LENGTH = 200  # a handful of tags; more is not a client of this API


def version_tag(version: int) -> str:
    return f'"{version}"'


def if_match(request: web.Request) -> frozenset[int] | None:
    """The versions `If-Match` names (RFC 9110 §13.1.1): None without the header or with `*`
    (any current task: the write is unconditional, as without the header); a 400 naming the
    header for anything that is not a list of this API's strong tags. A weak tag (`W/"7"`)
    never matches under If-Match's strong comparison, and a tag not of the form `"<number>"`
    never matches a task's: refused as a client mistake rather than answered with a 409 that
    a retry would repeat forever."""
    value = request.headers.get("If-Match")
    if value is None:
        return None
    value = value.strip()
    if value == "*":
        return None
    versions: set[int] = set()
    if len(value) <= IF_MATCH_MAX_LENGTH:
        for tag in value.split(","):
            tag = tag.strip()
            body = tag[1:-1] if len(tag) >= 2 and tag[0] == tag[-1] == '"' else ""
            if not (body.isascii() and body.isdigit() and len(body) <= 15):
                versions.clear()
                break
            versions.add(int(body))
    if not versions:
        message = 'If-Match takes the task\'s ETag (its version, e.g. "3"), a list of them, or *'
        raise Problem(
            400,
            f"Malformed If-Match: {message}",
            slug="malformed-if-match",
            errors=[{"field": "If-Match", "message": message, "type": "header"}],
        )
    return frozenset(versions)
