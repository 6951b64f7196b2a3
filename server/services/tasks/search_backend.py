"""Where search runs. The tasks service asks a SearchBackend; this one narrows in MongoDB
(postings: per user and term, the tasks holding it, in documents per user, group of terms
and generation of tasks, so that a write's cost stops growing with the user's tasks) and
ranks with rapidfuzz. A deployment with a search engine (MeiliSearch, Typesense, Atlas
Search) implements the same protocol: `index`/`unindex`/`reindex_user` keep the engine in
step after every write, `search` asks it for ids (filtered by user!) and loads those tasks
from MongoDB; `terms` returns [] so the documents carry no terms."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import zlib
from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol

from bson import ObjectId
from pymongo import ReturnDocument, UpdateOne

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
# Postings: a user's postings are split by term into BUCKETS buckets (a stable hash of the
# term) and by task into generations of GENERATION tasks (in the order they were indexed):
# document "<user id>:<bucket>:<generation>" holds, per term of that bucket, the ids of that
# generation's tasks holding it (`pack`ed). Why both: nx-27017 rewrites a whole document on every
# `$push`, and a task's ~50 terms fall in nearly every bucket, so a create rewrites one
# document per bucket: only those of the current generation, which stop growing at
# GENERATION tasks (one document per bucket grew to 600 KB at 3,000 tasks: 4.9 ms a `$push`).
# A document per (user, term) instead would be ~50 writes a task: nx-27017 writes ~2,000
# documents a second.
BUCKETS = 16
GENERATION = 256
# Per user, "<user id>:head" counts the tasks indexed (`seq`: a task's generation is its
# number // GENERATION, so a search knows which generations there are), and DIRECTORY shards
# "<user id>:dir:<n>" (n: a hash of the task id) map each task to its generation (field
# "t<task id>"): where a change pulls the terms the task lost.
DIRECTORY = 32
BACKFILLED = "~backfilled-v3"  # an `_id` no user's document can have: the (re)build ran
BATCH = 500
# Large fields the search never needs back (the terms array is the largest).
NO_TERMS = {"terms": 0}
RANK_FIELDS = {"title": 1, "notes": 1, "order_key": 1}

# term -> task ids, per generation: what one write pushes or pulls.
Changes = dict[int, dict[str, list[str]]]
# term -> generation -> task ids: a query's postings as read.
Postings = dict[str, dict[int, list[str]]]


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


def bucket(term: str) -> int:
    return zlib.crc32(term.encode()) % BUCKETS


def chunk_key(user_id: str, term_bucket: int, generation: int) -> str:
    """The `_id` of the postings document of this user's bucket and generation."""
    return f"{user_id}:{term_bucket}:{generation}"


def head_key(user_id: str) -> str:
    return f"{user_id}:head"


def directory_key(user_id: str, task_id: str) -> str:
    return f"{user_id}:dir:{zlib.crc32(task_id.encode()) % DIRECTORY}"


def slot(task_id: str) -> str:
    """A task's field in its directory shard ("t": a name must not be digits alone)."""
    return "t" + task_id


def field(term: str) -> str:
    """The term's field: "~" and its UTF-8 in hex. ASCII, because nx-27017's `$push` onto an
    existing array whose field name is not ASCII replaces the array (measured: "~мол" kept
    only the last task pushed); the prefix, because a name must not start with "$" or be
    digits alone."""
    return "~" + term.encode().hex()


def pack(task_id: str) -> str:
    """A task id as stored in postings: its 12 bytes in base64 (16 characters, not 24 hex).
    The embedded server loads every document it reads whole, and ids are most of a postings
    document: a third fewer bytes for every search to read and every write to rewrite."""
    try:
        return base64.urlsafe_b64encode(bytes.fromhex(task_id)).decode()
    except ValueError:
        return task_id


def unpack(stored: str) -> str:
    try:
        return base64.urlsafe_b64decode(stored).hex() if len(stored) == 16 else stored
    except (ValueError, binascii.Error):
        return stored


