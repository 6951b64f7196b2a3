"""Fixed-request throughput at concurrency 64: `/health`, and `/api/auth/me` as a user with
a Bearer token and as the bot acting for a Telegram user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.harness.context import bot_user_headers
from bench.harness.cpu import median
from bench.harness.load import fixed_load
from bench.harness.procs import log
from bench.harness.report import Row, absent, ms, row

if TYPE_CHECKING:
    from bench.harness.context import Bench

NAME = "throughput"
CONCURRENCY = 64
BOT_USER_ID = 777000001  # X-Telegram-User-Id of the Bot + user row
FIGURES = {
    "health": "GET /health",
    "me_bearer": "GET /api/auth/me (Bearer)",
    "me_bot_user": "GET /api/auth/me (Bot + X-Telegram-User-Id)",
}


def run(bench: Bench) -> dict[str, Any]:
    me = bench.register("bench_me")
    targets = {
        "health": ("/health", {}),
        "me_bearer": ("/api/auth/me", {"Authorization": f"Bearer {me['access_token']}"}),
        "me_bot_user": ("/api/auth/me", bot_user_headers(BOT_USER_ID)),
    }
    result: dict[str, Any] = {
        "concurrency": CONCURRENCY,
        "tool": "wrk" if bench.wrk_path else "aiohttp-loadgen",
        **measure(bench, targets, "requests"),
    }
    bench.rss_mark("after throughput runs")
    return result


def measure(
    bench: Bench, targets: dict[str, tuple[str, dict[str, str]]], unit: str
) -> dict[str, Any]:
    """Each target `bench.runs` times (after a warm-up); per target the runs and medians.
    Shared with the task-list phase."""
    duration = 2.0 if bench.quick else 5.0
    service = bench.service

    def once(path: str, headers: dict[str, str], seconds: float) -> dict[str, Any]:
        return fixed_load(bench.wrk_path, service.base + path, headers, CONCURRENCY, seconds)

    for path, headers in targets.values():  # warm-up: connections, caches, the bot user
        once(path, headers, 1.0)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for i in range(bench.runs):
        for name, (path, headers) in targets.items():
            with bench.profiler.record(f"{name}-{i + 1}", service.pid), bench.meter() as cpu:
                r = once(path, headers, duration)
            r["cpu"] = cpu.result
            runs[name].append(r)
            log(
                f"  {name} run {i + 1}: {r['rps']} req/s, p50 {r['p50_ms']:.2f} ms, "
                f"p99 {r['p99_ms']:.2f} ms, non-2xx {r['non_2xx']}"
            )
    out: dict[str, Any] = {"duration_s": duration, "unit": unit}
    for name, rs in runs.items():
        out[name] = {
            "runs": rs,
            "rps": median([r["rps"] for r in rs]),
            "p50_ms": median([r["p50_ms"] for r in rs]),
            "p99_ms": median([r["p99_ms"] for r in rs]),
            "non_2xx": sum(r["non_2xx"] for r in rs),
            "app_cpu_ms_per_request": median(
                [r["cpu"]["cpu_s"]["app"] / max(r["requests"], 1) * 1000 for r in rs]
            ),
        }
    return out


def rows(result: dict[str, Any] | None, error: str | None) -> list[Row]:
    if (why := absent(result, error)) is not None:
        return [row(f"{name} req/s", why) for name in FIGURES.values()]
    assert result is not None
    return [figure_row(result, key, name) for key, name in FIGURES.items()]


def figure_row(result: dict[str, Any], key: str, name: str) -> Row:
    t = result[key]
    bad = f", {t['non_2xx']} non-2xx" if t["non_2xx"] else ""
    return row(
        f"{name} at concurrency {result['concurrency']}",
        f"{t['rps']:,.0f} req/s, p50 {ms(t['p50_ms'])}, p99 {ms(t['p99_ms'])}{bad}",
    )


def details(result: dict[str, Any]) -> list[str]:
    lines = [
        f"Throughput ({result['tool']}, concurrency {result['concurrency']}, "
        f"{result['duration_s']} s per run), per run req/s (p50 / p99 ms):",
        "",
    ]
    for key in FIGURES:
        runs = ", ".join(
            f"{r['rps']:,.0f} ({r['p50_ms']:.2f} / {r['p99_ms']:.2f})" for r in result[key]["runs"]
        )
        lines.append(f"- {key}: {runs}")
    return [*lines, ""]


def cpu_runs(result: dict[str, Any]) -> list[tuple[str, int, str, dict[str, Any]]]:
    return [
        (f"{key} {i}", r["requests"], "requests", r["cpu"])
        for key in FIGURES
        for i, r in enumerate(result[key]["runs"], 1)
    ]
