"""Where search runs. The tasks service asks a SearchBackend; this one narrows in MongoDB
(a multikey index on the terms stored on each task) and ranks with rapidfuzz. A deployment
with a search engine (MeiliSearch, Typesense, Atlas Search) implements the same protocol:
`index`/`unindex`/`reindex_user` keep the engine in step after every write, `search` asks it
for ids (filtered by user!) and loads those tasks from MongoDB; `terms` returns [] so the
documents carry no terms."""

from __future__ import annotations

from typing import Any, Protocol

from models import Task
from server.services.tasks import search
from server.services.tasks.views import VIEW_FIELDS, TaskView

# The most tasks fetched to rank for one query. Ranking 200 costs under a millisecond; the
# fetch is what costs, so it stays bounded whatever the user has.
CANDIDATES = 200
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

    async def search(
        self, user_id: str, text: str, *, list_id: str | None, done: bool | None, limit: int
    ) -> list[TaskView]:
        """The user's tasks matching `text`, best first, at most `limit`."""


class MongoSearch:
    """Candidates from MongoDB, ranked with rapidfuzz. The query shape is `{user_id,
    terms: {$in: [...]}}` (plus list and done): `$in` on the multikey field works on both
    MongoDB and the embedded server, where an equality on one array element through an index
    finds nothing (pinned in tests/integration/test_query_shapes.py)."""

    def terms(self, title: str, notes: str) -> list[str]:
        return search.index_terms(title, notes)

    async def index(self, task: Task) -> None:
        return None  # the terms are on the document itself

    async def unindex(self, task_id: str) -> None:
        return None

    async def reindex_user(self, user_id: str) -> None:
        return None

    async def search(
        self, user_id: str, text: str, *, list_id: str | None, done: bool | None, limit: int
    ) -> list[TaskView]:
        query = search.prepare(text)
        if query.empty:
            return []
        base: dict[str, Any] = {"user_id": user_id}
        if list_id is not None:
            base["list_id"] = list_id
        if done is not None:
            base["done"] = done
        candidates = await self._candidates({**base, "terms": {"$in": list(query.terms)}})
        if len(candidates) >= CANDIDATES and len(query.terms) > 1:
            # Saturated: more tasks share some term than fit. Those having every term (exact
            # and prefix matches) must not be among the ones cut off.
            exact = await self._candidates({**base, "terms": {"$all": list(query.terms)}})
            seen = {doc["_id"] for doc in exact}
            candidates = exact + [doc for doc in candidates if doc["_id"] not in seen]
        # Newest first, so that the (stable) ranking keeps the newest of equal scores first.
        candidates.sort(key=lambda doc: doc.get("order_key", ""), reverse=True)
        ranked = search.rank(
            query, candidates, lambda doc: (doc.get("title", ""), doc.get("notes", ""))
        )
        best = [doc["_id"] for doc in ranked[:limit]]
        if not best:
            return []
        found = Task.get_pymongo_collection().find({"_id": {"$in": best}, "user_id": user_id},
                                                   VIEW_FIELDS)  # fmt: skip
        by_id = {doc["_id"]: doc async for doc in found}
        return [TaskView.of(by_id[task_id]) for task_id in best if task_id in by_id]

    async def _candidates(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        # Unsorted and only what ranking reads: the embedded server scans for a query like
        # this, and stops at the limit only when it need not sort (sorting made it about three
        # times slower); the full tasks are read for the winners alone.
        cursor = Task.get_pymongo_collection().find(query, RANK_FIELDS).limit(CANDIDATES)
        return [doc async for doc in cursor]