def generations(seq: int) -> range:
    """The generations of a user whose head has numbered `seq` tasks."""
    return range((seq + GENERATION - 1) // GENERATION)


def layout(user_id: str, tasks: Iterable[tuple[str, list[str]]]) -> list[dict[str, Any]]:
    """The postings documents of a user with these tasks (id, terms), numbered in this order
    from 0: head, directory and postings, as the writes below would leave them (the bench
    seeds them straight into the database)."""
    chunks: dict[str, dict[str, Any]] = {}
    directory: dict[str, dict[str, Any]] = {}
    seq = 0
    for task_id, terms in tasks:
        generation = seq // GENERATION
        seq += 1
        for term in terms:
            key = chunk_key(user_id, bucket(term), generation)
            doc = chunks.setdefault(key, {"_id": key, "user_id": user_id})
            doc.setdefault(field(term), []).append(pack(task_id))
        key = directory_key(user_id, task_id)
        directory.setdefault(key, {"_id": key, "user_id": user_id})[slot(task_id)] = generation
    head = {"_id": head_key(user_id), "user_id": user_id, "seq": seq}
    return [head, *directory.values(), *chunks.values()]


class MongoSearch:
    """Candidates from postings, ranked with rapidfuzz. A task's terms (search.index_terms)
    are stored on it (what its postings are, for the next change); the postings of a user's
    term are the task ids in field `field(term)` of the user's documents of that term's
    bucket, one per generation (`chunk_key`). A query reads the user's head (how many
    generations there are), then its terms' buckets in every generation by `_id` (look-ups on
    MongoDB and on the embedded server, where a condition on the task's `terms` array scans
    every user's tasks), counts how many of its terms each task holds, and fetches its best
    candidates by `_id`. So a search costs what the user's own tasks cost, and a write what
    one generation costs, however many tasks the user has.

    Writes: a task new to the user's postings (created, or moved in from another owner) gets
    the next number from the head (`$inc`), its generation in the directory, and all its
    terms `$push`ed into that generation; a change pushes the terms the task gained and
    `$pull`s those it lost, in the generation the directory names (the embedded server
    ignores `$addToSet` on a field the document lacks; a duplicate from a retried write is
    harmless, ids are counted once). A deleted task's id is dropped by the first search that
    meets it (not found among the user's tasks), from the documents it was met in."""

    def __init__(self) -> None:
        self.ready = False  # postings cover every task (else: the slower terms query)

    def terms(self, title: str, notes: str) -> list[str]:
        return search.index_terms(title, notes)

    async def index(self, task: Task, previous: list[str]) -> None:
        if task.id is None:
            return
        task_id, user_id = str(task.id), task.user_id
        generation = await self._generation(user_id, task_id) if previous else None
        if generation is None:  # created, or new to this user: every term
            generation = await self._allocate(user_id, 1) // GENERATION
            added = {generation: {term: [task_id] for term in task.terms}}
            await self._write(user_id, added, {}, {task_id: generation})
            return
        now, before = set(task.terms), set(previous)
        await self._write(user_id, {generation: {term: [task_id] for term in now - before}},
                          {generation: {term: [task_id] for term in before - now}}, {})  # fmt: skip

    async def unindex(self, task_id: str) -> None:
        return None  # dropped from its postings by the next search that meets it

    async def reindex_user(self, user_id: str) -> None:
        """Rebuild the user's postings from their tasks (after an account merge moved tasks
        in, a shared list's new owner, an erase): bounded by the user's own tasks. The head
        stays (the tasks are numbered after its last number, like a create's: a create
        running meanwhile still gets a number of its own); with no tasks left it goes too."""
        postings = SearchPosting.get_pymongo_collection()
        await postings.delete_many({**eq(user_id=user_id), "_id": {"$ne": head_key(user_id)}})
        cursor = Task.get_pymongo_collection().find(eq(user_id=user_id), {"terms": 1})
        tasks = sorted([(str(doc["_id"]), doc.get("terms") or []) async for doc in cursor])
        if tasks:
            await self._append({user_id: tasks})
        else:
            await postings.delete_one({"_id": head_key(user_id)})

    async def backfill(self) -> None:
        """Postings for tasks written before these postings existed: once, at the first start
        after an upgrade (in the background; searches use the terms query until it is done).
        What an older layout left (documents "<user id>:<bucket>", no generations) goes
        first: everything is rebuilt from the tasks."""
        postings = SearchPosting.get_pymongo_collection()
        if await postings.find_one({"_id": BACKFILLED}) is None:
            await postings.delete_many({})
            by_user: dict[str, list[tuple[str, list[str]]]] = {}
            seen = 0
            cursor = Task.get_pymongo_collection().find({}, {"user_id": 1, "terms": 1})
            async for doc in cursor:
                terms = doc.get("terms") or []
                by_user.setdefault(doc["user_id"], []).append((str(doc["_id"]), terms))
                seen += 1
                if seen % BATCH == 0:
                    await self._append(by_user)
                    by_user = {}
            await self._append(by_user)
            await postings.update_one({"_id": BACKFILLED}, {"$set": {"at": 1}}, upsert=True)
            log.info("search postings built for the existing tasks")
        self.ready = True

    async def _append(self, by_user: dict[str, list[tuple[str, list[str]]]]) -> None:
        """Index these tasks as new ones, numbered after each user's last."""
        for user_id, tasks in by_user.items():
            first = await self._allocate(user_id, len(tasks))
            added: Changes = {}
            directory: dict[str, int] = {}
            for number, (task_id, terms) in enumerate(tasks, first):
                generation = directory[task_id] = number // GENERATION
                into = added.setdefault(generation, {})
                for term in terms:
                    into.setdefault(term, []).append(task_id)
            await self._write(user_id, added, {}, directory)

    async def _allocate(self, user_id: str, count: int) -> int:
        """The first of `count` new numbers in the user's sequence (one atomic `$inc`: two
        writers never get the same)."""
        head = await SearchPosting.get_pymongo_collection().find_one_and_update(
            {"_id": head_key(user_id)},
            {"$inc": {"seq": count}, "$set": {"user_id": user_id}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert head is not None  # upserted
        return int(head["seq"]) - count

    async def _generation(self, user_id: str, task_id: str) -> int | None:
        """The generation holding the task's postings (None: not indexed for this user)."""
        doc = await SearchPosting.get_pymongo_collection().find_one(
            {"_id": directory_key(user_id, task_id)}, {slot(task_id): 1}
        )
        generation = None if doc is None else doc.get(slot(task_id))
        return generation if isinstance(generation, int) else None

    async def _write(
        self, user_id: str, added: Changes, removed: Changes, directory: dict[str, int]
    ) -> None:
        """One update per postings document touched, in one round trip."""
        pushes: dict[str, dict[str, Any]] = {}
        pulls: dict[str, dict[str, Any]] = {}
        for generation, terms in added.items():
            for term, ids in terms.items():
                key = chunk_key(user_id, bucket(term), generation)
                pushes.setdefault(key, {})[field(term)] = {"$each": [pack(i) for i in ids]}
        for generation, terms in removed.items():
            for term, ids in terms.items():
                key = chunk_key(user_id, bucket(term), generation)
                pulls.setdefault(key, {})[field(term)] = {"$in": [pack(i) for i in ids]}
        slots: dict[str, dict[str, Any]] = {}
        for task_id, generation in directory.items():
            into = slots.setdefault(directory_key(user_id, task_id), {"user_id": user_id})
            into[slot(task_id)] = generation
        updates = [UpdateOne({"_id": key}, {"$set": values}, upsert=True)
                   for key, values in slots.items()]  # fmt: skip
        updates += [
            UpdateOne({"_id": key}, {"$push": fields, "$set": {"user_id": user_id}}, upsert=True)
            for key, fields in pushes.items()
        ]
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
        for chunks in postings.values():
            shared.update(dict.fromkeys([task_id for ids in chunks.values() for task_id in ids], 1))
        wanted = [task_id for task_id, _ in shared.most_common(LOOKED_UP)]
        # Fetched in two steps: the first CANDIDATES and a quarter (usually enough once the
        # list and done filters and stale ids are out), the rest of the LOOKED_UP only when
        # fewer than CANDIDATES matched. The same candidates as fetching all at once (the
        # first CANDIDATES matching, in `wanted`'s order), and a task costs the embedded
        # server ~0.13 ms to load whole: 150 fewer tasks in the usual search at 10,000.
        first = CANDIDATES + CANDIDATES // 4
        docs: dict[str, dict[str, Any]] = {}
        looked = 0
        for batch in (wanted[:first], wanted[first:]):
            if not batch or len(docs) >= CANDIDATES:
                break
            oids = [ObjectId(task_id) for task_id in batch if ObjectId.is_valid(task_id)]
            found = Task.get_pymongo_collection().find({"_id": {"$in": oids}, **base}, RANK_FIELDS)
            docs |= {str(doc["_id"]): doc async for doc in found}
            looked += len(batch)
        if set(base) == {"user_id"}:  # only the user filter: an id not found is surely stale
            gone = {task_id for task_id in wanted[:looked] if task_id not in docs}
            if gone:
                await self._drop(user_id, gone, postings)
        return [docs[task_id] for task_id in wanted[:looked] if task_id in docs][:CANDIDATES]

    async def _drop(self, user_id: str, gone: set[str], postings: Postings) -> None:
        """Pull stale ids from the documents they were met in, and from the directory."""
        removed: Changes = {}
        for term, chunks in postings.items():
            for generation, ids in chunks.items():
                if stale := sorted(gone.intersection(ids)):
                    removed.setdefault(generation, {})[term] = stale
        await self._write(user_id, {}, removed, {})
        unset: dict[str, dict[str, str]] = {}
        for task_id in gone:
            unset.setdefault(directory_key(user_id, task_id), {})[slot(task_id)] = ""
        await SearchPosting.get_pymongo_collection().bulk_write(
            [UpdateOne({"_id": key}, {"$unset": fields}) for key, fields in unset.items()],
            ordered=False,
        )

    async def _postings(self, user_id: str, terms: tuple[str, ...]) -> Postings:
        """term -> generation -> task ids, from the documents of the query's buckets in every
        generation (only the query's fields). Newest first: of tasks sharing as many terms
        with the query, the newest are looked up first."""
        collection = SearchPosting.get_pymongo_collection()
        head = await collection.find_one({"_id": head_key(user_id)}, {"seq": 1})
        if head is None:
            return {}
        newest_first = list(reversed(generations(int(head.get("seq", 0)))))
        buckets = sorted({bucket(term) for term in terms})
        keys = [chunk_key(user_id, b, g) for g in newest_first for b in buckets]
        cursor = collection.find({"_id": {"$in": keys}}, {field(term): 1 for term in terms})
        docs = {doc["_id"]: doc async for doc in cursor}
        found: Postings = {}
        for generation in newest_first:
            for term in terms:
                doc = docs.get(chunk_key(user_id, bucket(term), generation))
                ids = None if doc is None else doc.get(field(term))
                if isinstance(ids, list):
                    found.setdefault(term, {})[generation] = [unpack(i) for i in reversed(ids)]
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
