"""Where search runs. The tasks service asks a SearchBackend; this one narrows in MongoDB
(postings: per user and term, the tasks holding it, in a few documents per user) and ranks
with rapidfuzz. A deployment
with a search engine (MeiliSearch, Typesense, Atlas Search) implements the same protocol:
`index`/`unindex`/`reindex_user` keep the engine in step after every write, `search` asks it
for ids (filtered by user!) and loads those tasks from MongoDB; `terms` returns [] so the
documents carry no terms."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import Counter
from typing import Any, Protocol

from bson import ObjectId
from pymongo import UpdateOne

from models import SearchPosting, Task
from server.services.common.mongo import eq
from server.services.tasks import search
from server.services.tasks.search import Query
from server.services.tasks.views import VIEW_FIELDS, TaskView

log = logging.getLogger(__name__)

# The most tasks fetched to rank for one query, those sharing the most terms with it first:
# fetching and ranking stay bounded whatever the user has.
CANDIDATES = 200
# Of those, looked up before the list and done filters apply (postings know neither).
LOOKED_UP = 2 * CANDIDATES
RANK_ON_LOOP = 20  # candidates ranked on the event loop itself (well under a millisecond)
# Postings documents per user: a term's postings are field `field(term)` of document
# "<user id>:<bucket>" (bucket = a stable hash of the term). A few documents per user, not
# one per term (about 500 per 100 tasks): the embedded server writes ~2,000 documents a
# second, and every document costs its index entries.
BUCKETS = 16
BACKFILLED = "~backfilled-v2"  # a posting `_id` no user's bucket can have: the backfill ran
BATCH = 500
# Large fields the search never needs back (the terms array is the largest).
NO_TERMS = {"terms": 0}
RANK_FIELDS = {"title": 1, "notes": 1, "order_key": 1}


class SearchBackend(Protocol):
    def terms(self, title: str, notes: str) -> list[str]:
        """What to store on the task document for this backend's queries."""

    async def index(self, task: Task, previous: list[str]) -> None:
        """The task was created or changed; `previous`: the terms it had before ([] when
        created)."""

    async def unindex(self, task_id: str) -> None:
        """The task was deleted."""

    async def reindex_user(self, user_id: str) -> None:
        """Many of the user's tasks changed at once (an account merge, an erase)."""

    async def backfill(self) -> None:
        """Once at start: index what was written before this backend indexed it."""

    async def search(
        self, user_id: str, text: str, *, list_id: str | None, done: bool | None, limit: int
    ) -> list[TaskView]:
        """The user's tasks matching `text`, best first, at most `limit`."""


def bucket_key(user_id: str, term: str) -> str:
    """The `_id` of the postings document holding this user's term."""
    return f"{user_id}:{zlib.crc32(term.encode()) % BUCKETS}"


def field(term: str) -> str:
    """The term's field: "~" and its UTF-8 in hex. ASCII, because nx-27017's `$push` onto an
    existing array whose field name is not ASCII replaces the array (measured: "~мол" kept
    only the last task pushed); the prefix, because a name must not start with "$" or be
    digits alone."""
    return "~" + term.encode().hex()


