"""Where search runs. The tasks service asks a SearchBackend; this one narrows in MongoDB
(postings: per user and term, the tasks holding it) and ranks with rapidfuzz. A deployment
with a search engine (MeiliSearch, Typesense, Atlas Search) implements the same protocol:
`index`/`unindex`/`reindex_user` keep the engine in step after every write, `search` asks it
for ids (filtered by user!) and loads those tasks from MongoDB; `terms` returns [] so the
documents carry no terms."""

from __future__ import annotations

import asyncio
import logging
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
BACKFILLED = "~backfilled-v1"  # a posting `_id` no user's term can have: the backfill ran
BATCH = 500
# Large fields the search never needs back (the terms array is the largest).
NO_TERMS = {"terms": 0}
RANK_FIELDS = {"title": 1, "notes": 1, "order_key": 1}


class SearchBackend(Protocol):
    def terms(self, title: str, notes: str) -> list[str]:
        """What to store on the task document for this backend's queries."""

    async def index(self, task: Task) -> None:
        """The task was created or changed."""

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


def posting_key(user_id: str, term: str) -> str:
    return f"{user_id}:{term}"


class MongoSearch:
    """Candidates from postings, ranked with rapidfuzz. A task's terms (search.index_terms)
    are still stored on it, the record of which postings hold it; each posting document is
    `{_id: "<user>:<term>", tasks: [task ids]}`, so a query reads its terms' postings by
    `_id` (a look-up on MongoDB and on the embedded server, where a condition on the task's
    `terms` array scans every user's tasks) and fetches its best candidates by `_id`.

    Postings only grow on a write (`$addToSet`, no read of the task's previous terms); an id
    left in a posting by a deleted or moved task is dropped by the first search that reads it
    (not found for this user), and one left by an edit that removed the word only costs a
    candidate slot (its ranking finds no match)."""

    def __init__(self) -> None:
        self.ready = False  # postings cover every task (else: the slower terms query)

    def terms(self, title: str, notes: str) -> list[str]:
        return search.index_terms(title, notes)

    async def index(self, task: Task) -> None:
        if task.id is not None:
            await self._add(task.user_id, [(str(task.id), task.terms)])

    async def unindex(self, task_id: str) -> None:
        return None  # dropped from its postings by the next search that meets it

    async def reindex_user(self, user_id: str) -> None:
        """The user's tasks changed owner in bulk (an account merge): add them to this user's
        postings."""
        cursor = Task.get_pymongo_collection().find(eq(user_id=user_id), {"terms": 1})
        batch: list[tuple[str, list[str]]] = []
        async for doc in cursor:
            batch.append((str(doc["_id"]), list(doc.get("terms") or [])))
            if len(batch) >= BATCH:
                await self._add(user_id, batch)
                batch = []
        if batch:
            await self._add(user_id, batch)

    async def backfill(self) -> None:
        """Postings for tasks written before postings existed: once, at the first start after
        the upgrade (in the background; searches use the terms query until it is done)."""
        postings = SearchPosting.get_pymongo_collection()
        if await postings.find_one({"_id": BACKFILLED}) is None:
            by_user: dict[str, list[tuple[str, list[str]]]] = {}
            cursor = Task.get_pymongo_collection().find({}, {"user_id": 1, "terms": 1})
            async for doc in cursor:
                by_user.setdefault(doc["user_id"], []).append(
                    (str(doc["_id"]), list(doc.get("terms") or []))
                )
                if sum(map(len, by_user.values())) >= BATCH:
                    for user_id, tasks in by_user.items():
                        await self._add(user_id, tasks)
                    by_user = {}
            for user_id, tasks in by_user.items():
                await self._add(user_id, tasks)
            await postings.update_one({"_id": BACKFILLED}, {"$set": {"tasks": []}}, upsert=True)
            log.info("search postings built for the existing tasks")
        self.ready = True

    async def _add(self, user_id: str, tasks: list[tuple[str, list[str]]]) -> None:
        by_term: dict[str, list[str]] = {}
        for task_id, terms in tasks:
            for term in terms:
                by_term.setdefault(term, []).append(task_id)
        if by_term:
            await SearchPosting.get_pymongo_collection().bulk_write(
                [
                    UpdateOne(
                        {"_id": posting_key(user_id, term)},
                        {"$addToSet": {"tasks": {"$each": ids}}},
                        upsert=True,
                    )
                    for term, ids in by_term.items()
                ],
                ordered=False,
            )

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
        shared: Counter[str] = Counter()
        postings = await self._postings(user_id, query.terms)
        for ids in postings.values():
            shared.update(ids)
        wanted = [task_id for task_id, _ in shared.most_common(LOOKED_UP)]
        if not wanted:
            return []
        oids = [ObjectId(task_id) for task_id in wanted if ObjectId.is_valid(task_id)]
        cursor = Task.get_pymongo_collection().find({"_id": {"$in": oids}, **base}, RANK_FIELDS)
        docs = {str(doc["_id"]): doc async for doc in cursor}
        if list_id_or_done_free(base):
            await self._drop_stale(user_id, postings, [t for t in wanted if t not in docs])
        return [docs[task_id] for task_id in wanted if task_id in docs][:CANDIDATES]

    async def _postings(self, user_id: str, terms: tuple[str, ...]) -> dict[str, list[str]]:
        keys = [posting_key(user_id, term) for term in terms]
        cursor = SearchPosting.get_pymongo_collection().find({"_id": {"$in": keys}})
        return {doc["_id"]: list(doc.get("tasks") or []) async for doc in cursor}

    async def _drop_stale(
        self, user_id: str, postings: dict[str, list[str]], gone: list[str]
    ) -> None:
        """Ids no longer the user's tasks (deleted, or moved to another account)."""
        if not gone:
            return
        gone_set = set(gone)
        updates = [
            UpdateOne({"_id": key}, {"$pull": {"tasks": {"$in": sorted(gone_set & set(ids))}}})
            for key, ids in postings.items()
            if gone_set & set(ids)
        ]
        if updates:
            await SearchPosting.get_pymongo_collection().bulk_write(updates, ordered=False)

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


def list_id_or_done_free(base: dict[str, Any]) -> bool:
    """Only the user filter: a posting id not found is then surely stale."""
    return set(base) == {"user_id"}
