"""The load generators' side: helpers for the client coroutines in the phase modules, and the
entry point that runs one of them in its own process.

    python -m bench.harness.client bench.phases.logins:login_storm < args.json

reads keyword arguments as JSON on stdin, runs the coroutine, prints its result as one JSON
line. Every request loop is bounded in count or time and targets only the given loopback URL.
Only the standard library and aiohttp are imported here: this process's CPU is counted as the
load generator's.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from collections import Counter
from typing import Any

import aiohttp


def summarize(latencies: list[float]) -> dict[str, Any]:
    """Nearest-rank percentiles of latencies in seconds, reported in milliseconds."""
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


def session(concurrency: int, timeout: float = 60.0) -> aiohttp.ClientSession:
    """A client session for `concurrency` requests in flight (0: no limit)."""
    limit = concurrency + 8 if concurrency else 0
    connector = aiohttp.TCPConnector(limit=limit, ttl_dns_cache=None)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout))


async def probe_health(
    http: aiohttp.ClientSession, base: str, start_at: float, stop_at: float, interval: float
) -> dict[str, Any]:
    """A sequential `GET /health` every `interval` between two perf_counter times: what a
    platform's health check (or any cheap request) feels beside a load."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    next_at = time.perf_counter()
    while (now := time.perf_counter()) < stop_at:
        try:
            async with http.get(f"{base}/health") as resp:
                await resp.read()
                statuses[str(resp.status)] += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            errors[type(exc).__name__] += 1
            await asyncio.sleep(interval)
            continue
        latencies.append(time.perf_counter() - now)
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    return {**summarize(latencies), "statuses": dict(statuses), "errors": dict(errors)}


async def fixed(
    url: str, headers: dict[str, str], concurrency: int, duration: float, warmup: float = 0.5
) -> dict[str, Any]:
    """One GET repeated by `concurrency` workers: wrk's stand-in when wrk is missing."""
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    async with session(concurrency) as http:
        measure_from = time.perf_counter() + warmup
        stop_at = measure_from + duration

        async def worker() -> None:
            while (now := time.perf_counter()) < stop_at:
                try:
                    async with http.get(url, headers=headers) as resp:
                        await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                if now >= measure_from:
                    latencies.append(time.perf_counter() - now)
                    statuses[str(status)] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    total = sum(statuses.values())
    return {
        "tool": "aiohttp-loadgen",
        "requests": total,
        "rps": round(total / duration, 1),
        "non_2xx": total - statuses.get("200", 0),
        "statuses": dict(statuses),
        "errors": dict(errors),
        **summarize(latencies),
    }


def main() -> None:
    module_name, _, function_name = sys.argv[1].partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    kwargs = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(function(**kwargs))), flush=True)


if __name__ == "__main__":
    main()
