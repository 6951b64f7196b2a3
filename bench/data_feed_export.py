"""Calendar feed and export over one user's tasks, through the data services on the
embedded database (or MONGODB_URI): time, size, peak Python memory, and the longest the
event loop was held (a 2 ms ticker measures how late it runs).

    .venv/bin/python bench/data_feed_export.py [--tasks 100 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from beanie import PydanticObjectId
from pymongo import AsyncMongoClient

from models import Task, User
from server.db.connection import init_models
from server.db.embedded import EmbeddedMongo
from server.services.accounts.access_gate import AccessGate
from server.services.accounts.sessions import Sessions
from server.services.accounts.users import Users
from server.services.common.throttle import RateLimiter
from server.services.portability.export import Exporter
from server.services.portability.feed import CalendarFeeds
from server.services.reminders.preferences import ReminderPreferences
from server.services.tasks.lists import Lists
from server.services.tasks.service import order_key

REPEATS = [None, None, None, "FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=MONTHLY"]


@contextlib.asynccontextmanager
async def loop_watch() -> AsyncIterator[list[float]]:
    """Yields [the longest lateness of a 2 ms ticker, the most CPU the loop thread spent
    between two ticks] in ms: how long the code under test held the loop."""
    worst = [0.0, 0.0]

    async def tick() -> None:
        while True:
            began, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.002)
            worst[0] = max(worst[0], (time.perf_counter() - began) * 1000 - 2)
            # The loop thread's own CPU between two ticks: what our code held it for,
            # without the time the OS gave the CPU to other processes (a shared machine).
            worst[1] = max(worst[1], (time.thread_time() - cpu) * 1000)

    ticker = asyncio.create_task(tick())
    try:
        yield worst
    finally:
        ticker.cancel()


async def seed(count: int) -> PydanticObjectId:
    user = User(first_name="bench", timezone="Europe/Berlin")
    await user.insert()
    assert user.id is not None
    lists = Lists()
    inbox = await lists.builtin(user.id, "inbox")
    rnd = random.Random(count)
    base = datetime(2031, 1, 1, 8, tzinfo=UTC)
    docs = []
    for i in range(count):
        task_id = PydanticObjectId()
        created = datetime.now(UTC)
        when = base + timedelta(hours=rnd.randint(0, 24 * 365))
        kind = rnd.random()
        docs.append(Task(
            id=task_id, user_id=str(user.id), list_id=str(inbox.id),
            title=f"Task number {i}: call about the invoice",
            notes="Notes, line\nand more" * (i % 3),
            due=when if kind < 0.5 else None, remind_at=when if kind >= 0.3 else None,
            repeat=rnd.choice(REPEATS) if kind >= 0.3 else None,
            created_at=created, updated_at=created, order_key=order_key(created, task_id),
        ).model_dump(by_alias=True))  # fmt: skip
    collection = Task.get_pymongo_collection()
    for i in range(0, len(docs), 1000):
        await collection.insert_many(docs[i : i + 1000])
    return user.id


async def measure(count: int) -> None:
    user_id = await seed(count)
    users, lists = Users(), Lists()
    feeds = CalendarFeeds(lists, RateLimiter())
    sessions = Sessions(users, AccessGate(users, ttl=5.0))
    exporter = Exporter(users, lists, ReminderPreferences(), sessions, feeds)
    await feeds.render(str(user_id))  # warm: the zone's VTIMEZONE is cached after this
    runs, cached = [], []
    async with loop_watch() as worst:
        for _ in range(3):
            fresh = CalendarFeeds(lists, RateLimiter())  # nothing built yet: a full build
            began = time.perf_counter()
            feed = await fresh.render(str(user_id))
            runs.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            await fresh.render(str(user_id))  # unchanged: the fingerprint only
            cached.append((time.perf_counter() - began) * 1000)
    print(f"{count:6} tasks  feed: {feed.events} events, {len(feed.body) / 1024:.0f} KiB, "
          f"build best {min(runs):.0f} ms, unchanged best {min(cached):.0f} ms, loop held at "
          f"most {worst[1]:.1f} ms CPU ({worst[0]:.1f} ms wall)")  # fmt: skip
    async with loop_watch() as worst:
        began = time.perf_counter()
        size = 0
        async for chunk in exporter.chunks(user_id):
            size += len(chunk)
        took = (time.perf_counter() - began) * 1000
    # Memory in a second run: tracemalloc slows Python down several times over.
    tracemalloc.start()
    async for _ in exporter.chunks(user_id):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{count:6} tasks  export: {size / 1024:.0f} KiB in {took:.0f} ms, peak Python "
          f"memory {peak / 1024 / 1024:.1f} MiB, loop held at most {worst[1]:.1f} ms CPU "
          f"({worst[0]:.1f} ms wall)")  # fmt: skip


async def run(uri: str, counts: list[int]) -> None:
    client: AsyncMongoClient = AsyncMongoClient(uri, tz_aware=True)
    db_name = f"bench_data_{os.getpid()}"
    try:
        await init_models(client, db_name)
        for count in counts:
            await measure(count)
    finally:
        await client.drop_database(db_name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, nargs="+", default=[100, 10_000])
    args = parser.parse_args()
    uri = os.environ.get("MONGODB_URI")
    if uri:
        asyncio.run(run(uri, args.tasks))
        return
    with tempfile.TemporaryDirectory() as data:
        server = EmbeddedMongo(Path(data))
        server.start()
        try:
            asyncio.run(run(server.uri, args.tasks))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
