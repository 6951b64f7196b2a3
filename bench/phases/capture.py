"""Issue 10: bot quick capture. Plain-text messages to the webhook (10 from each of 100
users who sent /start first) become tasks; each gets a confirming reply.

Counted: webhook acks, replies on the fake Bot API, and the tasks the users then see through
`GET /api/tasks` (the bot acting for each user). Handled/s runs from the first POST to the
last reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.harness.context import bot_user_headers
from bench.harness.cpu import cpu_ms_per_unit, median, median_dict
from bench.harness.procs import log
from bench.harness.report import Row, absent, ms, row, unavailable, yes
from bench.harness.tasks_api import TASKS
from bench.phases.webhook import CONCURRENCY, message_update, post_updates, wait_for_replies

if TYPE_CHECKING:
    from bench.harness.context import Bench

NAME = "capture"
PER_USER = 10
USER_BASE = 7_000_000_000
# Plain to-dos without a time in them: a time phrase may start the reminder dialogue instead.
PHRASES = ("Buy oat milk", "Call the plumber", "Купить хлеб", "Ответить Ивану",
           "Renew the gym card", "Прочитать статью")  # fmt: skip


def run(bench: Bench) -> dict[str, Any]:
    if not bench.offers("GET", TASKS):
        return unavailable(f"no GET {TASKS} in /api/openapi.json")
    assert bench.fake is not None
    users = 20 if bench.quick else 100
    count = users * PER_USER
    chats = {"chat_min": USER_BASE, "chat_max": USER_BASE + users - 1}
    # The users start the bot first, as people do (untimed): capture is then the steady case.
    starts = [message_update(60_000_000 + u, USER_BASE + u, "/start") for u in range(users)]
    bench.fake.call("benchReset")
    post_updates(bench, starts, CONCURRENCY)
    wait_for_replies(bench, chats, users, timeout=60)
    runs = []
    for i in range(bench.runs):
        update_base = 61_000_000 + 100_000 * i
        texts = [f"{PHRASES[k % len(PHRASES)]} {i + 1}-{k}" for k in range(count)]
        updates = [
            message_update(update_base + k, USER_BASE + k % users, text)
            for k, text in enumerate(texts)
        ]
        bench.fake.call("benchReset")
        with bench.profiler.record(f"capture-{i + 1}", bench.service.pid), bench.meter() as cpu:
            acks = post_updates(bench, updates, CONCURRENCY)
            stats = wait_for_replies(bench, chats, count, timeout=180)
        handled_s = (stats["last"] - acks["t_first_send_monotonic"]) if stats["last"] else None
        captured = tasks_seen(bench, users, set(texts))
        outcome = {
            "count": count,
            "acked_200": acks["acked"],
            "ack_statuses": acks["statuses"],
            "ack_latency": acks["ack_latency"],
            "acks_per_s": acks["acks_per_s"],
            "replies": stats["send_message"],
            "tasks_seen": captured,
            "handled_per_s": round(count / handled_s, 1) if handled_s else None,
            "cpu": cpu.result,
            "cpu_ms_per_update": cpu_ms_per_unit(cpu.result, count),
        }
        runs.append(outcome)
        log(
            f"  capture run {i + 1}: acked {acks['acked']}/{count}, replies "
            f"{stats['send_message']}, tasks seen {captured}; handled "
            f"{outcome['handled_per_s']}/s, ack p99 {acks['ack_latency']['p99_ms']} ms"
        )
    bench.rss_mark("after bot capture runs")
    return {
        "users": users,
        "count": count,
        "concurrency": CONCURRENCY,
        "runs": runs,
        "all_captured": all(r["tasks_seen"] == r["count"] == r["replies"] for r in runs),
        "handled_per_s": median([r["handled_per_s"] for r in runs]),
        "acks_per_s": median([r["acks_per_s"] for r in runs]),
        "ack_p99_ms": median([r["ack_latency"]["p99_ms"] for r in runs]),
        "cpu_ms_per_update": median_dict([r["cpu_ms_per_update"] for r in runs]),
    }


def tasks_seen(bench: Bench, users: int, texts: set[str]) -> int:
    """How many of the sent texts are now tasks, as each user sees them through the API."""
    found = 0
    for u in range(users):
        status, page = bench.call(
            "GET", f"{TASKS}?limit=100", headers=bot_user_headers(USER_BASE + u)
        )
        if status == 200 and isinstance(page, dict):
            found += sum(1 for task in page.get("items", []) if task.get("title") in texts)
    return found


def rows(result: dict[str, Any] | None, error: str | None) -> list[Row]:
    figure = "bot capture: plain-text messages to the webhook become tasks"
    if (why := absent(result, error)) is not None:
        return [row(figure, why, "reported", "n/a")]
    assert result is not None
    first = result["runs"][0]
    per = result["cpu_ms_per_update"]
    return [
        row(
            f"bot capture: {result['count']:,} plain-text messages from {result['users']} "
            f"users, concurrency {result['concurrency']}",
            f"{result['handled_per_s']:.0f} handled/s (first POST → last reply), "
            f"{result['acks_per_s']:.0f} acked/s, ack p99 {ms(result['ack_p99_ms'])}; app CPU "
            f"{per['app event loop']} ms per update; run 1: {first['acked_200']} acked, "
            f"{first['replies']} replies, {first['tasks_seen']} tasks seen through the API",
            "every message a task, reported",
            yes(result["all_captured"]),
        )
    ]


def details(result: dict[str, Any]) -> list[str]:
    lines = [
        "Bot capture, per run:",
        "",
        "| run | acked 200 | replies | tasks seen | ack p50 / p99 / max | acked/s | handled/s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, r in enumerate(result["runs"], 1):
        a = r["ack_latency"]
        lines.append(
            f"| {i} | {r['acked_200']} | {r['replies']} | {r['tasks_seen']} | {a['p50_ms']} / "
            f"{a['p99_ms']} / {a['max_ms']} ms | {r['acks_per_s']} | {r['handled_per_s']} |"
        )
    return [*lines, ""]


def cpu_runs(result: dict[str, Any]) -> list[tuple[str, int, str, dict[str, Any]]]:
    return [
        (f"bot capture {i}", r["count"], "updates", r["cpu"])
        for i, r in enumerate(result["runs"], 1)
    ]
