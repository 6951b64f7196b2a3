"""Issue 11: 10,000 reminders due at the same moment, delivered by TWO app processes on one
database: the delivery rate against the configured global send budget, and the app's CPU
per delivered reminder.

The reminders belong to 1,000 Telegram users (10 each, so Telegram's one message per
second per chat never binds before the global budget does); they are created through
`POST /api/tasks` (the bot acting for each user) with one `remind_at` a few seconds after
seeding will have finished. The two processes are new, on a database of their own, so the
main service (which keeps its own database) delivers none of them.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
import uuid
from typing import TYPE_CHECKING, Any

from bench.harness.context import bot_user_headers
from bench.harness.procs import Service, log
from bench.harness.report import Row, X, absent, ms, row, unavailable, yes
from bench.harness.tasks_api import TASKS, seed_tasks

if TYPE_CHECKING:
    from bench.harness.context import Bench

NAME = "reminders"
# The app's setting for the global Telegram send budget, in messages per second across all
# processes (issue 11). The reminders work names the setting; keep this constant in step.
SEND_RATE_ENV = "REMINDER_SEND_RATE"
# The bench's budget (the shell's SEND_RATE_ENV overrides it): high enough that 10,000
# reminders take minutes, not an hour, at the default of 25/s.
BENCH_SEND_RATE = 100.0
PER_USER = 10
USER_BASE = 8_000_000_000
TARGET_RATIO = 0.9


def run(bench: Bench) -> dict[str, Any]:
    if not bench.offers("POST", TASKS, mentions="remind_at"):
        return unavailable(f"no POST {TASKS} with remind_at in /api/openapi.json")
    from config.settings import Settings

    assert bench.fake is not None
    count = 1_000 if bench.quick else 10_000
    users = count // PER_USER
    budget = float(os.environ.get(SEND_RATE_ENV) or BENCH_SEND_RATE)
    db_name = f"bench_reminders_{uuid.uuid4().hex[:8]}"
    env = bench.env(
        MONGODB_URI=bench.mongo_uri(), MONGODB_DB=db_name, **{SEND_RATE_ENV: f"{budget:g}"}
    )
    apps = [Service(env, bench.run_dir, f"reminders-{k}") for k in (1, 2)]
    try:
        for app in apps:
            app.start()
        due, seeding = seed_reminders(apps[0].base, count, users)
        chats = {"chat_min": USER_BASE, "chat_max": USER_BASE + users - 1}
        deadline = due + count / budget * 3 + 60
        time.sleep(max(0.0, due - 0.5 - time.time()))  # the CPU is counted from the due time
        with bench.meter(apps=[app.pid for app in apps]) as cpu:
            stats = bench.fake.call("benchStats", **chats, not_before=due)
            while stats["send_message"] < count and time.time() < deadline:
                time.sleep(0.2)
                stats = bench.fake.call("benchStats", **chats, not_before=due)
        time.sleep(2.0)  # a reminder sent twice would show up now
        stats = bench.fake.call("benchStats", **chats, not_before=due)
    finally:
        for app in apps:
            app.stop()
        bench.drop_database(db_name)
    delivered = stats["send_message"]
    spread = (stats["last"] - stats["first"]) if delivered > 1 else None
    rate = (delivered - 1) / spread if spread else None
    used = cpu.result["cpu_s"]
    result = {
        "reminders": count,
        "users": users,
        "processes": len(apps),
        "budget_per_s": budget,
        "budget_setting": SEND_RATE_ENV,
        "app_knows_setting": SEND_RATE_ENV.lower() in Settings.model_fields,
        "seeding": seeding,
        "delivered": delivered,
        "sent_twice": stats["texts_more_than_once"],
        "early": stats["before_not_before"],
        "rate_per_s": None if rate is None else round(rate, 1),
        "ratio": None if rate is None else round(rate / budget, 3),
        "peak_per_second": stats["peak_per_second"],
        "first_after_due_s": round(stats["first_wall"] - due, 2) if delivered else None,
        "last_after_due_s": round(stats["last_wall"] - due, 2) if delivered else None,
        "cpu": cpu.result,
        "app_cpu_ms_per_reminder": round(used["app"] / max(delivered, 1) * 1000, 2),
        "db_cpu_ms_per_reminder": round(used.get("nx-27017", 0) / max(delivered, 1) * 1000, 2),
    }
    log(
        f"  reminders: {delivered}/{count} delivered by 2 processes at {result['rate_per_s']}/s "
        f"(budget {budget:g}/s, peak {stats['peak_per_second']} in 1 s); sent twice "
        f"{result['sent_twice']}, early {result['early']}; app CPU "
        f"{result['app_cpu_ms_per_reminder']} ms per reminder"
    )
    return result


def seed_reminders(base: str, count: int, users: int) -> tuple[float, dict[str, Any]]:
    """Create `count` reminders all due at one moment; return (due epoch seconds, seeding).

    One untimed task per user first: it creates the users and measures how fast tasks are
    created here, so the due moment can fall just after seeding ends."""
    auths = [bot_user_headers(USER_BASE + u) for u in range(users)]
    warm = [(u, {"title": f"Bench reminders warm-up {u}"}) for u in range(users)]
    per_s = seed_tasks(base, auths, warm)["per_s"] or 1.0
    due = math.ceil(time.time() + count / per_s * 1.5 + 5)
    remind_at = dt.datetime.fromtimestamp(due, dt.UTC).isoformat()
    bodies = [
        (k % users, {"title": f"Bench reminder {k:05d}", "remind_at": remind_at})
        for k in range(count)
    ]
    seeded = seed_tasks(base, auths, bodies)
    seeded["finished_before_due_s"] = round(due - time.time(), 1)
    if seeded["finished_before_due_s"] < 0:
        log("  seeding ran past the due time: the rate is measured while tasks are created")
    return due, {k: seeded[k] for k in ("seconds", "per_s", "finished_before_due_s")}


def rows(result: dict[str, Any] | None, error: str | None) -> list[Row]:
    figure = "reminder delivery: 10,000 due at once, two app processes"
    target = f"≥ {TARGET_RATIO} {X} the send budget, never above"
    if (why := absent(result, error)) is not None:
        return [
            row(figure, why, target, "n/a"),
            row("app CPU per delivered reminder", why, "reported", "n/a"),
        ]
    assert result is not None
    ratio = result["ratio"]
    known = (
        ""
        if result["app_knows_setting"]
        else (f"; the app has no setting {result['budget_setting']}, so its own budget applied")
    )
    once = result["sent_twice"] == 0 and result["early"] == 0
    ok = (
        ratio is not None
        and ratio >= TARGET_RATIO
        and result["peak_per_second"] <= (result["budget_per_s"])
    )
    return [
        row(
            f"reminder delivery: {result['reminders']:,} due at once, {result['processes']} "
            f"app processes on one database, budget {result['budget_per_s']:g}/s "
            f"({result['budget_setting']})",
            f"{result['delivered']:,} delivered at {result['rate_per_s']}/s → {ratio}{X} the "
            f"budget (peak {result['peak_per_second']} in one second); last one "
            f"{result['last_after_due_s']} s after due; sent twice: {result['sent_twice']}, "
            f"early: {result['early']}{known}",
            target,
            yes(ok and once and result["delivered"] == result["reminders"]),
        ),
        row(
            "app CPU per delivered reminder (both processes)",
            f"{ms(result['app_cpu_ms_per_reminder'])} (embedded DB "
            f"{ms(result['db_cpu_ms_per_reminder'])})",
        ),
    ]


def details(result: dict[str, Any]) -> list[str]:
    s = result["seeding"]
    return [
        f"Reminders: {result['reminders']:,} tasks for {result['users']:,} users created "
        f"through POST {TASKS} in {s['seconds']} s ({s['per_s']}/s), finished "
        f"{s['finished_before_due_s']} s before they were due; the first was sent "
        f"{result['first_after_due_s']} s after due.",
        "",
    ]


def cpu_runs(result: dict[str, Any]) -> list[tuple[str, int, str, dict[str, Any]]]:
    return [("reminders (2 processes)", result["delivered"], "reminders", result["cpu"])]
