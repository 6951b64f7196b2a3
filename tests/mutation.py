"""`make mutate`: mutation testing of the modules that decide who gets in, with mutmut 3.

Runs `mutmut run` from a clean `mutants/` (configuration: [tool.mutmut] in pyproject.toml),
then reports per module: mutants, killed, timeout (the mutant made the tests hang: killed),
survived, listed (the survivors tests/MUTANTS.md explains as equivalent), the score
killed / (mutants - listed), and the raw score killed / mutants. It fails when a module
scores below TARGET, or when a surviving mutant is not listed in tests/MUTANTS.md with the
reason it is equivalent. The tests of every mutant share one embedded database (started
here, or MONGODB_URI when set).

    python tests/mutation.py            # a full run (what `make mutate` does)
    python tests/mutation.py --report   # only the report of the last run
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from server.db.embedded import EmbeddedMongo

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
LISTED = ROOT / "tests" / "MUTANTS.md"
TARGET = 90.0  # percent of mutants killed, per module

KILLED = {1, 3}  # a test failed (3: pytest's internal error)
TIMEOUT = {36, 24, -24, 152, 255}  # the mutant made the tests hang: killed
SURVIVED = {0}


def run() -> float:
    shutil.rmtree(MUTANTS, ignore_errors=True)
    MUTANTS.mkdir()
    mutmut = Path(sys.executable).with_name("mutmut")
    started = time.monotonic()
    # One database for every mutant's tests (each test has a database of its own on it), as
    # MONGODB_URI: otherwise each of the ~1,600 pytest runs starts an embedded server, which
    # costs a second or two and, on a busy machine, can miss its start-up deadline, and the
    # failed run would count the mutant as killed.
    with tempfile.TemporaryDirectory(prefix="mutate-db-") as data:
        env = dict(os.environ)
        database = None
        if not env.get("MONGODB_URI"):
            database = EmbeddedMongo(Path(data))
            database.start()
            env["MONGODB_URI"] = database.uri
        try:
            with (MUTANTS / "run.log").open("w") as log:
                code = subprocess.call(  # noqa: S603 - our own interpreter's mutmut
                    [str(mutmut), "run", "--max-children", str(os.cpu_count() or 1)],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        finally:
            if database is not None:
                database.stop()
    elapsed = time.monotonic() - started
    if code != 0:
        print((MUTANTS / "run.log").read_text()[-3000:])
        raise SystemExit(f"mutmut run failed ({code}); its log: {MUTANTS / 'run.log'}")
    return elapsed


def results() -> dict[str, dict[str, int | None]]:
    """Exit code per mutant name, per source file."""
    by_file: dict[str, dict[str, int | None]] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        source = meta.relative_to(MUTANTS).as_posix().removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if codes:
            by_file[source] = codes
    return by_file


def listed_equivalents() -> set[str]:
    return set(re.findall(r"`([\w.]+__mutmut_\d+)`", LISTED.read_text()))


def show(name: str) -> str:
    mutmut = Path(sys.executable).with_name("mutmut")
    shown = subprocess.run(  # noqa: S603 - our own interpreter's mutmut
        [str(mutmut), "show", name], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return shown.stdout.strip()


def report(elapsed: float | None) -> int:
    by_file = results()
    if not by_file:
        raise SystemExit("no mutmut results: run `make mutate` first")
    equivalent = listed_equivalents()
    unexplained: list[str] = []
    failing = False
    print(f"{'module':40} {'mutants':>7} {'killed':>7} {'timeout':>7} {'survived':>8} "
          f"{'listed':>6} {'score':>7} {'raw':>7}")  # fmt: skip
    totals: Counter[str] = Counter()
    for source, codes in by_file.items():
        counts: Counter[str] = Counter()
        for name, code in codes.items():
            if code in KILLED:
                counts["killed"] += 1
            elif name in equivalent:  # survived, or so slow that it ran out of time
                counts["listed"] += 1
                counts["survived"] += 1
            elif code in TIMEOUT:
                counts["timeout"] += 1
            else:  # survived, no tests, not checked, suspicious: all need a reason
                counts["survived"] += 1
                unexplained.append(name)
        counts["mutants"] = len(codes)
        totals.update(counts)
        score = percent(counts)
        failing |= score < TARGET
        print(row(source, counts))
    print(row("all", totals))
    if elapsed is not None:
        print(f"\nmutmut run took {elapsed / 60:.1f} min")
    generated = {name: code for codes in by_file.values() for name, code in codes.items()}
    gone = sorted(equivalent - generated.keys())
    killed_now = sorted(n for n in equivalent & generated.keys() if generated[n] in KILLED)
    if gone:
        print("\nListed in tests/MUTANTS.md but not generated any more (renumbered?):")
        print("\n".join(f"  {name}" for name in gone))
    if killed_now:
        print("\nListed in tests/MUTANTS.md but killed now (take them off the list):")
        print("\n".join(f"  {name}" for name in killed_now))
    if unexplained:
        print(f"\n{len(unexplained)} surviving mutant(s) neither killed nor listed in "
              "tests/MUTANTS.md:")  # fmt: skip
        for name in unexplained:
            print(f"\n--- {name} ({status(by_file, name)})\n{show(name)}")
    if failing:
        print(f"\nA module scores below {TARGET:.0f} %.")
    return 1 if unexplained or failing else 0


def row(name: str, counts: Counter[str]) -> str:
    numbers = " ".join(
        f"{counts[key]:{width}}"
        for key, width in (("mutants", 7), ("killed", 7), ("timeout", 7), ("survived", 8),
                           ("listed", 6))
    )  # fmt: skip
    return f"{name:40} {numbers} {percent(counts):6.1f}% {raw(counts):6.1f}%"


def percent(counts: Counter[str]) -> float:
    """Killed (timeouts included) among the mutants that can be killed: the listed
    equivalents are left out, as they behave exactly like the original."""
    killable = counts["mutants"] - counts["listed"]
    return 100.0 * (counts["killed"] + counts["timeout"]) / killable if killable else 100.0


def raw(counts: Counter[str]) -> float:
    """Killed among all mutants, equivalents included (mutmut's own score)."""
    return 100.0 * (counts["killed"] + counts["timeout"]) / counts["mutants"]


def status(by_file: dict[str, dict[str, int | None]], name: str) -> str:
    for codes in by_file.values():
        if name in codes:
            code = codes[name]
            return {0: "survived", 33: "no tests", 5: "no tests", None: "not checked"}.get(
                code, f"exit code {code}"
            )
    return "unknown"


def main() -> None:
    os.chdir(ROOT)
    elapsed = None if "--report" in sys.argv else run()
    raise SystemExit(report(elapsed))


if __name__ == "__main__":
    main()
