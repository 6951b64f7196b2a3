"""A small aiohttp load generator, run by bench/run.py in its own process.

Used where wrk does not fit (distinct bodies per request, per-request status accounting,
a latency probe beside a storm) and as wrk's stand-in for the fixed-request throughput rows
when wrk is missing. Every mode prints one JSON object on stdout.

    python bench/loadgen.py fixed   --url URL [--header K:V]... --concurrency 64 --duration 5
    python bench/loadgen.py login   --base URL --users FILE --concurrency 32 --duration 8
    python bench/loadgen.py webhook --base URL --secret S --count 1000 --concurrency 50 ...
    python bench/loadgen.py sweep   --url URL --tokens FILE --concurrency 64
    python bench/loadgen.py forms   --base URL --concurrency 4 --duration 8

All request loops are bounded in count or time, and target only the URL given (loopback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def summarize(latencies: list[float]) -> dict[str, float | int | None]:
    """Nearest-rank percentiles, in milliseconds."""
    if not latencies:
        return {"n": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.4999)))
        return round(ordered[rank - 1] * 1000, 3)

    return {
        "n": len(ordered),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": round(ordered[-1] * 1000, 3),
        "mean_ms": round(sum(ordered) / len(ordered) * 1000, 3),
    }


def session(concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency + 8, ttl_dns_cache=None)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))


# ---------------------------------------------------------------------------- fixed


async def fixed(args: argparse.Namespace) -> dict[str, Any]:
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    async with session(args.concurrency) as http:
        start = time.perf_counter()
        measure_from = start + args.warmup
        stop_at = measure_from + args.duration

        async def worker() -> None:
            while (now := time.perf_counter()) < stop_at:
                try:
                    async with http.get(args.url, headers=headers) as resp:
                        await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                if now >= measure_from:
                    latencies.append(time.perf_counter() - now)
                    statuses[str(status)] += 1

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    ok = statuses.get("200", 0)
    return {
        "tool": "aiohttp-loadgen",
        "requests": sum(statuses.values()),
        "rps": round(sum(statuses.values()) / args.duration, 1),
        "non_2xx": sum(statuses.values()) - ok,
        "statuses": dict(statuses),
        "errors": dict(errors),
        **summarize(latencies),
    }


# ---------------------------------------------------------------------------- login


async def login(args: argparse.Namespace, users: list[list[str]]) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    probe: list[float] = []
    probe_statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    async with session(args.concurrency + 1) as http:
        start = time.perf_counter()
        measure_from = start + args.warmup
        stop_at = measure_from + args.duration
        done_in_window = 0
        done_total = 0

        async def worker(i: int) -> None:
            nonlocal done_in_window, done_total
            # One user per worker: never more than one attempt in flight per username.
            username, password = users[i % len(users)]
            body = {"username": username, "password": password}
            while (now := time.perf_counter()) < stop_at:
                try:
                    async with http.post(f"{args.base}/api/auth/login", json=body) as resp:
                        await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                end = time.perf_counter()
                done_total += 1
                if measure_from <= end <= stop_at:
                    statuses[str(status)] += 1
                    latencies.append(end - now)
                    if status == 200:
                        done_in_window += 1

        async def prober() -> None:
            # A sequential GET /health every probe_interval during the measured window.
            await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
            next_at = time.perf_counter()
            while (now := time.perf_counter()) < stop_at:
                try:
                    async with http.get(f"{args.base}/health") as resp:
                        await resp.read()
                        probe_statuses[str(resp.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[f"probe {type(exc).__name__}"] += 1
                    await asyncio.sleep(args.probe_interval)
                    continue
                probe.append(time.perf_counter() - now)
                next_at += args.probe_interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

        await asyncio.gather(prober(), *(worker(i) for i in range(args.concurrency)))
    return {
        "logins": done_in_window,
        "requests_total": done_total,
        "logins_per_s": round(done_in_window / args.duration, 2),
        "statuses": dict(statuses),
        "errors": dict(errors),
        "login_latency": summarize(latencies),
        "health_probe": {**summarize(probe), "statuses": dict(probe_statuses)},
    }


# ---------------------------------------------------------------------------- forms


async def forms(args: argparse.Namespace) -> dict[str, Any]:
    """`--concurrency` clients post the largest allowed `a&a&…` login form (the review's
    one-request freeze, issue 9) back to back; a prober times GET /health meanwhile."""
    body = (b"a&" * (args.size // 2 + 1))[: args.size]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    probe: list[float] = []
    errors: Counter[str] = Counter()
    async with session(args.concurrency + 1) as http:
        stop_at = time.perf_counter() + args.duration

        async def worker() -> None:
            while (now := time.perf_counter()) < stop_at:
                try:
                    async with http.post(
                        f"{args.base}/api/auth/login", data=body, headers=headers
                    ) as resp:
                        await resp.read()
                        statuses[str(resp.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - now)

        async def prober() -> None:
            while (now := time.perf_counter()) < stop_at:
                try:
                    async with http.get(f"{args.base}/health") as resp:
                        await resp.read()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[f"probe {type(exc).__name__}"] += 1
                else:
                    probe.append(time.perf_counter() - now)
                await asyncio.sleep(args.probe_interval)

        await asyncio.gather(prober(), *(worker() for _ in range(args.concurrency)))
    return {
        "form_bytes": len(body),
        "forms": len(latencies),
        "statuses": dict(statuses),
        "errors": dict(errors),
        "form_latency": summarize(latencies),
        "health_probe": summarize(probe),
    }


# -------------------------------------------------------------------------- webhook


def start_update(update_id: int, user_id: int) -> dict[str, Any]:
    lang = "ru" if user_id % 2 else "en"
    user = {"id": user_id, "is_bot": False, "first_name": f"Bench{user_id % 100000}"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
            "from": {**user, "language_code": lang},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def webhook(args: argparse.Namespace) -> dict[str, Any]:
    updates = [
        json.dumps(start_update(args.update_base + k, args.user_base + k)).encode()
        for k in range(args.count)
    ]
    headers = {SECRET_HEADER: args.secret, "Content-Type": "application/json"}
    url = f"{args.base}/telegram/webhook"

    async def deliver(bodies: list[bytes]) -> tuple[Counter[str], list[float], Counter[str]]:
        statuses: Counter[str] = Counter()
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        queue = iter(bodies)

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

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        return statuses, latencies, errors

    async with session(args.concurrency) as http:
        t0_mono = time.monotonic()
        t0 = time.perf_counter()
        statuses, latencies, errors = await deliver(updates)
        elapsed = time.perf_counter() - t0
        t1_mono = time.monotonic()
        redelivered: dict[str, Any] = {}
        if args.redeliver:
            # Telegram redelivers when it misses an answer: these must be acknowledged again
            # and not handled a second time.
            r_statuses, _, r_errors = await deliver(updates[: args.redeliver])
            redelivered = {
                "count": args.redeliver,
                "statuses": dict(r_statuses),
                "errors": dict(r_errors),
            }
    return {
        "count": args.count,
        "statuses": dict(statuses),
        "errors": dict(errors),
        "acked": statuses.get("200", 0),
        "ack_seconds": round(elapsed, 4),
        "acks_per_s": round(args.count / elapsed, 1),
        "t_first_send_monotonic": t0_mono,
        "t_last_ack_monotonic": t1_mono,
        "ack_latency": summarize(latencies),
        "redelivered": redelivered,
    }


# ---------------------------------------------------------------------------- sweep


async def sweep(args: argparse.Namespace, tokens: list[str]) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    queue = iter(tokens)
    async with session(args.concurrency) as http:

        async def worker() -> None:
            for token in queue:
                begin = time.perf_counter()
                try:
                    headers = {"Authorization": f"Bearer {token}"}
                    async with http.get(args.url, headers=headers) as resp:
                        await resp.read()
                        statuses[str(resp.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - begin)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - t0
    return {
        "requests": len(tokens),
        "rps": round(len(tokens) / elapsed, 1),
        "statuses": dict(statuses),
        "errors": dict(errors),
        **summarize(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)

    p = modes.add_parser("fixed")
    p.add_argument("--url", required=True)
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=0.5)

    p = modes.add_parser("login")
    p.add_argument("--base", required=True)
    p.add_argument("--users", required=True)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--probe-interval", type=float, default=0.02)

    p = modes.add_parser("webhook")
    p.add_argument("--base", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--update-base", type=int, required=True)
    p.add_argument("--user-base", type=int, required=True)
    p.add_argument("--redeliver", type=int, default=0)

    p = modes.add_parser("forms")
    p.add_argument("--base", required=True)
    p.add_argument("--size", type=int, default=65_535)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--probe-interval", type=float, default=0.02)

    p = modes.add_parser("sweep")
    p.add_argument("--url", required=True)
    p.add_argument("--tokens", required=True)
    p.add_argument("--concurrency", type=int, default=64)

    args = parser.parse_args()
    if args.mode == "login":
        users = json.loads(Path(args.users).read_text())
        result = asyncio.run(login(args, users))
    elif args.mode == "sweep":
        tokens = json.loads(Path(args.tokens).read_text())
        result = asyncio.run(sweep(args, tokens))
    else:
        result = asyncio.run({"fixed": fixed, "webhook": webhook, "forms": forms}[args.mode](args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
