"""Where the CPU went during one phase run, from /proc: the app (its event-loop thread and
its other threads), the database, the fake Bot API, the load generators and the rest of the
machine (a shared machine has other users)."""

from __future__ import annotations

import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
LOOP = "app: event loop thread"
OTHER_THREADS = "app: other threads (argon2)"


def _stat_cpu(path: str) -> float:
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def proc_cpu_seconds(pid: int | None) -> float:
    """All threads of a process."""
    return 0.0 if pid is None else _stat_cpu(f"/proc/{pid}/stat")


def loop_cpu_seconds(pid: int) -> float:
    """The main thread alone: the app's event loop."""
    return _stat_cpu(f"/proc/{pid}/task/{pid}/stat")


def loop_run_queue(pid: int) -> tuple[float, float]:
    """(on-CPU, runnable-but-waiting-for-a-CPU) seconds of a process's main thread."""
    try:
        on_cpu, waiting, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK  # guest time is already in user


def children_cpu_seconds() -> float:
    """CPU of this driver's finished children: the load generators it waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """`with CpuMeter(apps, others) as cpu: ...`, then `cpu.result`.

    `apps`: the app processes (summed as "app"); `others`: name -> pid (None: absent).
    """

    def __init__(self, apps: list[int], others: dict[str, int | None]) -> None:
        self.apps = apps
        self.others = others

    def _sample(self) -> dict[str, Any]:
        return {
            "t": time.perf_counter(),
            "app": sum(proc_cpu_seconds(pid) for pid in self.apps),
            "loop": sum(loop_cpu_seconds(pid) for pid in self.apps),
            "queue": [loop_run_queue(pid) for pid in self.apps],
            "others": {name: proc_cpu_seconds(pid) for name, pid in self.others.items()},
            "children": children_cpu_seconds(),
            "machine": machine_busy_seconds(),
        }

    def __enter__(self) -> CpuMeter:
        self.start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        a, b = self.start, self._sample()
        wall = b["t"] - a["t"]
        used = {"app": b["app"] - a["app"]}
        used |= {name: b["others"][name] - a["others"][name] for name in self.others}
        used["load generator"] = b["children"] - a["children"]
        loop = b["loop"] - a["loop"]
        used[LOOP] = loop
        used[OTHER_THREADS] = used["app"] - loop
        busy = b["machine"] - a["machine"]
        ours = sum(v for k, v in used.items() if k not in (LOOP, OTHER_THREADS))
        n = max(len(self.apps), 1)
        on_cpu = sum(q1[0] - q0[0] for q0, q1 in zip(a["queue"], b["queue"], strict=True))
        waiting = sum(q1[1] - q0[1] for q0, q1 in zip(a["queue"], b["queue"], strict=True))
        self.result = {
            "wall_s": round(wall, 2),
            "cpu_s": {k: round(v, 2) for k, v in used.items()},
            "machine_busy_cores": round(busy / wall, 2),
            "others_busy_cores": round(max(0.0, busy - ours) / wall, 2),
            # Per app process on average (the reminders phase runs two).
            "event_loop_thread": {
                "on_cpu_share": round(on_cpu / wall / n, 3),
                "waiting_for_cpu_share": round(waiting / wall / n, 3),
            },
        }


UNIT_LABELS = {
    "app event loop": LOOP,
    "app other threads (hashing)": OTHER_THREADS,
    "embedded DB": "nx-27017",
    "fake Bot API": "fake Bot API",
    "load generator": "load generator",
}


def cpu_ms_per_unit(cpu: dict[str, Any], units: int) -> dict[str, float]:
    used = cpu["cpu_s"]
    return {
        label: round(used.get(key, 0.0) / max(units, 1) * 1000, 2)
        for label, key in UNIT_LABELS.items()
    }


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def median_dict(dicts: list[dict[str, float]]) -> dict[str, float]:
    if not dicts:
        return {}
    return {key: round(statistics.median(d[key] for d in dicts), 2) for key in dicts[0]}
