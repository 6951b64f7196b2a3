"""Issue 25: what an idle Mini App client keeping up with a shared list costs. N members each
have the owner's 50-task list open; each polls `GET /api/tasks?list=…` every 3 s with
`If-None-Match` (the ETag of its last answer), as `pollShared` in the Mini App does, starting
at evenly spread offsets. Three windows per run: **quiet** (nothing changes: every poll is a
bodiless 304), **active** (the owner changes one task every 10 s: each change costs every
client one full 200) and **plain** (nothing changes, no If-None-Match: every poll a full 200,
the Mini App's poll before it sent the tag). Reported per idle client per minute: requests and
app CPU (the app process's own, from /proc, minus the idle app's CPU over a window without
clients); and, in the active window, the time from a change (the owner's PATCH sent) to
each client's first answer showing it: the polling part of change→other screen (the
Mini App's redraw comes on top; the browser figure is in docs/sharing.md)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.harness.client import session, summarize
from bench.harness.cpu import median, proc_cpu_seconds
from bench.harness.load import run_client
from bench.harness.procs import log
from bench.harness.report import Row, absent, ms, row, unavailable
from bench.harness.tasks_api import TASKS, seed_tasks, titles

if TYPE_CHECKING:
    from bench.harness.context import Bench

NAME = "sharing_idle"
PERIOD_S = 3.0  # the Mini App's POLL_MS
CHANGE_EVERY_S = 10.0
PAGE = 50
# (name, a change every so many seconds (0: none), If-None-Match sent). "plain" is the Mini
# App's poll before it sent If-None-Match (its fetches are no-store): every poll a full 200.
WINDOWS = (("quiet", 0.0, True), ("active", CHANGE_EVERY_S, True), ("plain", 0.0, False))
KINDS = tuple(w[0] for w in WINDOWS)


def run(bench: Bench) -> dict[str, Any]:
    invites = "/api/lists/{id}/invites"
    if not (bench.offers("GET", TASKS) and bench.offers("POST", invites)):
        return unavailable(f"no GET {TASKS} or POST {invites} in /api/openapi.json")
    clients = 5 if bench.quick else 20
    window = 15.0 if bench.quick else 30.0
    owner = bench.register("bench_share_owner")
    owner_headers = {"Authorization": f"Bearer {owner['access_token']}"}
    status, made = bench.call("POST", "/api/lists", {"name": "Groceries"}, owner_headers)
    if status != 201:
        raise RuntimeError(f"POST /api/lists: {status} {made}")
    lid = made["id"]
    bodies = [(0, {"title": t, "notes": n, "list": lid}) for t, n in titles(PAGE, seed=25)]
    seed_tasks(bench.service.base, [owner_headers], bodies, concurrency=8)
    members = []
    for _ in range(clients):
        member = bench.register("bench_share_member")
        headers = {"Authorization": f"Bearer {member['access_token']}"}
        status, invite = bench.call("POST", f"/api/lists/{lid}/invites", {"role": "editor"},
                                    owner_headers)  # fmt: skip
        status2, _ = bench.call("POST", f"/api/invites/{invite['code']}/accept", None, headers)
        if (status, status2) != (201, 200):
            raise RuntimeError(f"invite/accept: {status}, {status2}")
        members.append(headers)
    path = f"{TASKS}?list={lid}&status=open&limit={PAGE}"
    status, page = bench.call("GET", path, headers=members[0])
    if status != 200 or len(page.get("items", [])) != PAGE:
        raise RuntimeError(f"GET {path}: {status}")
    task_ids = [item["id"] for item in page["items"]]
    runs = []
    for i in range(bench.runs):
        with bench.meter() as idle:  # the app with nobody polling: its own timers
            time.sleep(min(window, 10.0))
        baseline = idle.result["cpu_s"]["app"] / idle.result["wall_s"] * 60
        outcome: dict[str, Any] = {"idle_app_cpu_ms_per_min": round(baseline * 1000, 1)}
        for kind, change_every, conditional in WINDOWS:
            args = {"base": bench.service.base, "path": path, "members": members,
                    "owner": owner_headers, "task_ids": task_ids, "seconds": window,
                    "change_every": change_every, "conditional": conditional,
                    "app_pid": bench.service.pid}  # fmt: skip
            with bench.meter() as cpu:
                polled = run_client("bench.phases.sharing_idle:idle_clients", **args)
            # The app's CPU over the polling window alone (read by the client from /proc:
            # the clients' first, untagged requests and the process start-up are outside it),
            # net of the idle app's over the same wall time; per poll, and so per client per
            # minute at one poll every PERIOD_S (the window's wall time runs past its last
            # polls by up to a period: a per-minute rate of the wall time would undercount).
            minutes = polled["window_wall_s"] / 60
            app_ms = polled["window_app_cpu_s"] * 1000
            net_ms = max(0.0, app_ms - baseline * 1000 * minutes)
            polls = sum(polled["statuses"].values())
            per_poll = net_ms / max(polls, 1)
            polled |= {
                "cpu": cpu.result,
                "requests_per_client_per_min": round(polls / clients / (window / 60), 1),
                "app_cpu_ms_per_client_per_min": round(per_poll * 60 / PERIOD_S, 2),
                "app_cpu_ms_per_poll": round(per_poll, 3),
            }
            outcome[kind] = polled
            log(
                f"  run {i + 1} {kind}: {polled['statuses']}, app CPU "
                f"{polled['app_cpu_ms_per_client_per_min']} ms per client per minute "
                f"(idle app {outcome['idle_app_cpu_ms_per_min']} ms/min subtracted); "
                f"seen after p50 {polled['seen']['p50_ms']} ms"
            )
        runs.append(outcome)
    return {
        "clients": clients,
        "window_s": window,
        "period_s": PERIOD_S,
        "change_every_s": CHANGE_EVERY_S,
        "runs": runs,
        **{
            f"{kind}_{key}": median([r[kind][key] for r in runs])
            for kind in KINDS
            for key in (
                "requests_per_client_per_min",
                "app_cpu_ms_per_client_per_min",
                "app_cpu_ms_per_poll",
            )
        },
        "seen_p50_ms": median([r["active"]["seen"]["p50_ms"] for r in runs]),
        "seen_p99_ms": median([r["active"]["seen"]["p99_ms"] for r in runs]),
        "idle_app_cpu_ms_per_min": median([r["idle_app_cpu_ms_per_min"] for r in runs]),
    }


async def idle_clients(
    base: str,
    path: str,
    members: list[dict[str, str]],
    owner: dict[str, str],
    task_ids: list[str],
    seconds: float,
    change_every: float,
    conditional: bool,
    app_pid: int,
) -> dict[str, Any]:
    """Each member polls `path` every PERIOD_S with If-None-Match, from an evenly spread
    offset, for `seconds`. With `change_every`, the owner renames a task that often (change
    n: title "Changed <pid>.n"), and each client's first answer holding a change is timed from
    the change's PATCH being sent. Each client has opened the list first (an untagged 200,
    before the window): the window is the steady state. `app_pid`'s CPU over the window is
    read from /proc."""
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    changed_at: dict[str, float] = {}  # title -> when its PATCH was sent (perf_counter)
    seen: list[float] = []

    async with session(len(members) + 1) as http:

        async def opened(headers: dict[str, str]) -> str | None:
            async with http.get(base + path, headers=headers) as resp:
                await resp.read()
                return resp.headers.get("ETag")

        tags = [await opened(headers) for headers in members]
        app_cpu_before = proc_cpu_seconds(app_pid)
        start = time.perf_counter()
        stop_at = start + seconds

        async def client(k: int, headers: dict[str, str]) -> None:
            etag = tags[k]
            known: set[str] = set()  # the changes this client has seen
            next_at = start + PERIOD_S * k / len(members)
            while True:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                if time.perf_counter() >= stop_at:
                    return
                next_at += PERIOD_S
                sent = dict(headers, **({"If-None-Match": etag} if etag and conditional else {}))
                try:
                    async with http.get(base + path, headers=sent) as resp:
                        body = await resp.read()
                        got = time.perf_counter()
                        statuses[str(resp.status)] += 1
                        if resp.status != 200:
                            continue
                        etag = resp.headers.get("ETag")
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                titles_now = {item["title"] for item in json.loads(body)["items"]}
                for title in titles_now & changed_at.keys() - known:
                    seen.append(max(0.0, got - changed_at[title]))
                    known.add(title)

        async def changer() -> None:
            n = 0
            while change_every and (at := start + change_every * (n + 0.5)) < stop_at - PERIOD_S:
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                title = f"Changed {os.getpid()}.{n}"  # new in every run: a real change
                changed_at[title] = time.perf_counter()  # sent: a poll may see it before the answer
                async with http.patch(f"{base}{TASKS}/{task_ids[n % len(task_ids)]}",
                                      json={"title": title}, headers=owner) as resp:  # fmt: skip
                    await resp.read()
                    if resp.status != 200:
                        errors[f"PATCH {resp.status}"] += 1
                n += 1

        await asyncio.gather(*(client(k, h) for k, h in enumerate(members)), changer())
        window_wall_s = time.perf_counter() - start
        window_app_cpu_s = proc_cpu_seconds(app_pid) - app_cpu_before
    return {"statuses": dict(statuses), "errors": dict(errors), "changes": len(changed_at),
            "seen": summarize(seen), "window_wall_s": round(window_wall_s, 3),
            "window_app_cpu_s": round(window_app_cpu_s, 4)}  # fmt: skip


def rows(result: dict[str, Any] | None, error: str | None) -> list[Row]:
    figure = "An idle Mini App client on a shared list (poll every 3 s, If-None-Match)"
    if (why := absent(result, error)) is not None:
        return [row(figure, why)]
    assert result is not None
    r = result
    return [
        row(
            f"{figure}, {r['clients']} clients, nothing changes",
            f"{r['quiet_requests_per_client_per_min']:.0f} requests/min (304), app CPU "
            f"{r['quiet_app_cpu_ms_per_client_per_min']:.1f} ms per client per minute "
            f"({r['quiet_app_cpu_ms_per_poll']:.2f} ms per poll)",
        ),
        row(
            f"{figure}, {r['clients']} clients, a change every {r['change_every_s']:.0f} s",
            f"{r['active_requests_per_client_per_min']:.0f} requests/min, app CPU "
            f"{r['active_app_cpu_ms_per_client_per_min']:.1f} ms per client per minute; "
            f"change seen after p50 {ms(r['seen_p50_ms'])}, p99 {ms(r['seen_p99_ms'])}",
        ),
        row(
            f"The same without If-None-Match (every poll a 200), {r['clients']} clients",
            f"{r['plain_requests_per_client_per_min']:.0f} requests/min, app CPU "
            f"{r['plain_app_cpu_ms_per_client_per_min']:.1f} ms per client per minute "
            f"({r['plain_app_cpu_ms_per_poll']:.2f} ms per poll)",
        ),
    ]


def details(result: dict[str, Any]) -> list[str]:
    return [
        f"sharing_idle: {result['clients']} members of one 50-task list, {result['window_s']} s "
        f"per window; app CPU net of the idle app's ({result['idle_app_cpu_ms_per_min']} ms "
        "per minute with nobody polling).",
        "",
    ]


def cpu_runs(result: dict[str, Any]) -> list[tuple[str, int, str, dict[str, Any]]]:
    out = []
    for i, r in enumerate(result["runs"], 1):
        for kind in KINDS:
            polls = sum(r[kind]["statuses"].values())
            out.append((f"sharing idle {kind} {i}", polls, "polls", r[kind]["cpu"]))
    return out
