"""`make bench`: start the service, drive it from other processes, write results.md/.json.

    python bench/run.py [--runs 3] [--quick] [--phase NAME]... [--profile] [--no-wrk]

Each phase is a module in bench/phases/ (see its docstring for what it measures); the
shared parts are in bench/harness/. A benchmark reports: a missed target never fails it.
It exits non-zero only when the service cannot be started at all.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for `bench.*`

from bench.harness import report
from bench.harness.context import Bench
from bench.harness.procs import BENCH, ServiceStartError, log
from bench.phases import ORDER, load_phases


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="repeats per figure (median)")
    parser.add_argument("--quick", action="store_true", help="1 run, short phases: a smoke test")
    parser.add_argument(
        "--phase", action="append", choices=ORDER, help="run only this phase (repeatable)"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the service per phase")
    parser.add_argument("--no-wrk", action="store_true", help="use the aiohttp client throughout")
    parser.add_argument("--log-level", default="INFO", help="the service's LOG_LEVEL")
    parser.add_argument("--out", default=None, help="where results.md/.json go")
    args = parser.parse_args()
    args.runs = args.runs or (1 if args.quick else 3)
    return args


def main() -> int:
    args = parse_args()
    t0 = time.perf_counter()
    try:
        with Bench(args) as bench:
            for phase in load_phases(args.phase):
                if not bench.run_phase(phase):
                    break
    except ServiceStartError as exc:
        log(f"nothing measured: {exc}")
        return 1
    results = bench.results
    results |= {"total_seconds": round(time.perf_counter() - t0, 1), "errors": bench.errors}
    results |= {"runs": bench.runs, "quick": args.quick, "selected_phases": args.phase}
    # A subset of phases is not the whole picture: it goes to the run's folder by default,
    # so the committed bench/results.md stays a full run.
    out = Path(args.out) if args.out else bench.run_dir if args.phase else BENCH
    report.write(results, out)
    return 1 if bench.service_failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
