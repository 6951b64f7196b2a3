"""Issue 10: `GET /api/tasks` returning a page of 50 tasks, at concurrency 64 (wrk), as a
user with a Bearer token: throughput and the app's CPU per request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.harness.report import Row, absent, ms, row, unavailable, yes
from bench.harness.tasks_api import TASKS, seed_tasks, titles
from bench.phases import throughput

if TYPE_CHECKING:
    from bench.harness.context import Bench

NAME = "task_list"
PAGE = 50
TARGET_CPU_MS = 0.6  # issue 14


def run(bench: Bench) -> dict[str, Any]:
    if not (bench.offers("GET", TASKS) and bench.offers("POST", TASKS)):
        return unavailable(f"no GET and POST {TASKS} in /api/openapi.json")
    user = bench.register("bench_tasks")
    headers = {"Authorization": f"Bearer {user['access_token']}"}
    bodies = [(0, {"title": t, "notes": n}) for t, n in titles(PAGE, seed=50)]
    seed_tasks(bench.service.base, [headers], bodies, concurrency=8)
    status, page = bench.call("GET", TASKS, headers=headers)
    items = len(page.get("items", [])) if isinstance(page, dict) else 0
    if status != 200 or items != PAGE:
        raise RuntimeError(f"GET {TASKS}: {status}, {items} items (expected {PAGE})")
    measured = throughput.measure(bench, {"tasks": (TASKS, headers)}, "requests")
    bench.rss_mark("after GET /api/tasks runs")
    return {"page": PAGE, "concurrency": throughput.CONCURRENCY, **measured}


def rows(result: dict[str, Any] | None, error: str | None) -> list[Row]:
    figure = f"GET {TASKS} ({PAGE} tasks, Bearer) at concurrency {throughput.CONCURRENCY}"
    target = f"app CPU ≤ {TARGET_CPU_MS} ms per request"
    if (why := absent(result, error)) is not None:
        return [row(figure, why, target, "n/a")]
    assert result is not None
    t = result["tasks"]
    bad = f", {t['non_2xx']} non-2xx" if t["non_2xx"] else ""
    cpu = t["app_cpu_ms_per_request"]
    return [
        row(
            figure,
            f"{t['rps']:,.0f} req/s, p50 {ms(t['p50_ms'])}, p99 {ms(t['p99_ms'])}{bad}; "
            f"app CPU {cpu:.2f} ms per request",
            target,
            yes(cpu <= TARGET_CPU_MS),
        )
    ]


def details(result: dict[str, Any]) -> list[str]:
    runs = ", ".join(
        f"{r['rps']:,.0f} ({r['p50_ms']:.2f} / {r['p99_ms']:.2f})" for r in result["tasks"]["runs"]
    )
    return [
        f"GET {TASKS} ({result['page']} tasks, {result['duration_s']} s per run), per run "
        f"req/s (p50 / p99 ms): {runs}.",
        "",
    ]


def cpu_runs(result: dict[str, Any]) -> list[tuple[str, int, str, dict[str, Any]]]:
    return [
        (f"task list {i}", r["requests"], "requests", r["cpu"])
        for i, r in enumerate(result["tasks"]["runs"], 1)
    ]
