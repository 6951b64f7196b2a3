"""The webhook: 1,000 `/start` updates from distinct users, 50 in flight, each acknowledged
and handled exactly once; then 100 of them delivered again (acknowledged, not re-handled);
then the same path one update at a time.

Checked against the fake Bot API (one `sendMessage` per chat) and MongoDB (1,000 update
records, 1,000 new users). Ack latency is the POST's round trip; handled/s runs from the
first POST to the last reply.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.harness.client import session, summarize
from bench.harness.context import WEBHOOK_SECRET
from bench.harness.cpu import cpu_ms_per_unit, median, median_dict
from bench.harness.load import run_client
from bench.harness.procs import log
from bench.harness.report import Row, absent, ms, row, yes

if TYPE_CHECKING:
    from bench.harness.context import Bench

NAME = "webhook"
CONCURRENCY = 50
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def message_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A private-chat message as Telegram sends it (a command gets its entity)."""
    user = {"id": user_id, "is_bot": False, "first_name": f"Bench{user_id % 100000}"}
    message: dict[str, Any] = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
        "from": {**user, "language_code": "ru" if user_id % 2 else "en"},
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


def post_updates(
    bench: Bench, updates: list[dict[str, Any]], concurrency: int, redeliver: int = 0
) -> dict[str, Any]:
    """POST the updates to the service's webhook from a client process."""
    return run_client(
        "bench.phases.webhook:deliver",
        base=bench.service.base,
        secret=WEBHOOK_SECRET,
        updates=updates,
        concurrency=concurrency,
        redeliver=redeliver,
    )


def wait_for_replies(bench: Bench, chats: dict[str, int], count: int, timeout: float) -> Any:
    """The fake Bot API's stats for the chat range, once `count` messages arrived (or at the
    deadline)."""
    assert bench.fake is not None
    deadline = time.monotonic() + timeout
    stats = bench.fake.call("benchStats", **chats)
    while stats["send_message"] < count and time.monotonic() < deadline:
        time.sleep(0.05)
        stats = bench.fake.call("benchStats", **chats)
    return stats


def run(bench: Bench) -> dict[str, Any]:
    from pymongo import MongoClient

    assert bench.fake is not None
    count = 200 if bench.quick else 1000
    redeliver = min(100, count)
    db = MongoClient(bench.mongo_uri(), serverSelectionTimeoutMS=10000)[bench.db_name]
    runs = []
    for i in range(bench.runs):
        update_base = 10_000_000 * (i + 1)
        user_base = 5_000_000_000 + 1_000_000 * (i + 1)
        updates = [message_update(update_base + k, user_base + k, "/start") for k in range(count)]
        chats = {"chat_min": user_base, "chat_max": user_base + count - 1}
        bench.fake.call("benchReset")
        with bench.profiler.record(f"webhook-{i + 1}", bench.service.pid), bench.meter() as cpu:
            acks = post_updates(bench, updates, CONCURRENCY, redeliver)
            wait_for_replies(bench, chats, count, timeout=120)
        time.sleep(1.0)  # time for a wrongly re-handled redelivery to show up
        stats = bench.fake.call("benchStats", **chats)
        recorded = db.telegram_updates.count_documents(
            {"update_id": {"$gte": update_base, "$lt": update_base + count}}
        )
        users = db.users.count_documents(
            {"telegram_id": {"$gte": user_base, "$lt": user_base + count}}
        )
        handled_s = (stats["last"] - acks["t_first_send_monotonic"]) if stats["last"] else None
        redelivered_ok = acks["redelivered"].get("statuses", {}).get("200", 0)
        exactly_once = (
            acks["acked"] == count
            and stats["send_message"] == count
            and stats["distinct_chats"] == count
            and stats["chats_more_than_once"] == 0
            and recorded == count
            and users == count
            and redelivered_ok == redeliver
        )
        outcome = {
            "count": count,
            "acked_200": acks["acked"],
            "ack_statuses": acks["statuses"],
            "ack_errors": acks["errors"],
            "ack_latency": acks["ack_latency"],
            "acks_per_s": acks["acks_per_s"],
            "replies": stats["send_message"],
            "distinct_chats": stats["distinct_chats"],
            "chats_replied_more_than_once": stats["chats_more_than_once"],
            "updates_recorded": recorded,
            "users_created": users,
            "redelivered": redeliver,
            "redelivered_acked_200": redelivered_ok,
            "handled_seconds": round(handled_s, 3) if handled_s else None,
            "handled_per_s": round(count / handled_s, 1) if handled_s else None,
            "exactly_once": exactly_once,
            "cpu": cpu.result,
            "cpu_ms_per_update": cpu_ms_per_unit(cpu.result, count + redeliver),
        }
        runs.append(outcome)
        log(
            f"  webhook run {i + 1}: acked {acks['acked']}/{count}, replies "
            f"{stats['send_message']} to {stats['distinct_chats']} chats, recorded {recorded}, "
            f"users {users}; ack p99 {acks['ack_latency']['p99_ms']} ms, "
            f"{acks['acks_per_s']} acks/s, handled {outcome['handled_per_s']}/s; "
            f"exactly once: {exactly_once}"
        )
    db.client.close()
    # The same path one update at a time: the ack's own cost, without queueing.
    single_updates = [message_update(90_000_000 + k, 5_900_000_000 + k, "/start") for k in
                      range(100)]  # fmt: skip
    single = post_updates(bench, single_updates, concurrency=1)
    log(
        f"  webhook at concurrency 1: ack p50 {single['ack_latency']['p50_ms']} ms, "
        f"p99 {single['ack_latency']['p99_ms']} ms"
    )
    bench.rss_mark("after webhook runs")
    return {
        "count": count,
        "concurrency": CONCURRENCY,
        "concurrency_1": {
            "count": 100,
            "ack_latency": single["ack_latency"],
            "acks_per_s": single["acks_per_s"],
        },
        "runs": runs,
        "exactly_once": all(r["exactly_once"] for r in runs),
        "ack_p99_ms": median([r["ack_latency"]["p99_ms"] for r in runs]),
        "ack_p50_ms": median([r["ack_latency"]["p50_ms"] for r in runs]),
        "acks_per_s": median([r["acks_per_s"] for r in runs]),
        "handled_per_s": median([r["handled_per_s"] for r in runs]),
        "cpu_ms_per_update": median_dict([r["cpu_ms_per_update"] for r in runs]),
    }


