"""Cold start (spawn → first `GET /ready` = 200) and idle RSS, a fresh DATA_DIR per run.

The last process started stays up as the service the later phases measure.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bench.harness.cpu import median
from bench.harness.procs import Service, log, rss_kib
from bench.harness.report import MB, MIB, Row, absent, mib, row, yes

if TYPE_CHECKING:
    from bench.harness.context import Bench

NAME = "coldstart"


def run(bench: Bench) -> dict[str, Any]:
    starts, idle, nx_idle, stops = [], [], [], []
    for i in range(bench.runs):
        service = Service(bench.env(), bench.run_dir, f"run{i + 1}")
        seconds = service.start()
        starts.append(round(seconds, 3))
        time.sleep(1.0)  # idle: nothing but the process and its database
        idle.append(round((service.rss_kib() or 0) / 1024, 1))
        if child := service.nx_child():
            nx_idle.append(round((rss_kib(child[0]) or 0) / 1024, 1))
        log(f"  cold start {i + 1}: {seconds:.3f}s, idle RSS {idle[-1]} MiB")
        if i < bench.runs - 1:
            stops.append(service.stop())
        else:
            bench.adopt(service)
    return {
        "database": bench.results["machine"]["database"],
        "seconds": starts,
        "median_s": median(starts),
        "idle_rss_mib": idle,
        "idle_rss_median_mib": median(idle),
        "nx_child_idle_rss_mib": nx_idle,
        "sigterm_stop_seconds": [round(s, 3) if s else None for s in stops],
    }


def rows(result: dict[str, Any] | None, error: str | None) -> list[Row]:
    if (why := absent(result, error)) is not None:
        return [row("cold start", why, "≤ 3 s", "n/a"), row("idle RSS", why, "≤ 150 MB", "n/a")]
    assert result is not None
    idle = result["idle_rss_median_mib"]
    return [
        row(
            f"cold start: process start → /ready = 200 ({result['database']})",
            f"{result['median_s']:.2f} s",
            "≤ 3 s",
            yes(result["median_s"] <= 3),
        ),
        row("memory: app process RSS, idle", mib(idle), "≤ 150 MB", yes(idle * MIB <= 150 * MB)),
    ]


def details(result: dict[str, Any]) -> list[str]:
    starts = ", ".join(f"{s:.2f} s" for s in result["seconds"])
    idle = ", ".join(f"{v} MiB" for v in result["idle_rss_mib"])
    nx = ", ".join(f"{v} MiB" for v in result["nx_child_idle_rss_mib"])
    return [f"Cold starts: {starts}; idle RSS {idle} (the nx-27017 child, not counted: {nx}).", ""]


def cpu_runs(result: dict[str, Any]) -> list[tuple[str, int, str, dict[str, Any]]]:
    return []
