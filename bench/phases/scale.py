"""Issue 21: one user's requests with 1, 1,000 and 10,000 users in the same database (100
tasks each, a fifth of them with a reminder), and the idle database's CPU.

A service of its own (fresh DATA_DIR, so earlier phases' data does not count as users). The
measured user is registered and given 100 tasks through the API; everyone else is written
straight into the database, in batches, in the shapes the services write (the beanie
models' own `get_dict`, the search terms and postings, the reminder documents). At each
population, one request at a time, p50/p99 of: a task page, a list page, search (mistyped
words and prefixes), the lists, `/me`, login and a webhook update; then the service left
idle and the CPU of the database (and the app) measured.

Targets: every figure at 10,000 users ≤ 1.3 times its figure at 1 user; idle database CPU ≤ 2 %
of a core.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bench.harness.client import session, summarize
from bench.harness.load import run_client
from bench.harness.procs import Service, log
from bench.harness.report import Row, X, absent, ms, row, unavailable, yes
from bench.harness.tasks_api import BUILT_IN_LISTS, TASKS, seed_tasks, titles
from bench.phases.webhook import SECRET_HEADER, message_update

if TYPE_CHECKING:
    from bench.harness.context import Bench

NAME = "scale"
POPULATIONS = (1, 1_000, 10_000)
QUICK_POPULATIONS = (1, 200, 1_000)
TASKS_PER_USER = 100
REMINDER_SHARE = 5  # one task in five has a reminder
TARGET_RATIO = 1.3
TARGET_IDLE_DB_CORE = 0.02
BATCH = 5_000  # documents per insert_many
TELEGRAM_ID = 555_000_001  # the measured user's Telegram account (its webhook updates)
SEARCHES = [
    "prsentation",
    "invioce",
    "dentst",
    "малоко",
    "отчот",
    "pres",
    "inv",
    "молок",
    "докум",
    "flight tick",
]
LOGIN = {"username": "scale_me", "password": "scale-password-0123456789"}
# Everyone else's password hash: well-formed, never checked (only the measured user logs in).
OTHERS_HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2NhbGVzYWx0$aGFzaA"
FIGURES = ("task page", "list page", "search", "lists", "/me", "login", "webhook update")


def run(bench: Bench) -> dict[str, Any]:
    if bench.external_uri:
        return unavailable("measures the embedded database (MONGODB_URI is set)")
    service = Service(bench.env(), bench.run_dir, "scale")
    service.start()
    try:
        return _measure_all(bench, service)
    finally:
        service.stop()


def _measure_all(bench: Bench, service: Service) -> dict[str, Any]:
    from pymongo import MongoClient

    from bench.harness.context import WEBHOOK_SECRET

    base = service.base
    status, user = _call(service, "POST", "/api/auth/register", LOGIN)
    if status != 201:
        raise RuntimeError(f"register: {status} {user}")
    headers = {"Authorization": f"Bearer {user['access_token']}"}
    soon = time.strftime("%Y-%m-%dT09:00:00Z", time.gmtime(time.time() + 3 * 86400))
    bodies = []
    for k, (title, notes) in enumerate(titles(TASKS_PER_USER, seed=7)):
        body: dict[str, Any] = {"title": title, "notes": notes, "list": BUILT_IN_LISTS[k % 4]}
        if k % REMINDER_SHARE == 0:
            body["remind_at"] = soon
        bodies.append((0, body))
    seed_tasks(base, [headers], bodies, concurrency=8)
    child = service.nx_child()
    assert child is not None
    uri = f"mongodb://127.0.0.1:{child[1]}/"
    asyncio.run(_bind_models(uri, bench.db_name))
    client: MongoClient[dict[str, Any]] = MongoClient(uri)
    db = client[bench.db_name]
    populations = QUICK_POPULATIONS if bench.quick else POPULATIONS
    samples = 20 if bench.quick else 60
    results: dict[str, Any] = {"populations": {}, "samples": samples}
    have = 1
    try:
        for population in populations:
            if population > have:
                t0 = time.perf_counter()
                written = _seed(db, have, population)
                have = population
                log(
                    f"  scale: {population:,} users ({written:,} documents in "
                    f"{time.perf_counter() - t0:.0f} s)"
                )
            # A fresh sign-in per round: the previous round's logins ended the oldest sessions
            # (the per-user session cap), this token's among them.
            status, signed_in = _call(service, "POST", "/api/auth/login", LOGIN)
            if status != 200:
                raise RuntimeError(f"login: {status} {signed_in}")
            headers = {"Authorization": f"Bearer {signed_in['access_token']}"}
            measured = run_client(
                "bench.phases.scale:measure",
                base=base,
                headers=headers,
                login=LOGIN,
                samples=samples,
                telegram_id=TELEGRAM_ID,
                update_base=population * 1_000_000,
                secret=WEBHOOK_SECRET,
            )
            failed = {
                figure: got["statuses"]
                for figure, got in measured.items()
                if set(got["statuses"]) - {"200", "201"}
            }
            if failed:  # an error answers fast: its latency is no figure
                raise RuntimeError(f"scale at {population:,} users: answers not 2xx: {failed}")
            idle = _idle_cpu(bench, service, 5.0 if bench.quick else 15.0)
            measured["idle"] = idle
            results["populations"][str(population)] = measured
            log(
                f"  scale {population:,} users: "
                + ", ".join(
                    f"{f} {measured[f]['p50_ms']}/{measured[f]['p99_ms']} ms" for f in FIGURES
                )
                + f"; idle DB {idle['db_core'] * 100:.2f} % of a core, app "
                f"{idle['app_core'] * 100:.2f} %"
            )
    finally:
        client.close()
    return results


async def _bind_models(uri: str, db_name: str) -> None:
    """The models bound to the service's database, so that they build their documents
    (`get_dict`) exactly as the services do."""
    from pymongo import AsyncMongoClient

    from server.db.connection import init_models

    client: AsyncMongoClient[Any] = AsyncMongoClient(uri)
    try:
        await init_models(client, db_name)
    finally:
        await client.close()


def _call(service: Service, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    from bench.harness.procs import http_json

    return http_json(service.port, method, path, body)


def _idle_cpu(bench: Bench, service: Service, seconds: float) -> dict[str, float]:
    from bench.harness.cpu import proc_cpu_seconds

    child = service.nx_child()
    assert child is not None
    time.sleep(2.0)  # what the requests left behind settles
    app0, db0, t0 = proc_cpu_seconds(service.pid), proc_cpu_seconds(child[0]), time.monotonic()
    time.sleep(seconds)
    app1, db1, t1 = proc_cpu_seconds(service.pid), proc_cpu_seconds(child[0]), time.monotonic()
    wall = t1 - t0
    return {
        "seconds": round(wall, 1),
        "db_core": round((db1 - db0) / wall, 4),
        "app_core": round((app1 - app0) / wall, 4),
    }


# ------------------------------------------------------------------- seeding


def _seed(db: Any, first: int, last: int) -> int:
    """Users first..last-1 (0 is the measured user), in the shapes the services write."""
    written = 0
    for name, docs in _documents(first, last):
        batch: list[dict[str, Any]] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= BATCH:
                db[name].insert_many(batch, ordered=False)
                written += len(batch)
                batch = []
        if batch:
            db[name].insert_many(batch, ordered=False)
            written += len(batch)
    return written


def _documents(first: int, last: int) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
    """Per collection, the documents of users first..last-1, user by user."""
    from beanie import PydanticObjectId
    from beanie.odm.utils.dump import get_dict

    from models import Reminder, Task, TaskList, User
    from models.reminder import PENDING
    from server.services.tasks import search
    from server.services.tasks.search_backend import layout

    rng = random.Random(first)
    pool = titles(2_000, seed=11)
    now_ms = int(time.time() * 1000)
    users = [(n, PydanticObjectId()) for n in range(first, last)]

    def user_docs() -> Iterator[dict[str, Any]]:
        for n, oid in users:
            user = User(
                id=oid,
                username=f"scale{n}",
                username_normalized=f"scale{n}",
                password_hash=OTHERS_HASH,
                telegram_id=700_000_000 + n,
                first_name=f"User {n}",
            )
            yield get_dict(user, to_db=True)

    plans: dict[str, list[Any]] = {
        "task_lists": [],
        "tasks": [],
        "reminders": [],
        "search_postings": [],
    }
    for _n, oid in users:
        uid = str(oid)
        lists = [TaskList(id=PydanticObjectId(), user_id=uid, key=key) for key in BUILT_IN_LISTS]
        plans["task_lists"] += [get_dict(doc, to_db=True) for doc in lists]
        indexed: list[tuple[str, list[str]]] = []
        for k in range(TASKS_PER_USER):
            title, notes = pool[rng.randrange(len(pool))]
            task_id = PydanticObjectId()
            created = now_ms - (TASKS_PER_USER - k) * 60_000
            remind = None
            if k % REMINDER_SHARE == 0:
                remind = created + rng.randrange(1, 30) * 86_400_000
            terms = search.index_terms(title, notes)
            task = Task(
                id=task_id,
                user_id=uid,
                list_id=str(lists[k % 4].id),
                title=title,
                notes=notes,
                order_key=f"{created:013d}{task_id}",
                terms=terms,
            )
            doc = get_dict(task, to_db=True)
            if remind is not None:
                from datetime import UTC, datetime

                doc["remind_at"] = datetime.fromtimestamp(remind / 1000, UTC)
                reminder = Reminder(
                    id=task_id,
                    user_id=uid,
                    title=title,
                    due_ms=remind,
                    occurrence_ms=remind,
                    state=PENDING,
                    version=1,
                )
                plans["reminders"].append(get_dict(reminder, to_db=True))
            plans["tasks"].append(doc)
            indexed.append((str(task_id), terms))
        plans["search_postings"] += layout(uid, indexed)  # as MongoSearch's writes leave them
    yield "users", user_docs()
    for name, docs in plans.items():
        yield name, iter(docs)


# ----------------------------------------------------------- in the client process


async def measure(
    base: str,
    headers: dict[str, str],
    login: dict[str, str],
    samples: int,
    telegram_id: int,
    update_base: int,
    secret: str,
) -> dict[str, Any]:
    """Each figure `samples` times, one request at a time, after an untimed round."""
    import json

    async with session(1) as http:
        counter = iter(range(update_base, update_base + 10 * samples + 100))

        def webhook_body() -> bytes:
            return json.dumps(message_update(next(counter), telegram_id, "/start")).encode()

        requests: dict[str, Any] = {
            "task page": lambda i: ("GET", f"{base}{TASKS}?limit=50", headers, None),
            "list page": lambda i: ("GET", f"{base}{TASKS}?list=today&limit=50", headers, None),
            "search": lambda i: (
                "GET",
                f"{base}{TASKS}?q={SEARCHES[i % len(SEARCHES)]}",
                headers,
                None,
            ),
            "lists": lambda i: ("GET", f"{base}/api/lists", headers, None),
            "/me": lambda i: ("GET", f"{base}/api/auth/me", headers, None),
            "login": lambda i: ("POST", f"{base}/api/auth/login", {}, login),
            "webhook update": lambda i: (
                "POST",
                f"{base}/telegram/webhook",
                {SECRET_HEADER: secret, "Content-Type": "application/json"},
                webhook_body(),
            ),
        }
        out: dict[str, Any] = {}
        for figure, make in requests.items():
            n = max(10, samples // 4) if figure == "login" else samples
            latencies: list[float] = []
            statuses: dict[str, int] = {}
            for i in range(-min(5, n), n):  # negative: warm-up, untimed
                method, url, hdrs, body = make(i)
                kwargs: dict[str, Any] = {"headers": hdrs}
                if isinstance(body, bytes):
                    kwargs["data"] = body
                elif body is not None:
                    kwargs["json"] = body
                begin = time.perf_counter()
                async with http.request(method, url, **kwargs) as resp:
                    await resp.read()
                    status = resp.status
                if i >= 0:
                    latencies.append(time.perf_counter() - begin)
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
            out[figure] = {**summarize(latencies), "statuses": statuses}
    return out


# ------------------------------------------------------------------- the report


def _ratio(result: dict[str, Any], figure: str, key: str) -> float | None:
    pops = result["populations"]
    first, last = pops[min(pops, key=int)], pops[max(pops, key=int)]
    a, b = first[figure][key], last[figure][key]
    return round(b / a, 2) if a and b else None


def rows(result: dict[str, Any] | None, error: str | None) -> list[Row]:
    figure = "scale: one user's requests at 1 vs 10,000 users; idle database CPU"
    if (why := absent(result, error)) is not None:
        return [row(figure, why, f"≤ {TARGET_RATIO}{X}; ≤ 2 % of a core", "n/a")]
    assert result is not None
    pops = result["populations"]
    top = max(pops, key=int)
    out = []
    for name in FIGURES:
        ratio = _ratio(result, name, "p50_ms")
        values = ", ".join(
            f"{int(p):,}: {ms(pops[p][name]['p50_ms'])} / {ms(pops[p][name]['p99_ms'])}"
            for p in sorted(pops, key=int)
        )
        out.append(
            row(
                f"scale: {name}, p50 / p99 by users",
                f"{values}; p50 {X}{ratio}",
                f"≤ {TARGET_RATIO}{X} at {int(top):,} users",
                yes(ratio is not None and ratio <= TARGET_RATIO),
            )
        )
    idle = pops[top]["idle"]
    out.append(
        row(
            f"scale: idle database CPU at {int(top):,} users",
            f"{idle['db_core'] * 100:.2f} % of a core (app {idle['app_core'] * 100:.2f} %)",
            "≤ 2 % of a core",
            yes(idle["db_core"] <= TARGET_IDLE_DB_CORE),
        )
    )
    return out


def details(result: dict[str, Any]) -> list[str]:
    pops = result["populations"]
    lines = [
        f"Scale: p50 / p99 in ms of one user's requests ({result['samples']} each, one at a "
        "time), by the number of users in the database (100 tasks each, a fifth with a "
        "reminder); idle CPU as a share of one core.",
        "",
        "| users | " + " | ".join(FIGURES) + " | idle DB | idle app |",
        "| --- |" + " --- |" * (len(FIGURES) + 2),
    ]
    for p in sorted(pops, key=int):
        cells = [f"{pops[p][f]['p50_ms']} / {pops[p][f]['p99_ms']}" for f in FIGURES]
        idle = pops[p]["idle"]
        lines.append(
            f"| {int(p):,} | "
            + " | ".join(cells)
            + f" | {idle['db_core'] * 100:.2f} % | {idle['app_core'] * 100:.2f} % |"
        )
    return [*lines, ""]


def cpu_runs(result: dict[str, Any]) -> list[tuple[str, int, str, dict[str, Any]]]:
    return []
