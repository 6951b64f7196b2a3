"""Today with shared lists: `Tasks.today` for one member of 0, 1, 5 and 20 shared lists (20
is the default quota), each of 200 open tasks (100 untimed, 50 overdue, 20 assigned to the
member, 30 assigned to the owner), on the embedded database (or MONGODB_URI). Prints the
wall time, the app's CPU time and the longest the event loop was held (its thread's CPU time
between two ticks of a 2 ms ticker). The figures are in docs/sharing.md.

    .venv/bin/python bench/today_shared.py [--repeat 15] [--empty]

`--empty`: the shared lists hold nothing for today (the cost of the queries alone).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bson import ObjectId
from pymongo import AsyncMongoClient

from models import User
from models.sharing import member_key
from server.db.connection import init_models
from server.db.embedded import EmbeddedMongo
from server.services.reminders.port import NoReminders
from server.services.tasks.lists import Lists
from server.services.tasks.search_backend import MongoSearch
from server.services.tasks.service import Tasks

END = datetime(2030, 1, 1, 21, tzinfo=UTC)  # the end of the member's day (UTC: no zone)


def task(owner: str, list_id: str, n: int, **fields: Any) -> dict[str, Any]:
    """A task document as the tasks service writes it (the fields Today reads)."""
    created, oid = datetime(2029, 12, 1, tzinfo=UTC) + timedelta(seconds=n), ObjectId()
    return {"_id": oid, "user_id": owner, "list_id": list_id, "title": f"t{n}", "notes": "",
            "done": False, "due": None, "remind_at": None, "repeat": None,
            "created_at": created, "updated_at": created, "terms": [], "assignee_id": None,
            "order_key": f"{int(created.timestamp() * 1000):013d}{oid}", "version": 0,
            **fields}  # fmt: skip


async def user() -> str:
    person = User(first_name="bench")
    await person.insert()
    return str(person.id)


async def measure(
    tasks: Tasks, me: str, repeat: int
) -> tuple[int, list[float], list[float], float]:
    """Today's size, the wall and CPU times (ms) of `repeat` calls, and the longest the loop
    was held meanwhile (ms): its thread's CPU time between two ticks of a 2 ms ticker."""
    holds: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.thread_time()
        while not stop.is_set():
            await asyncio.sleep(0.002)
            now = time.thread_time()
            holds.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    walls, cpus, size = [], [], 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        size = len(await tasks.today(me, now=END - timedelta(hours=2)))
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    stop.set()
    await ticking
    return size, walls, cpus, max(holds) * 1000


async def run(uri: str, repeat: int, empty: bool) -> None:
    client: AsyncMongoClient[Any] = AsyncMongoClient(uri, tz_aware=True)
    db_name = f"bench_today_{os.getpid()}"
    try:
        await init_models(client, db_name)
        db = client[db_name]
        lists = Lists()
        tasks = Tasks(lists, NoReminders(), MongoSearch())
        me = await user()
        inbox = str((await lists.builtin(me, "inbox")).id)
        own = [task(me, inbox, n, due=END - timedelta(hours=n % 30) if n % 2 else None)
               for n in range(50)]  # fmt: skip
        await db.tasks.insert_many(own)
        joined = 0
        for target in (0, 1, 5, 20):
            while joined < target:
                owner = await user()
                shared = (await lists.create(owner, f"L{joined}")).id
                docs = []
                for n in range(200):
                    if n < 100 or empty:
                        fields: dict[str, Any] = {}
                    elif n < 150:
                        fields = {"due": END - timedelta(days=1, minutes=n)}
                    elif n < 170:
                        fields = {"assignee_id": me}
                    else:
                        fields = {"assignee_id": owner, "remind_at": END - timedelta(hours=1)}
                    docs.append(task(owner, shared, n, **fields))
                await db.tasks.insert_many(docs)
                await db.list_members.insert_one(
                    {
                        "_id": member_key(shared, me),
                        "list_id": shared,
                        "user_id": me,
                        "owner_id": owner,
                        "role": "editor",
                        "joined_ms": joined,
                    }
                )
                joined += 1
            size, walls, cpus, held = await measure(tasks, me, repeat)
            print(
                f"{target:2} shared lists: Today {size:3} tasks, wall p50 "
                f"{statistics.median(walls):6.1f} ms, CPU p50 {statistics.median(cpus):5.1f} ms, "
                f"loop held at most {held:4.1f} ms"
            )
    finally:
        await client.drop_database(db_name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--empty", action="store_true")
    args = parser.parse_args()
    uri = os.environ.get("MONGODB_URI")
    if uri:
        asyncio.run(run(uri, args.repeat, args.empty))
        return
    with tempfile.TemporaryDirectory() as folder:
        server = EmbeddedMongo(Path(folder))
        server.start()
        try:
            asyncio.run(run(server.uri, args.repeat, args.empty))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
