"""One module per measured phase, run in this order (memory last among the original phases,
so its RSS follows the same history as before the new phases existed).

Each phase module has:
- `NAME`, and `run(bench) -> dict`: measure, return what results.json keeps;
- `rows(result, error) -> list[row]`: its lines in the results table (also when it failed
  or its feature is not in this build);
- `details(result) -> list[str]`: markdown for results.md's details;
- `cpu_runs(result)`: (label, units, unit name, CpuMeter result) per measured run.

The load a phase generates runs in its own process (bench/harness/client.py), so the phase
module imports only the standard library and the harness at the top.
"""

from __future__ import annotations

import importlib
from types import ModuleType

ORDER = (
    "coldstart",
    "middleware",
    "throughput",
    "logins",
    "webhook",
    "memory",
    "form_storm",
    "task_list",
    "task_search",
    "sharing_idle",
    "capture",
    "reminders",
    "scale",
)


def load_phases(names: list[str] | None = None) -> list[ModuleType]:
    unknown = set(names or ()) - set(ORDER)
    if unknown:
        raise SystemExit(f"unknown phase(s): {', '.join(sorted(unknown))}; known: {ORDER}")
    chosen = [name for name in ORDER if not names or name in names]
    return [importlib.import_module(f"bench.phases.{name}") for name in chosen]
