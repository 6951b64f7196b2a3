"""Logins/s against the argon2 floor, and `GET /health` p99 while the logins saturate hashing.

32 users registered through the API; 32 clients, one user each, log in for 8 s (1 s
warm-up). The floor: cores times single-thread `PasswordHasher.verify`/s with the service's
parameters, measured just before each storm (and the rate of `cores` threads hashing
together, for comparison).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.harness.client import probe_health, session, summarize
from bench.harness.cpu import cpu_ms_per_unit, median, median_dict
from bench.harness.load import run_client
from bench.harness.procs import log
from bench.harness.report import Row, X, absent, ms, row, yes

if TYPE_CHECKING:
    from bench.harness.context import Bench

NAME = "logins"
CONCURRENCY = 32


def run(bench: Bench) -> dict[str, Any]:
    users = []
    for _ in range(CONCURRENCY):
        account = bench.register("bench_login")
        users.append([account["username"], account["password"]])
    duration = 3.0 if bench.quick else 8.0
    floor_seconds = 1.5 if bench.quick else 2.5
    runs = []
    for i in range(bench.runs):
        floor = argon2_floor(bench.argon2, bench.cores, floor_seconds)
        with bench.profiler.record(f"login-storm-{i + 1}", bench.service.pid), bench.meter() as cpu:
            storm = run_client(
                "bench.phases.logins:login_storm",
                base=bench.service.base,
                users=users,
                concurrency=CONCURRENCY,
                duration=duration,
            )
        target = bench.cores * floor["single_thread_per_s"]
        outcome = {
            **storm,
            "cpu": cpu.result,
            "cpu_ms_per_login": cpu_ms_per_unit(cpu.result, storm["requests_total"]),
            "argon2": floor,
            "floor_per_s": round(target, 2),
            "ratio": round(storm["logins_per_s"] / target, 3),
            "ratio_vs_parallel_measured": round(storm["logins_per_s"] / floor["parallel_per_s"], 3),
        }
        runs.append(outcome)
        probe = storm["health_probe"]
        log(
            f"  login run {i + 1}: {storm['logins_per_s']} logins/s vs floor {target:.1f} "
            f"({outcome['ratio']}x); /health p99 {probe['p99_ms']} ms over {probe['n']} probes; "
            f"statuses {storm['statuses']}"
        )
    bench.rss_mark("after login storms")
    return {
        "concurrency": CONCURRENCY,
        "duration_s": duration,
        "cores": bench.cores,
        "hash_workers": os.environ.get("HASH_WORKERS") or "0 (one per core)",
        "runs": runs,
        "logins_per_s": median([r["logins_per_s"] for r in runs]),
        "floor_per_s": median([r["floor_per_s"] for r in runs]),
        "ratio": median([r["ratio"] for r in runs]),
        "parallel_measured_per_s": median([r["argon2"]["parallel_per_s"] for r in runs]),
        "ratio_vs_parallel": median([r["ratio_vs_parallel_measured"] for r in runs]),
        "cpu_ms_per_login": median_dict([r["cpu_ms_per_login"] for r in runs]),
        "verify_ms_single_thread": round(
            1000 / median([r["argon2"]["single_thread_per_s"] for r in runs]), 2
        ),
        "health_p99_ms": median([r["health_probe"]["p99_ms"] for r in runs]),
        "health_p50_ms": median([r["health_probe"]["p50_ms"] for r in runs]),
        "health_max_ms": max(r["health_probe"]["max_ms"] or 0 for r in runs),
        "health_probes": sum(r["health_probe"]["n"] for r in runs),
        "non_200": sum(n for r in runs for s, n in r["statuses"].items() if s != "200"),
    }


def argon2_floor(params: dict[str, int], cores: int, seconds: float) -> dict[str, float]:
    """Verifies/s of one thread, and of `cores` threads together, same parameters."""
    import secrets

    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher(type=Type.ID, **params)
    password = secrets.token_urlsafe(18)
    digest = hasher.hash(password)

    def spin(counts: list[int], index: int, stop_at: float) -> None:
        n = 0
        while time.perf_counter() < stop_at:
            hasher.verify(digest, password)
            n += 1
        counts[index] = n

    def rate(threads: int) -> float:
        counts = [0] * threads
        start = time.perf_counter()
        workers = [
            threading.Thread(target=spin, args=(counts, i, start + seconds)) for i in range(threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return sum(counts) / (time.perf_counter() - start)

    single = rate(1)
    return {"single_thread_per_s": round(single, 2), "parallel_per_s": round(rate(cores), 2)}


# ----------------------------------------------------------- in the client process


async def login_storm(
    base: str,
    users: list[list[str]],
    concurrency: int,
    duration: float,
    warmup: float = 1.0,
    probe_interval: float = 0.02,
) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    done_in_window = done_total = 0
    async with session(concurrency + 1) as http:
        measure_from = time.perf_counter() + warmup
        stop_at = measure_from + duration

        async def worker(i: int) -> None:
            nonlocal done_in_window, done_total
            # One user per worker: never more than one attempt in flight per username.
            username, password = users[i % len(users)]
            body = {"username": username, "password": password}
            while (now := time.perf_counter()) < stop_at:
                try:
                    async with http.post(f"{base}/api/auth/login", json=body) as resp:
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
                    done_in_window += status == 200

        probe, *_ = await asyncio.gather(
            probe_health(http, base, measure_from, stop_at, probe_interval),
            *(worker(i) for i in range(concurrency)),
        )
    errors.update({f"probe {k}": v for k, v in probe.pop("errors").items()})
    return {
        "logins": done_in_window,
        "requests_total": done_total,
        "logins_per_s": round(done_in_window / duration, 2),
        "statuses": dict(statuses),
        "errors": dict(errors),
        "login_latency": summarize(latencies),
        "health_probe": probe,
    }


# ------------------------------------------------------------------- the report


def rows(result: dict[str, Any] | None, error: str | None) -> list[Row]:
    if (why := absent(result, error)) is not None:
        return [
            row("logins/s vs argon2 floor", why, f"≥ 0.8 {X} floor", "n/a"),
            row("GET /health p99 during login storm", why, "≤ 25 ms", "n/a"),
        ]
    assert result is not None
    per = result["cpu_ms_per_login"]
    return [
        row(
            f"logins/s at concurrency {result['concurrency']} vs argon2 floor "
            f"({result['cores']} cores {X} single-thread verifies/s)",
            f"{result['logins_per_s']:.1f}/s vs {result['floor_per_s']:.1f}/s → "
            f"{result['ratio']:.2f}{X} (vs {result['cores']} hashing threads measured "
            f"together, {result['parallel_measured_per_s']:.1f}/s: "
            f"{result['ratio_vs_parallel']:.2f}{X})",
            f"≥ 0.8 {X} floor",
            yes(result["ratio"] >= 0.8),
        ),
        row(
            f"CPU per login (the same {result['cores']} cores run the app, its database and "
            "the client)",
            f"app event loop {per['app event loop']} ms + hashing threads "
            f"{per['app other threads (hashing)']} ms + embedded DB {per['embedded DB']} ms "
            f"+ load generator {per['load generator']} ms (one verify alone: "
            f"{result['verify_ms_single_thread']} ms)",
        ),
        row(
            "GET /health p99 while the login storm saturates hashing",
            f"{ms(result['health_p99_ms'])} (p50 {ms(result['health_p50_ms'])}, "
            f"{result['health_probes']} probes)",
            "≤ 25 ms",
            yes(result["health_p99_ms"] <= 25),
        ),
    ]


def details(result: dict[str, Any]) -> list[str]:
    lines = [
        "Login storm, per run:",
        "",
        "| run | logins/s | 1-thread verifies/s | floor | ratio | measured "
        f"{result['cores']}-thread verifies/s | /health p50 / p99 / max | statuses |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, r in enumerate(result["runs"], 1):
        p = r["health_probe"]
        lines.append(
            f"| {i} | {r['logins_per_s']} | {r['argon2']['single_thread_per_s']} | "
            f"{r['floor_per_s']} | {r['ratio']} | {r['argon2']['parallel_per_s']} | "
            f"{p['p50_ms']} / {p['p99_ms']} / {p['max_ms']} ms | {r['statuses']} |"
        )
    return [*lines, ""]


def cpu_runs(result: dict[str, Any]) -> list[tuple[str, int, str, dict[str, Any]]]:
    return [
        (f"login storm {i}", r["requests_total"], "requests", r["cpu"])
        for i, r in enumerate(result["runs"], 1)
    ]
