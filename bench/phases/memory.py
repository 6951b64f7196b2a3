"""The app's RSS after 10,000 users: inserted with pymongo (an argon2id hash precomputed with
the app's parameters, as a registration stores it), then each served once by the app
(`GET /api/auth/me` with its Bearer token)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.harness.client import session, summarize
from bench.harness.context import JWT_AUDIENCE, JWT_ISSUER, JWT_SECRET
from bench.harness.load import run_client
from bench.harness.procs import log, rss_kib
from bench.harness.report import Row, absent, mib, row

if TYPE_CHECKING:
    from bench.harness.context import Bench

NAME = "memory"


def run(bench: Bench) -> dict[str, Any]:
    count = 1000 if bench.quick else 10_000
    service = bench.service
    before = service.rss_kib()
    ids, insert_s, total_users = insert_users(bench, count)
    bench.rss_mark(f"after inserting {count} users")
    from server.services.accounts.tokens import AccessTokens

    issuer = AccessTokens(JWT_SECRET.encode(), JWT_ISSUER, JWT_AUDIENCE, 3600)
    tokens = [issuer.issue(str(oid)) for oid in ids]
    with bench.meter() as cpu:
        sweep = run_client(
            "bench.phases.memory:serve_each",
            url=f"{service.base}/api/auth/me",
            tokens=tokens,
            concurrency=64,
        )
    sweep["cpu"] = cpu.result
    time.sleep(2.0)  # let the app settle before reading its RSS
    after = service.rss_kib()
    bench.rss_mark(f"after {count} users each served GET /api/auth/me")
    child = service.nx_child()
    log(
        f"  {count} users inserted in {insert_s:.1f}s, GET /me for each: {sweep['rps']} req/s "
        f"{sweep['statuses']}; RSS {before} -> {after} KiB"
    )
    return {
        "users_inserted": count,
        "how": "inserted with pymongo (argon2id hash precomputed with the app's parameters), "
        "then each one served once by the app: GET /api/auth/me with its Bearer token",
        "insert_seconds": round(insert_s, 2),
        "users_in_db": total_users,
        "sweep": sweep,
        "rss_before_mib": round((before or 0) / 1024, 1),
        "rss_after_mib": round((after or 0) / 1024, 1),
        "nx_child_rss_mib": round((rss_kib(child[0]) or 0) / 1024, 1) if child else None,
    }


def insert_users(bench: Bench, count: int) -> tuple[list[Any], float, int]:
    """`count` users in the shape a registration stores; their ids, seconds, users in all."""
    import datetime as dt
    import secrets

    from argon2 import PasswordHasher, Type
    from bson import ObjectId
    from pymongo import MongoClient

    password_hash = PasswordHasher(type=Type.ID, **bench.argon2).hash(secrets.token_urlsafe(18))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ids = [ObjectId() for _ in range(count)]
    tag = secrets.token_hex(2)
    docs = [
        {
            "_id": oid,
            "username": f"mem_{tag}_{k:05d}",
            "username_normalized": f"mem_{tag}_{k:05d}",
            "password_hash": password_hash,
            "telegram_id": None,
            "telegram_username": None,
            "first_name": None,
            "last_name": None,
            "language_code": None,
            "created_at": now,
            "updated_at": now,
        }
        for k, oid in enumerate(ids)
    ]
    with MongoClient(bench.mongo_uri(), serverSelectionTimeoutMS=10000) as client:
        db = client[bench.db_name]
        t0 = time.perf_counter()
        for start in range(0, count, 500):
            db.users.insert_many(docs[start : start + 500], ordered=False)
        insert_s = time.perf_counter() - t0
        total = db.users.count_documents({})
    return ids, insert_s, total


# ----------------------------------------------------------- in the client process


async def serve_each(url: str, tokens: list[str], concurrency: int) -> dict[str, Any]:
    """One `GET url` per token, `concurrency` at a time."""
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    queue = iter(tokens)
    async with session(concurrency) as http:

        async def worker() -> None:
            for token in queue:
                begin = time.perf_counter()
                try:
                    headers = {"Authorization": f"Bearer {token}"}
                    async with http.get(url, headers=headers) as resp:
                        await resp.read()
                        statuses[str(resp.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - begin)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return {
        "requests": len(tokens),
        "rps": round(len(tokens) / elapsed, 1),
        "statuses": dict(statuses),
        "errors": dict(errors),
        **summarize(latencies),
    }


# ------------------------------------------------------------------- the report


def rows(result: dict[str, Any] | None, error: str | None) -> list[Row]:
    if (why := absent(result, error)) is not None:
        return [row("memory after 10,000 users", why)]
    assert result is not None
    return [
        row(
            f"memory: app process RSS after {result['users_inserted']:,} registered users "
            "(each served once)",
            mib(result["rss_after_mib"]),
        )
    ]


def details(result: dict[str, Any]) -> list[str]:
    sweep = result["sweep"]
    return [
        f"Memory: {result['users_inserted']:,} users {result['how']} ({sweep['rps']:,.0f} "
        f"req/s, statuses {sweep['statuses']}); {result['users_in_db']:,} users in the "
        f"database in all. The nx-27017 child then held {result['nx_child_rss_mib']} MiB "
        "(not counted).",
        "",
    ]


def cpu_runs(result: dict[str, Any]) -> list[tuple[str, int, str, dict[str, Any]]]:
    return [("memory sweep", result["sweep"]["requests"], "requests", result["sweep"]["cpu"])]
