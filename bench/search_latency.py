"""Search and page latency over one user's 10,000 tasks, through the tasks service on the
embedded database (or MONGODB_URI). A quick measurement for the README; `make bench` is the
official one.

    .venv/bin/python bench/search_latency.py [--tasks 10000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from beanie import PydanticObjectId
from pymongo import AsyncMongoClient

from models import Task, User
from server.db.connection import init_models
from server.db.embedded import EmbeddedMongo
from server.services.reminders.port import NoReminders
from server.services.tasks import search
from server.services.tasks.lists import Lists
from server.services.tasks.search_backend import MongoSearch
from server.services.tasks.service import TaskQuery, Tasks, order_key

RU_WORDS = (
    "купить молоко хлеб сыр позвонить маме папе отчёт встреча проект презентация письмо "
    "оплатить счёт квартира ремонт врач записаться машина страховка подарок день рождения "
    "книга прочитать фильм посмотреть спортзал бассейн отпуск билеты гостиница"
)
EN_WORDS = (
    "buy milk bread cheese call mom dad report meeting project presentation letter pay bill "
    "rent repair doctor appointment car insurance gift birthday book read film watch gym "
    "pool holiday tickets hotel review code deploy invoice prepare slides"
)
RU, EN = RU_WORDS.split(), EN_WORDS.split()
QUERIES = ["малоко", "молок", "презинтация", "позвон", "prsentation", "prep", "invoce",
           "birthday gift", "купит хлеб", "zzqx"]  # fmt: skip


def title(rnd: random.Random) -> str:
    words = RU if rnd.random() < 0.5 else EN
    return " ".join(rnd.choice(words) for _ in range(rnd.randint(2, 6))).capitalize()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(uri: str, count: int, repeat: int) -> None:
    client: AsyncMongoClient = AsyncMongoClient(uri, tz_aware=True)
    db_name = f"bench_search_{os.getpid()}"
    try:
        await init_models(client, db_name)
        user = User(first_name="bench")
        await user.insert()
        assert user.id is not None
        lists = Lists()
        tasks = Tasks(lists, NoReminders(), MongoSearch())
        inbox = await lists.builtin(user.id, "inbox")
        rnd = random.Random(7)
        start = time.perf_counter()
        docs = []
        for _ in range(count):
            text = title(rnd)
            notes = title(rnd) if rnd.random() < 0.3 else ""
            task_id = PydanticObjectId()
            created = tasks.clock()
            docs.append(Task(id=task_id, user_id=str(user.id), list_id=str(inbox.id), title=text,
                             notes=notes, done=rnd.random() < 0.2, created_at=created,
                             updated_at=created, order_key=order_key(created, task_id),
                             terms=search.index_terms(text, notes)))  # fmt: skip
        collection = Task.get_pymongo_collection()
        for i in range(0, len(docs), 1000):
            await collection.insert_many([d.model_dump(by_alias=True) for d in docs[i : i + 1000]])
        print(f"{count} tasks inserted in {time.perf_counter() - start:.1f} s")
        # As the app does at start: the postings of tasks written without the service (until
        # then a search takes the old terms query, which scans on the embedded server).
        began = time.perf_counter()
        await tasks.search_backend.backfill()
        print(f"search postings built in {time.perf_counter() - began:.1f} s")

        async def timed(query: TaskQuery) -> tuple[float, int]:
            began = time.perf_counter()
            page = await tasks.page(user.id, query)
            return (time.perf_counter() - began) * 1000, len(page.items)

        all_ms: list[float] = []
        for text in QUERIES:
            runs = [await timed(TaskQuery(text=text, limit=20)) for _ in range(repeat)]
            ms = [m for m, _ in runs]
            all_ms += ms
            print(f"  q={text!r:16} found {runs[0][1]:2}  p50 {pct(ms, 50):6.1f} ms"
                  f"  p99 {pct(ms, 99):6.1f} ms")  # fmt: skip
        print(
            f"search, all queries: p50 {statistics.median(all_ms):.1f} ms, "
            f"p99 {pct(all_ms, 99):.1f} ms ({len(all_ms)} searches)"
        )
        pages = [(await timed(TaskQuery(limit=50)))[0] for _ in range(repeat)]
        print(
            f"first page of 50 open tasks: p50 {pct(pages, 50):.1f} ms, p99 {pct(pages, 99):.1f} ms"
        )
        # The ranking alone, on 200 candidates.
        query = search.prepare("малоко")
        sample = [(d.title, d.notes) for d in docs[:200]]
        began = time.perf_counter()
        for _ in range(50):
            search.rank(query, sample, lambda t: t)
        each = (time.perf_counter() - began) / 50 * 1000
        print(f"rapidfuzz ranking of 200 candidates: {each:.2f} ms")
    finally:
        await client.drop_database(db_name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    uri = os.environ.get("MONGODB_URI")
    if uri:
        asyncio.run(run(uri, args.tasks, args.repeat))
        return
    with tempfile.TemporaryDirectory() as folder:
        server = EmbeddedMongo(Path(folder))
        server.start()
        try:
            asyncio.run(run(server.uri, args.tasks, args.repeat))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