# ----------------------------------------------------------- in the client process


async def deliver(
    base: str,
    secret: str,
    updates: list[dict[str, Any]],
    concurrency: int,
    redeliver: int = 0,
) -> dict[str, Any]:
    import json

    bodies = [json.dumps(update).encode() for update in updates]
    headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}
    url = f"{base}/telegram/webhook"

    async def post_all(todo: list[bytes]) -> tuple[Counter[str], list[float], Counter[str]]:
        statuses: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        latencies: list[float] = []
        queue = iter(todo)

        async def worker() -> None:
            for body in queue:  # shared iterator: each body is sent by exactly one worker
                begin = time.perf_counter()
                try:
                    async with http.post(url, data=body, headers=headers) as resp:
                        await resp.read()
                        statuses[str(resp.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - begin)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return statuses, latencies, errors

    async with session(concurrency) as http:
        t0_mono, t0 = time.monotonic(), time.perf_counter()
        statuses, latencies, errors = await post_all(bodies)
        elapsed = time.perf_counter() - t0
        t1_mono = time.monotonic()
        redelivered: dict[str, Any] = {}
        if redeliver:
            # Telegram redelivers when it misses an answer: these must be acknowledged again
            # and not handled a second time.
            r_statuses, _, r_errors = await post_all(bodies[:redeliver])
            redelivered = {
                "count": redeliver,
                "statuses": dict(r_statuses),
                "errors": dict(r_errors),
            }
    return {
        "count": len(bodies),
        "statuses": dict(statuses),
        "errors": dict(errors),
        "acked": statuses.get("200", 0),
        "ack_seconds": round(elapsed, 4),
        "acks_per_s": round(len(bodies) / elapsed, 1),
        "t_first_send_monotonic": t0_mono,
        "t_last_ack_monotonic": t1_mono,
        "ack_latency": summarize(latencies),
        "redelivered": redelivered,
    }


# ------------------------------------------------------------------- the report


def rows(result: dict[str, Any] | None, error: str | None) -> list[Row]:
    if (why := absent(result, error)) is not None:
        return [row("webhook: exactly once, ack p99, updates/s", why, "", "n/a")]
    assert result is not None
    first = result["runs"][0]
    single = result.get("concurrency_1", {}).get("ack_latency", {})
    alone = (
        f"; one at a time: p50 {ms(single['p50_ms'])}, p99 {ms(single['p99_ms'])}"
        if single.get("p99_ms") is not None
        else ""
    )
    per = result["cpu_ms_per_update"]
    return [
        row(
            f"webhook: {result['count']:,} /start updates from distinct users, concurrency "
            f"{result['concurrency']}: acknowledged and handled exactly once",
            f"{'yes' if result['exactly_once'] else 'NO'} in every run (run 1: "
            f"{first['acked_200']} acked 200, {first['replies']} replies to "
            f"{first['distinct_chats']} chats, {first['updates_recorded']} updates recorded, "
            f"{first['users_created']} users; {first['redelivered']} redeliveries acked, "
            "not re-handled)",
            "every update once",
            yes(result["exactly_once"]),
        ),
        row(
            f"webhook ack p99 at concurrency {result['concurrency']}",
            f"{ms(result['ack_p99_ms'])} (p50 {ms(result['ack_p50_ms'])}{alone})",
            "≤ 50 ms",
            yes(result["ack_p99_ms"] <= 50),
        ),
        row(
            "webhook updates/s",
            f"{result['acks_per_s']:.0f} acked/s; {result['handled_per_s']:.0f} handled/s "
            f"(first POST → last reply); CPU per update: app {per['app event loop']} ms, "
            f"embedded DB {per['embedded DB']} ms, fake Bot API {per['fake Bot API']} ms, "
            f"load generator {per['load generator']} ms",
        ),
    ]


def details(result: dict[str, Any]) -> list[str]:
    lines = [
        "Webhook, per run:",
        "",
        "| run | acked 200 | replies | distinct chats | recorded | users | redeliveries acked "
        "| ack p50 / p99 / max | acked/s | handled/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, r in enumerate(result["runs"], 1):
        a = r["ack_latency"]
        lines.append(
            f"| {i} | {r['acked_200']} | {r['replies']} | {r['distinct_chats']} | "
            f"{r['updates_recorded']} | {r['users_created']} | "
            f"{r['redelivered_acked_200']}/{r['redelivered']} | "
            f"{a['p50_ms']} / {a['p99_ms']} / {a['max_ms']} ms | {r['acks_per_s']} | "
            f"{r['handled_per_s']} |"
        )
    return [*lines, ""]


def cpu_runs(result: dict[str, Any]) -> list[tuple[str, int, str, dict[str, Any]]]:
    return [
        (f"webhook {i}", r["count"] + r["redelivered"], "requests", r["cpu"])
        for i, r in enumerate(result["runs"], 1)
    ]
