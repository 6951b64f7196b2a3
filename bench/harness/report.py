"""results.json and results.md: the machine, one table of figures (each phase's rows), each
phase's details, and where the CPU went.

    python -m bench.harness.report [bench/results.json]   # re-render results.md from JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.harness.procs import BENCH, log

MB = 1_000_000
MIB = 1024 * 1024
X = "\u00d7"  # the multiplication sign, written as an escape for the linter
Row = dict[str, str]
UNAVAILABLE = "not available in this build"


# ------------------------------------------------------- helpers for the phases' rows


def row(figure: str, value: str, target: str = "reported", met: str = "reported") -> Row:
    return {"figure": figure, "value": value, "target": target, "met": met}


def yes(ok: bool | None) -> str:
    return "n/a" if ok is None else "yes" if ok else "**no**"


def ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 1000:  # a stalled server: seconds read better
        return f"{value / 1000:.1f} s"
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} MiB ({value * MIB / MB:.1f} MB)"


def unavailable(why: str) -> dict[str, Any]:
    """A phase's result when this build lacks the feature: reported, never a failure."""
    return {"available": False, "why": f"{UNAVAILABLE} ({why})"}


def absent(result: dict[str, Any] | None, error: str | None) -> str | None:
    """Why a phase has no figures (failed or not available), or None when it has them."""
    if result is None:
        return f"not measured ({(error or 'not run')[:160]})"
    if result.get("available") is False:
        return str(result["why"])
    return None


# ------------------------------------------------------------------ rendering


def write(results: dict[str, Any], out_dir: Path) -> None:
    results["table"] = table_rows(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / "results.md").write_text(render_markdown(results))
    log(f"wrote {out_dir / 'results.md'} and results.json")
    for r in results["table"]:
        log(f"  {r['figure']}: {r['value']} (target {r['target']}: {r['met']})")


def _phases_run(results: dict[str, Any]) -> list[Any]:
    from bench.phases import load_phases

    ran = set(results.get("phases", {})) | set(results.get("errors", {}))
    return [phase for phase in load_phases() if phase.NAME in ran]


def table_rows(results: dict[str, Any]) -> list[Row]:
    phases, errors = results.get("phases", {}), results.get("errors", {})
    rows: list[Row] = []
    for phase in _phases_run(results):
        rows += phase.rows(phases.get(phase.NAME), errors.get(phase.NAME))
    return rows


def render_markdown(results: dict[str, Any]) -> str:
    lines = [*_header(results), "## Results", "", "| figure | value | target | met? |"]
    lines.append("| --- | --- | --- | --- |")
    lines += [f"| {r['figure']} | {r['value']} | {r['target']} | {r['met']} |" for r in
              results.get("table", [])]  # fmt: skip
    lines += _before_and_after(results.get("before"))
    lines += ["", "## Details", ""]
    phases = results.get("phases", {})
    cpu_runs: list[tuple[str, int, str, dict[str, Any]]] = []
    for phase in _phases_run(results):
        result = phases.get(phase.NAME)
        if absent(result, None) is None:
            lines += phase.details(result)
            cpu_runs += phase.cpu_runs(result)
    lines += _cpu_table(cpu_runs)
    timeline = results.get("rss_timeline_mib", {})
    if timeline:
        points = "; ".join(f"{k}: {v}" for k, v in timeline.items())
        lines += [f"App process RSS through the run (MiB): {points}.", ""]
    if results.get("errors"):
        failed = "; ".join(f"{k}: {v}" for k, v in results["errors"].items())
        lines += [f"Phases that failed: {failed}", ""]
    return "\n".join(lines)


def _before_and_after(before: dict[str, Any] | None) -> list[str]:
    """The table bench/compare.py stores: an earlier run's figures beside this run's."""
    if not before:
        return []
    lines = ["", "## Before and after", ""]
    if before.get("label"):
        lines += [before["label"], ""]
    lines += [f"- before: {run}" for run in before.get("runs", [])] + [""]
    lines += [
        "| figure | before | after | target | met (after)? |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {r['figure']} | {r['before']} | {r['after']} | {r['target']} | {r['met']} |"
              for r in before.get("rows", [])]  # fmt: skip
    return lines


def _header(results: dict[str, Any]) -> list[str]:
    m = results.get("machine", {})
    packages = ", ".join(f"{k} {v}" for k, v in (m.get("packages") or {}).items())
    dirty = " + uncommitted changes" if m.get("git_dirty") else ""
    quick = " (--quick: a smoke test, not for quoting)" if results.get("quick") else ""
    subset = results.get("selected_phases")
    return [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python bench/run.py`); see bench/README.md for the method.",
        "",
        "## Machine",
        "",
        f"- date: {m.get('date_utc')}",
        f"- CPU: {m.get('cpu')}, {m.get('cores')} cores; {m.get('memory_gib')} GiB RAM; "
        f"Linux {m.get('kernel')}",
        f"- Python {m.get('python')}; {packages}",
        f"- code: git {m.get('git_head')}{dirty}",
        f"- database: {m.get('database')}; argon2id {m.get('argon2')}; "
        f"service LOG_LEVEL {m.get('log_level')}",
        f"- load generator: {m.get('load_generator')} for the fixed-request rows; the bench's "
        "aiohttp clients (bench/harness/client.py, own process) where requests differ",
        f"- load average at start / end: {_loadavg(m.get('loadavg_at_start'))} / "
        f"{_loadavg(m.get('loadavg_at_end'))} (the machine is shared: figures are medians "
        f"of {results.get('runs')} runs, ratios are taken within a run)",
        f"- whole run: {results.get('total_seconds')} s{quick}"
        + (f"; phases: {', '.join(subset)}" if subset else ""),
        "",
    ]


def _cpu_table(items: list[tuple[str, int, str, dict[str, Any]]]) -> list[str]:
    if not items:
        return []
    lines = [
        "Where the CPU went (CPU seconds per phase run; 'others' is the rest of the machine, "
        "i.e. other users of a shared box, in cores busy on average; 'loop waits' is the share "
        "of wall time the app's event-loop thread was runnable but waiting for a CPU):",
        "",
        "| phase run | units | wall s | app (loop + other threads) | nx-27017 | fake Bot API "
        "| load gen | others (cores) | app CPU per unit (loop + other) | DB CPU per unit "
        "| loop waits |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, units, unit, cpu in items:
        used = cpu["cpu_s"]
        n = max(units, 1)
        app = used.get("app", 0)
        loop = min(used.get("app: event loop thread", 0), app)
        other = max(0.0, used.get("app: other threads (argon2)", 0))  # /proc rounding
        waits = cpu.get("event_loop_thread", {}).get("waiting_for_cpu_share", 0)
        lines.append(
            f"| {name} | {units:,} {unit} | {cpu['wall_s']} | {app} ({loop} + {other}) | "
            f"{used.get('nx-27017')} | {used.get('fake Bot API')} | "
            f"{used.get('load generator')} | {cpu['others_busy_cores']} | "
            f"{app / n * 1000:.2f} ms ({loop / n * 1000:.2f} + {other / n * 1000:.2f}) | "
            f"{used.get('nx-27017', 0) / n * 1000:.2f} ms | {waits:.0%} |"
        )
    return [*lines, ""]


def _loadavg(value: Any) -> str:
    return ", ".join(f"{v:.2f}" for v in value) if value else "n/a"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else BENCH / "results.json"
    write(json.loads(path.read_text()), path.parent)


if __name__ == "__main__":
    main()
