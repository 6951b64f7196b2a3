"""kill -9 of one of two real processes while it holds reminder claims: every reminder is
still delivered, and only the few whose send had reached Telegram before the kill (the
documented at-least-once window) can go out twice. Slow: run by `make test-slow`."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.bot_helpers import BOT_TOKEN, PUBLIC_URL, WEBHOOK_SECRET
from tests.e2e.test_reminders_delivery import seed_reminders, seed_users, sends, task_of
from tests.process import ServiceProcess

pytestmark = pytest.mark.slow

WORKERS = 4
LEASE = 3


async def test_kill_9_while_holding_claims_leaves_the_rest_delivered_once(
    tmp_path: Path, fake_api, db, mongo_uri: str, db_name: str
):
    env = {
        "MONGODB_URI": mongo_uri, "MONGODB_DB": db_name, "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_BASE_URL": fake_api.url, "PUBLIC_URL": PUBLIC_URL,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, "REMINDER_LEASE": str(LEASE),
        "REMINDER_POLL": "0.1", "REMINDER_WORKERS": str(WORKERS), "REMINDER_SEND_RATE": "40",
    }  # fmt: skip
    doomed = ServiceProcess(tmp_path / "a", tmp_path / "a.log", **env)
    survivor = ServiceProcess(tmp_path / "b", tmp_path / "b.log", **env)
    await doomed.start()
    await survivor.start()
    # Telegram answers slowly, so the doomed process has sends in flight when it dies.
    fake_api.delay("sendMessage", 0.3)
    users = await seed_users(db, 200)
    tasks = await seed_reminders(db, users, int(time.time() * 1000) + 500)
    try:
        deadline = time.monotonic() + 30
        while len(sends(fake_api)) < 60:
            assert time.monotonic() < deadline, "reminders did not start going out"
            await asyncio.sleep(0.02)
        doomed.signal(signal.SIGKILL)
        killed_at = time.time()
        assert await doomed.wait() == -signal.SIGKILL
        deadline = time.monotonic() + 60
        while {task_of(c) for c in sends(fake_api)} != {str(t) for t in tasks}:
            assert time.monotonic() < deadline, "some reminders were never delivered"
            await asyncio.sleep(0.1)
        await asyncio.sleep(LEASE + 1)  # anything re-sent after its lease shows up now
    finally:
        await survivor.stop()
        await doomed.stop()
    counts = Counter(task_of(c) for c in sends(fake_api))
    twice = {task: n for task, n in counts.items() if n > 1}
    # Only sends already at Telegram when the process died can repeat: at most one per worker.
    assert len(twice) <= WORKERS, twice
    assert all(n == 2 for n in twice.values()), twice
    for task in twice:  # and each repeat came from the survivor, after the lease lapsed
        repeat = max(c.at for c in sends(fake_api) if task_of(c) == task)
        assert repeat >= killed_at
    print(f"\nkill -9 with claims held: 200 delivered, {len(twice)} twice (window: sends "
          f"in flight at the kill)")  # fmt: skip
    assert await db.reminders.count_documents({"state": 1}) == 200