class MongoSearch:
    """Candidates from postings, ranked with rapidfuzz. A task's terms (search.index_terms)
    are stored on it (what its postings are, for the next change); the postings of a user's
    term are the task ids in field `field(term)` of the user's postings document for that term's
    bucket (`bucket_key`). A query reads the few documents of its terms by `_id` (a look-up
    on MongoDB and on the embedded server, where a condition on the task's `terms` array
    scans every user's tasks), counts how many of its terms each task holds, and fetches its
    best candidates by `_id`. So a search costs what the user's own tasks cost.

    Writes: `$push` of the terms a task gained, `$pull` of those it lost (the embedded server
    ignores `$addToSet` on a field the document lacks; a duplicate from a retried write is
    harmless, ids are counted once). A deleted task's id is dropped by the first search that
    meets it (not found among the user's tasks)."""

    def __init__(self) -> None:
        self.ready = False  # postings cover every task (else: the slower terms query)

    def terms(self, title: str, notes: str) -> list[str]:
        return search.index_terms(title, notes)

    async def index(self, task: Task, previous: list[str]) -> None:
        if task.id is None:
            return
        now, before = set(task.terms), set(previous)
        task_id = str(task.id)
        await self._write(task.user_id, {term: [task_id] for term in now - before},
                          {term: [task_id] for term in before - now})  # fmt: skip

    async def unindex(self, task_id: str) -> None:
        return None  # dropped from its postings by the next search that meets it

    async def reindex_user(self, user_id: str) -> None:
        """Rebuild the user's postings from their tasks (after an account merge moved tasks
        in): bounded by the user's own tasks."""
        postings = SearchPosting.get_pymongo_collection()
        await postings.delete_many({"_id": {"$in": [f"{user_id}:{b}" for b in range(BUCKETS)]}})
        added: dict[str, list[str]] = {}
        cursor = Task.get_pymongo_collection().find(eq(user_id=user_id), {"terms": 1})
        async for doc in cursor:
            for term in doc.get("terms") or []:
                added.setdefault(term, []).append(str(doc["_id"]))
        await self._write(user_id, added, {})

    async def backfill(self) -> None:
        """Postings for tasks written before postings existed: once, at the first start after
        the upgrade (in the background; searches use the terms query until it is done)."""
        postings = SearchPosting.get_pymongo_collection()
        if await postings.find_one({"_id": BACKFILLED}) is None:
            by_user: dict[str, dict[str, list[str]]] = {}
            seen = 0
            cursor = Task.get_pymongo_collection().find({}, {"user_id": 1, "terms": 1})
            async for doc in cursor:
                terms = by_user.setdefault(doc["user_id"], {})
                for term in doc.get("terms") or []:
                    terms.setdefault(term, []).append(str(doc["_id"]))
                seen += 1
                if seen % BATCH == 0:
                    for user_id, added in by_user.items():
                        await self._write(user_id, added, {})
                    by_user = {}
            for user_id, added in by_user.items():
                await self._write(user_id, added, {})
            await postings.update_one({"_id": BACKFILLED}, {"$set": {"at": 1}}, upsert=True)
            log.info("search postings built for the existing tasks")
        self.ready = True

    async def _write(
        self, user_id: str, added: dict[str, list[str]], removed: dict[str, list[str]]
    ) -> None:
        """One update per postings document touched, in one round trip."""
        pushes: dict[str, dict[str, Any]] = {}
        pulls: dict[str, dict[str, Any]] = {}
        for term, ids in added.items():
            pushes.setdefault(bucket_key(user_id, term), {})[field(term)] = {"$each": ids}
        for term, ids in removed.items():
            pulls.setdefault(bucket_key(user_id, term), {})[field(term)] = {"$in": ids}
        updates = [UpdateOne({"_id": key}, {"$push": fields}, upsert=True)
                   for key, fields in pushes.items()]  # fmt: skip
        updates += [UpdateOne({"_id": key}, {"$pull": fields}) for key, fields in pulls.items()]
        if updates:
            await SearchPosting.get_pymongo_collection().bulk_write(updates, ordered=False)

    async def search(
        self, user_id: str, text: str, *, list_id: str | None, done: bool | None, limit: int
    ) -> list[TaskView]:
        query = search.prepare(text)
        if query.empty:
            return []
        base = eq(user_id=user_id)
        if list_id is not None:
            base |= eq(list_id=list_id)
        if done is not None:
            base |= eq(done=done)
        if self.ready:
            candidates = await self._from_postings(user_id, query, base)
        else:
            candidates = await self._from_terms(query, base)
        # Newest first, so that the (stable) ranking keeps the newest of equal scores first.
        candidates.sort(key=lambda doc: doc.get("order_key", ""), reverse=True)
        ranked = await _rank(query, candidates)
        best = [doc["_id"] for doc in ranked[:limit]]
        if not best:
            return []
        found = Task.get_pymongo_collection().find({"_id": {"$in": best}, **eq(user_id=user_id)},
                                                   VIEW_FIELDS)  # fmt: skip
        by_id = {doc["_id"]: doc async for doc in found}
        return [TaskView.of(by_id[task_id]) for task_id in best if task_id in by_id]

    async def _from_postings(
        self, user_id: str, query: Query, base: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The tasks sharing the most terms with the query (those having them all first)."""
        postings = await self._postings(user_id, query.terms)
        shared: Counter[str] = Counter()
        for ids in postings.values():
            shared.update(set(ids))
        wanted = [task_id for task_id, _ in shared.most_common(LOOKED_UP)]
        if not wanted:
            return []
        oids = [ObjectId(task_id) for task_id in wanted if ObjectId.is_valid(task_id)]
        cursor = Task.get_pymongo_collection().find({"_id": {"$in": oids}, **base}, RANK_FIELDS)
        docs = {str(doc["_id"]): doc async for doc in cursor}
        if set(base) == {"user_id"}:  # only the user filter: an id not found is surely stale
            gone = {task_id for task_id in wanted if task_id not in docs}
            await self._write(user_id, {}, {
                term: sorted(gone & set(ids)) for term, ids in postings.items() if gone & set(ids)
            })  # fmt: skip
        return [docs[task_id] for task_id in wanted if task_id in docs][:CANDIDATES]

    async def _postings(self, user_id: str, terms: tuple[str, ...]) -> dict[str, list[str]]:
        """term -> task ids, read from the few documents holding the query's terms (only
        those fields)."""
        keys = sorted({bucket_key(user_id, term) for term in terms})
        cursor = SearchPosting.get_pymongo_collection().find(
            {"_id": {"$in": keys}}, {field(term): 1 for term in terms}
        )
        found: dict[str, list[str]] = {}
        async for doc in cursor:
            for term in terms:
                ids = doc.get(field(term))
                if isinstance(ids, list):
                    found[term] = [str(task_id) for task_id in ids]
        return found

    async def _from_terms(self, query: Query, base: dict[str, Any]) -> list[dict[str, Any]]:
        """Before the postings are built: the task's own `terms` (a scan on the embedded
        server; MongoDB's multikey index serves it)."""
        candidates = await self._candidates({**base, "terms": {"$in": list(query.terms)}})
        if len(candidates) >= CANDIDATES and len(query.terms) > 1:
            # Saturated: more tasks share some term than fit. Those having every term (exact
            # and prefix matches) must not be among the ones cut off.
            exact = await self._candidates({**base, "terms": {"$all": list(query.terms)}})
            seen = {doc["_id"] for doc in exact}
            candidates = exact + [doc for doc in candidates if doc["_id"] not in seen]
        return candidates

    async def _candidates(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        cursor = Task.get_pymongo_collection().find(query, RANK_FIELDS).limit(CANDIDATES)
        return [doc async for doc in cursor]


async def _rank(query: Query, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ranking is bounded (search.py's caps: ~30 ms of CPU for 200 candidates with hostile
    notes); beyond a few candidates it runs on a thread, so the event loop keeps turning
    (the GIL is handed back every few milliseconds) instead of waiting it out."""

    def text(doc: dict[str, Any]) -> tuple[str, str]:
        return doc.get("title", ""), doc.get("notes", "")

    if len(candidates) <= RANK_ON_LOOP:
        return search.rank(query, candidates, text)
    return await asyncio.to_thread(search.rank, query, candidates, text)
