"""The parser's report over the corpus: per language and category, % right, % asked with the
right reading among the options, % silently wrong, % asked without it, % not understood,
crashes, title accuracy, timing, and dateparser on the same instants side by side.

    PYTHONPATH=$PWD .venv/bin/python -m tests.corpus.report [--misses]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime

from tests.corpus.corpus import Result, Row, load, matches, run


def _dateparser(row: Row) -> tuple[bool, float] | None:
    """Whether dateparser (dev only) reads an instant row right; None for repeats/non-times."""
    if row.kind not in ("D", "T"):
        return None
    import dateparser  # type: ignore[import-untyped]  # a dev tool: only the report uses it
    from dateparser.search import search_dates  # type: ignore[import-untyped]

    settings = {
        "RELATIVE_BASE": row.now.replace(tzinfo=None),
        "TIMEZONE": str(row.zone),
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
    }
    started = time.perf_counter()
    try:
        found: datetime | None = dateparser.parse(
            row.phrase, languages=[row.lang], settings=settings
        )
        if found is None:
            hits = search_dates(row.phrase, languages=[row.lang], settings=settings)
            found = hits[0][1] if hits else None
    except Exception:  # dateparser's own failures count as misses
        found = None
    return (found is not None and matches(row, found, None), time.perf_counter() - started)


def _line(name: str, results: list[Result], dp: list[bool]) -> str:
    n = len(results)
    c = Counter(r.outcome for r in results)
    titles = [r.title_ok for r in results if r.title_ok is not None]

    def pct(x: float) -> str:
        return f"{100 * x / n:5.1f}" if n else "    -"

    title = f"{100 * sum(titles) / len(titles):5.1f}" if titles else "    -"
    theirs = f"{100 * sum(dp) / len(dp):5.1f} ({len(dp)})" if dp else "    -"
    return (f"{name:<24}{n:>5} {pct(c['right'])} {pct(c['asked'])} {pct(c['right'] + c['asked'])}"
            f" {pct(c['wrong'])} {pct(c['asked-wrong'])} {pct(c['missed'])} {c['crash']:>5}"
            f"  {title}   {theirs}")  # fmt: skip


def main() -> None:
    rows = load()
    results = list(run(rows))
    ours_on_instants: dict[int, bool] = {}
    dp: dict[int, bool] = {}
    dp_times: list[float] = []
    for i, r in enumerate(results):
        verdict = _dateparser(r.row)
        if verdict is not None:
            dp[i] = verdict[0]
            dp_times.append(verdict[1])
            ours_on_instants[i] = r.outcome == "right"
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(results):
        if r.row.holdout:
            groups[f"held-out {r.row.lang} all"].append(i)
            continue
        groups[f"{r.row.lang} {r.row.category}"].append(i)
        groups[f"{r.row.lang} all"].append(i)
        if r.row.kind == "R":
            groups[f"{r.row.lang} repeats (R)"].append(i)
        groups["all built against"].append(i)
    for i, _ in enumerate(results):
        groups["all, held-out too"].append(i)
    print(f"{len(rows)} rows, sources: {len({r.source.split(' ')[0] for r in rows})}")
    print(f"{'group':<24}{'n':>5} {'right':>5} {'asked':>5} {'r+a':>5} {'wrong':>5}"
          f" {'askw':>5} {'miss':>5} {'crash':>5}  {'title':>5}   dateparser (n)")  # fmt: skip
    for name in sorted(groups, key=lambda g: (g.startswith("all"), g)):
        idx = groups[name]
        print(_line(name, [results[i] for i in idx], [dp[i] for i in idx if i in dp]))
    both = list(dp)
    ours = sum(ours_on_instants[i] for i in both)
    print(f"\nsame instants (D/T rows, {len(both)}): ours right {ours},"
          f" dateparser right {sum(dp[i] for i in both)}")  # fmt: skip
    times = sorted(r.seconds for r in results)
    print(f"parse time: median {1000 * statistics.median(times):.3f} ms,"
          f" p99 {1000 * times[int(len(times) * 0.99)]:.3f} ms, max {1000 * times[-1]:.3f} ms;"
          f" dateparser median {1000 * statistics.median(dp_times):.3f} ms")  # fmt: skip
    if "--misses" in sys.argv:
        for r in results:
            if r.outcome not in ("right", "asked") or r.title_ok is False:
                p = r.parsed
                got = (p.when, p.repeat, p.clarify, p.title) if p else None
                print(f"{r.outcome:<11} {r.row.lang} {r.row.phrase!r} want {r.row.expected}"
                      f" title {r.row.title!r} got {got}")  # fmt: skip


if __name__ == "__main__":
    main()
