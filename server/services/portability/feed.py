"""The private calendar feed: a secret URL per user (`/cal/<token>.ics`) that calendar apps
subscribe to, holding the user's open tasks that have a reminder or a due date.

The token is random and stored only as a SHA-256 hash; turning the feed on again rotates
it (the old URL stops working at once) and turning it off deletes it. A wrong, rotated or
revoked token all end the same way: one indexed lookup by the hash that finds nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId

from models import Task, User
from models.data_links import CalendarFeed
from server.services.common.mongo import eq
from server.services.common.throttle import Limit, RateLimiter
from server.services.portability import ical
from server.services.tasks.lists import Lists, display_name, preferred_language, user_key

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128  # longer path segments are not ours: refused before hashing
MAX_EVENTS = 10_000  # a feed holds at most this many events (the most recently created)
BATCH = 500  # tasks read and formatted per step (~5 ms of formatting: the loop stays free)
# Only what an event needs: no search terms (the largest field), no order key.
FIELDS = {"title": 1, "notes": 1, "list_id": 1, "due": 1, "remind_at": 1, "repeat": 1,
          "created_at": 1, "updated_at": 1, "version": 1}  # fmt: skip
CACHE_BYTES = 32 * 1024 * 1024  # built feeds kept per process (least recently used go)
FEED_LIMIT = Limit("cal-feed", 60, 3600)  # fetches per token per hour (clients poll hourly)


@dataclass(frozen=True, slots=True)
class Feed:
    body: bytes
    etag: str  # quoted, strong: a digest of the body
    events: int


def feed_url(base: str, token: str) -> str:
    """The subscription URL of a feed token under the service's public address (the one
    place `/cal/<token>.ics` is spelled, for the bot and the REST API alike)."""
    return f"{base.rstrip('/')}/cal/{token}.ics"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def zone_for(user: User | None) -> tuple[ZoneInfo, str]:
    name = user.timezone if user is not None and user.timezone else "UTC"
    try:
        return ZoneInfo(name), name
    except (ValueError, KeyError):
        return ZoneInfo("UTC"), "UTC"


def feed_event(doc: dict[str, Any], zone: ZoneInfo, categories: dict[str, str]) -> ical.FeedEvent:
    """How a task shows: with a repeat, the reminder is the event (it is what repeats);
    otherwise the event is at the due time, with an alarm at the reminder's; a due date alone
    at local midnight is an all-day event."""
    remind_at: datetime | None = doc.get("remind_at")
    due: datetime | None = doc.get("due")
    repeat = doc.get("repeat") if remind_at is not None else None
    alarm: timedelta | None
    if remind_at is not None and (repeat or due is None):
        start, alarm = remind_at, timedelta(0)
    else:
        assert due is not None
        start = due
        alarm = remind_at - due if remind_at is not None else None
    local = start.astimezone(zone)
    all_day = alarm is None and local.hour == local.minute == local.second == 0
    return ical.FeedEvent(
        uid=f"{doc['_id']}@todo-assistant",
        title=doc.get("title", ""),
        notes=doc.get("notes") or "",
        category=categories.get(str(doc.get("list_id"))),
        start=start,
        all_day=all_day,
        repeat=repeat,
        alarm=alarm,
        sequence=int(doc.get("version", 0)),
        created=doc["created_at"],
        modified=doc["updated_at"],
    )


class CalendarFeeds:
    def __init__(
        self, lists: Lists, limiter: RateLimiter, clock: Callable[[], float] = time.time
    ) -> None:
        self._lists = lists
        self._limiter = limiter
        self._clock = clock
        # Built feeds by user, checked against a fresh fingerprint on every fetch: a
        # calendar polling an unchanged feed costs one aggregation, not a rebuild.
        self._cache: OrderedDict[str, tuple[str, Feed]] = OrderedDict()
        self._cached_bytes = 0

    async def enable(self, user_id: PydanticObjectId) -> str:
        """Turn the feed on, or rotate its secret; returns the new token (shown once)."""
        uid = await self._lists.ensure_builtins(user_id)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        doc = {"_id": uid, "token_hash": token_hash(token), "created_ms": int(self._clock() * 1000)}
        # One write replaces the old hash: from here on the old URL finds nothing.
        await CalendarFeed.get_pymongo_collection().replace_one({"_id": uid}, doc, upsert=True)
        return token

    async def disable(self, user_id: PydanticObjectId) -> None:
        await CalendarFeed.get_pymongo_collection().delete_one({"_id": str(user_id)})

    async def status(self, user_id: PydanticObjectId) -> int | None:
        """When the current feed URL was made (epoch ms), or None when the feed is off."""
        doc = await CalendarFeed.get_pymongo_collection().find_one(
            {"_id": str(user_id)}, {"created_ms": 1}
        )
        return None if doc is None else int(doc.get("created_ms", 0))

    async def owner(self, token: str) -> str | None:
        """The user whose feed this token opens; None for any other token. Rate limited per
        token (TooManyAttempts), counted before the lookup so guessing costs the same."""
        digest = token_hash(token[:MAX_TOKEN_LENGTH])
        await self._limiter.hit((FEED_LIMIT, digest))
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        doc = await CalendarFeed.get_pymongo_collection().find_one(
            eq(token_hash=digest), {"token_hash": 1}
        )
        # The index found it by equality; the constant-time comparison is the rule for
        # secrets all the same.
        if doc is None or not hmac.compare_digest(str(doc["token_hash"]), digest):
            return None
        return str(doc["_id"])

    async def render(self, uid: str) -> Feed:
        """The user's feed: the one built last if nothing it shows has changed since; else
        built anew, tasks read BATCH at a time and each batch formatted in a worker thread,
        so neither 10,000 tasks nor a cold time zone holds the event loop."""
        user = await User.get_pymongo_collection().find_one(
            {"_id": PydanticObjectId(uid)}, {"timezone": 1, "language": 1, "language_code": 1}
        )
        user_doc = User.model_validate(user) if user is not None else None
        zone, tzid = zone_for(user_doc)
        lang = preferred_language(
            user_doc.language if user_doc else None, user_doc.language_code if user_doc else None
        )
        categories = {str(t.id): display_name(t, lang) for t in await self._lists.all(uid)}
        this_year = datetime.fromtimestamp(self._clock(), UTC).year
        fingerprint = await self._fingerprint(uid, [tzid, this_year, MAX_EVENTS, categories])
        cached = self._cache.get(uid)
        if cached is not None and cached[0] == fingerprint:
            self._cache.move_to_end(uid)
            return cached[1]
        feed = await self._build(uid, zone, tzid, categories, this_year)
        self._remember(uid, fingerprint, feed)
        return feed

    async def _fingerprint(self, uid: str, extra: list[Any]) -> str:
        """What the feed depends on, in one aggregation (~0.1-0.25 s over 10,000 tasks on the
        embedded server, against 2-4 s to read and format them all): how many open tasks,
        their newest change and the sum of their versions (every write bumps both), plus
        the user's zone, list names, the year. Equal fingerprints give equal feeds.
        Its `$match` is index-served; nx-27017 also counts the collection first (a walk of
        a covering index, ~65 us per 1,000 tasks of everyone's). A find of the same rows
        instead, hashed here, measured 0.7-0.8 s for 10,000 tasks against 15 ms for this
        (docs/query-sites.md): the aggregation stays."""
        pipeline: list[dict[str, Any]] = [
            {"$match": eq(user_id=user_key(uid), done=False)},
            {"$group": {"_id": None, "n": {"$sum": 1}, "last": {"$max": "$updated_at"},
                        "versions": {"$sum": "$version"}}},
        ]  # fmt: skip
        rows = await (await Task.get_pymongo_collection().aggregate(pipeline)).to_list()
        row = rows[0] if rows else {}
        facts = [row.get("n", 0), str(row.get("last")), row.get("versions", 0), *extra]
        return hashlib.sha256(repr(facts).encode()).hexdigest()

    def _remember(self, uid: str, fingerprint: str, feed: Feed) -> None:
        previous = self._cache.pop(uid, None)
        if previous is not None:
            self._cached_bytes -= len(previous[1].body)
        self._cache[uid] = (fingerprint, feed)
        self._cached_bytes += len(feed.body)
        while self._cached_bytes > CACHE_BYTES and self._cache:
            _, (_, dropped) = self._cache.popitem(last=False)  # the least recently used
            self._cached_bytes -= len(dropped.body)

    async def _build(
        self, uid: str, zone: ZoneInfo, tzid: str, categories: dict[str, str], this_year: int
    ) -> Feed:
        events: list[str] = []
        years: list[int] = []
        cursor = (
            Task.get_pymongo_collection()
            .find(eq(user_id=user_key(uid), done=False), FIELDS)
            .sort("order_key", -1)
            .batch_size(BATCH)
        )
        batch: list[dict[str, Any]] = []
        async for doc in cursor:
            if doc.get("remind_at") is None and doc.get("due") is None:
                continue
            batch.append(doc)
            if len(batch) == BATCH:
                await self._format(batch, zone, tzid, categories, events, years)
                batch = []
            if len(events) + len(batch) >= MAX_EVENTS:
                break
        if batch:
            await self._format(batch, zone, tzid, categories, events, years)
        first = min([*years, this_year]) - 1
        last = max([*years, this_year]) + 1

        def assemble() -> Feed:
            # Joining, encoding and hashing megabytes: off the loop as well.
            timezone = ical.vtimezone(tzid, first, last)
            body = "".join([ical.calendar_head("Tasks"), timezone, *events, ical.CALENDAR_TAIL])
            data = body.encode()
            etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
            return Feed(body=data, etag=etag, events=len(events))

        return await asyncio.to_thread(assemble)

    @staticmethod
    async def _format(
        batch: list[dict[str, Any]],
        zone: ZoneInfo,
        tzid: str,
        categories: dict[str, str],
        out: list[str],
        years: list[int],
    ) -> None:
        def work() -> tuple[list[str], list[int]]:
            items = [feed_event(doc, zone, categories) for doc in batch]
            return (
                [ical.event(item, zone, tzid) for item in items],
                [item.start.astimezone(zone).year for item in items],
            )

        texts, starts = await asyncio.to_thread(work)
        out += texts
        years.append(min(starts))
        years.append(max(starts))


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match (RFC 9110 §13.1.2): a list of tags, weak ones compared weakly, or *."""
    if not header:
        return False
    for raw in header.split(","):
        candidate = raw.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False
