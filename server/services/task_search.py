"""Where search runs. The tasks service asks a SearchBackend; this one narrows in MongoDB
(a multikey index on the terms stored on each task) and ranks with rapidfuzz. A deployment
with a search engine (MeiliSearch, Typesense, Atlas Search) implements the same protocol:
`index`/`unindex`/`reindex_user` keep the engine in step after every write, `search` asks it
for ids (filtered by user!) and loads those tasks from MongoDB; `terms` returns [] so the
documents carry no terms."""

from __future__ import annotations

from typing import Any, Protocol

from models import Task
from server.services import search

# The most tasks fetched to rank for one query. Ranking 200 costs under a millisecond; the
# fetch is what costs, so it stays bounded whatever the user has.
CANDIDATES = 200
# Large fields the search never needs back (the terms array is the largest).
NO_TERMS = {"terms": 0}


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
    ) -> list[Task]:
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
    ) -> list[Task]:
        query = search.prepare(text)
        if query.empty:
            return []
        base: dict[str, Any] = {"user_id": user_id}
        if list_id is not None:
            base["list_id"] = list_id
        if done is not None:
            base["done"] = done
        candidates = await self._find({**base, "terms": {"$in": list(query.terms)}})
        if len(candidates) >= CANDIDATES and len(query.terms) > 1:
            # Saturated: more tasks share some term than fit. Those having every term (exact
            # and prefix matches) must not be among the ones cut off.
            exact = await self._find({**base, "terms": {"$all": list(query.terms)}})
            seen = {task.id for task in exact}
            candidates = exact + [task for task in candidates if task.id not in seen]
        ranked = search.rank(query, candidates, lambda task: (task.title, task.notes))
        return ranked[:limit]

    async def _find(self, query: dict[str, Any]) -> list[Task]:
        cursor = (
            Task.get_pymongo_collection()
            .find(query, NO_TERMS)
            .sort("order_key", -1)  # newest first: among equal scores the newest wins
            .limit(CANDIDATES)
        )
        return [Task.model_validate(doc) async for doc in cursor]
