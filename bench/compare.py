"""Put a before/after table into a run's results: the figures of an earlier run (the code
before a change) beside this run's, row by row, with this run's targets.

    python bench/compare.py BEFORE.json [AFTER.json] [--label "what changed"] [--extra B.json]

AFTER defaults to bench/results.json. `--extra` adds rows from another earlier run for
figures BEFORE lacks (a phase whose feature came later). The comparison is stored in AFTER
(key "before") and results.md is re-rendered, so it survives `python -m bench.harness.report`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import report
from bench.harness.procs import BENCH


def _rows(results: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {r["figure"]: r for r in results.get("table", [])} | _cpu_per_unit(results)


def _machine(results: dict[str, Any]) -> str:
    m = results.get("machine", {})
    return (
        f"{m.get('date_utc')}, git {m.get('git_head')}, {results.get('runs')} runs, load "
        f"average at start / end {report._loadavg(m.get('loadavg_at_start'))} / "
        f"{report._loadavg(m.get('loadavg_at_end'))}, whole run {results.get('total_seconds')} s"
    )


SINGULAR = {"requests": "request", "searches": "search", "updates": "update",
            "bodies": "body", "reminders": "reminder"}  # fmt: skip
# Issue 14's per-unit CPU targets: label in the CPU table -> (target, met(app ms, loop ms)).
CPU_TARGETS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "me_bearer": ("app CPU ≤ 0.35 ms", lambda app, loop: app <= 0.35),
    "login storm": ("event loop ≤ 1.5 ms", lambda app, loop: loop <= 1.5),
    "webhook": ("app CPU ≤ 1.5 ms", lambda app, loop: app <= 1.5),
    "task list": ("app CPU ≤ 0.6 ms", lambda app, loop: app <= 0.6),
}


def _cpu_per_unit(results: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Rows of app CPU per unit (median over the phase's runs): the issue's per-unit targets
    are in the CPU table, not in the figures."""
    from bench.phases import load_phases

    per_label: dict[str, list[tuple[float, float, str]]] = {}
    for phase in load_phases():
        result = results.get("phases", {}).get(phase.NAME)
        if report.absent(result, None) is not None:
            continue
        for name, units, unit, cpu in phase.cpu_runs(result):
            used, n = cpu["cpu_s"], max(units, 1)
            loop = min(used.get("app: event loop thread", 0), used.get("app", 0))
            label = name.rstrip("0123456789 ")
            per_label.setdefault(label, []).append((used.get("app", 0) / n, loop / n, unit))
    rows = {}
    for label, values in per_label.items():
        app = statistics.median(v[0] for v in values) * 1000
        loop = statistics.median(v[1] for v in values) * 1000
        unit = SINGULAR.get(values[0][2], values[0][2])
        figure = f"app CPU per {unit}: {label} (median of the runs in the CPU table)"
        value = f"{app:.2f} ms (event loop {loop:.2f} ms)"
        target, met = "reported", "reported"
        if (goal := CPU_TARGETS.get(label)) is not None:
            target, met = goal[0], report.yes(goal[1](app, loop))
        rows[figure] = {"figure": figure, "value": value, "target": target, "met": met}
    return rows


def compare(before: dict[str, Any], after: dict[str, Any], extra: list[dict[str, Any]]) -> dict:
    earlier = [before, *extra]
    rows = []
    for figure, now in _rows(after).items():
        then = next(
            (
                r["value"]
                for results in earlier
                if (r := _rows(results).get(figure)) is not None
                and not r["value"].startswith(report.UNAVAILABLE)
            ),
            _rows(before).get(figure, {}).get("value", "not measured"),
        )
        rows.append({"figure": figure, "before": then, "after": now["value"],
                     "target": now["target"], "met": now["met"]})  # fmt: skip
    return {"runs": [_machine(r) for r in earlier], "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path, nargs="?", default=BENCH / "results.json")
    parser.add_argument("--extra", type=Path, action="append", default=[])
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    after = json.loads(args.after.read_text())
    before = json.loads(args.before.read_text())
    extra = [json.loads(path.read_text()) for path in args.extra]
    after["before"] = compare(before, after, extra) | {"label": args.label}
    args.after.write_text(json.dumps(after, indent=2) + "\n")
    (args.after.parent / "results.md").write_text(report.render_markdown(after))
    print(f"wrote {args.after.parent / 'results.md'}")


if __name__ == "__main__":
    main()
