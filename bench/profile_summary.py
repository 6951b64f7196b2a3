"""Summarize a py-spy raw (collapsed-stack) profile written by `bench/run.py --profile`.

    python bench/profile_summary.py bench/.runs/<stamp>/profiles/webhook-1.txt [--top 20]

Per process and thread: the share of samples, the functions where the time is spent (self),
and the project's own functions that the time passes through (inclusive).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
OWN = ("server/", "models/", "config/")
# Where a thread waits (py-spy's --nonblocking sampling may still count it as active).
IDLE = (
    "EpollSelector.select (",
    "_worker (concurrent/futures/thread.py:81)",
    "Condition.wait (",
    "Event.wait (",
    "Queue.get (",
)


def parse(path: Path) -> dict[tuple[str, str], Counter[tuple[str, ...]]]:
    stacks: dict[tuple[str, str], Counter[tuple[str, ...]]] = defaultdict(Counter)
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        process, thread, frames = "?", "?", []
        for frame in stack.split(";"):
            if frame.startswith("process "):
                process = _process_name(frame)
            elif frame.startswith("thread "):
                thread = frame
            else:
                frames.append(frame)
        stacks[(process, thread)][tuple(frames)] += int(count)
    return stacks


def _process_name(frame: str) -> str:
    pid, _, cmd = frame.removeprefix("process ").partition(":")
    cmd = cmd.strip('"')
    if "nx_runner" in cmd:
        return f"{pid} nx-27017 (embedded DB)"
    if "-m server" in cmd:
        return f"{pid} app"
    return f"{pid} {cmd[:40]}"


def short(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    file = m["file"]
    for marker in ("site-packages/", "lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m['func']} ({file}:{m['line']})" if m["line"] else f"{m['func']} ({file})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    stacks = parse(args.profile)
    total = sum(sum(c.values()) for c in stacks.values())
    print(f"{args.profile}: {total} samples (active threads only)")
    by_process: dict[str, int] = Counter()
    for (process, _), counter in stacks.items():
        by_process[process] += sum(counter.values())
    for process, n in by_process.most_common():
        print(f"\n== {process}: {n} samples ({n / total:.0%})")
        threads = {t: c for (p, t), c in stacks.items() if p == process}
        for thread, counter in sorted(threads.items(), key=lambda kv: -sum(kv[1].values())):
            n_thread = sum(counter.values())
            if n_thread < total * 0.01:
                continue
            selfs: Counter[str] = Counter()
            inclusive: Counter[str] = Counter()
            idle = 0
            for frames, count in counter.items():
                if frames and short(frames[-1]).startswith(IDLE):
                    idle += count
                    continue
                if frames:
                    selfs[short(frames[-1])] += count
                for frame in set(frames):
                    if any(own in frame for own in OWN):
                        inclusive[short(frame)] += count
            busy = n_thread - idle
            print(f"  -- {thread}: {n_thread} samples, {idle} of them idle-looking (waiting)")
            n_thread = max(busy, 1)
            print("     self:")
            for frame, count in selfs.most_common(args.top):
                print(f"       {count / n_thread:6.1%}  {frame}")
            if inclusive:
                print("     through the project's code (inclusive):")
                for frame, count in inclusive.most_common(args.top):
                    print(f"       {count / n_thread:6.1%}  {frame}")


if __name__ == "__main__":
    main()
