"""The assistant's task routes (shared/DESIGN.md, "The assistant"), as the task phases use
them: seeding tasks through `POST /api/tasks`, and realistic task titles."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

import aiohttp

from bench.harness.client import session
from bench.harness.load import run_client

TASKS = "/api/tasks"
BUILT_IN_LISTS = ("inbox", "today", "later", "someday")

EN_VERBS = ("Prepare", "Review", "Send", "Call about", "Buy", "Book", "Fix", "Write",
            "Plan", "Update", "Pay", "Order", "Check", "Schedule", "Print")  # fmt: skip
EN_THINGS = ("presentation", "invoice", "groceries", "dentist appointment",
             "quarterly report", "birthday gift", "flight tickets", "car insurance",
             "project roadmap", "meeting notes", "budget spreadsheet", "newsletter draft",
             "tax documents", "conference talk", "passport renewal", "library books",
             "team offsite", "blog post", "kitchen sink", "garden hose")  # fmt: skip
EN_TAILS = ("", "for Anna", "before Friday", "with the team", "for the client",
            "this week", "for mom", "at the office", "next month", "again")  # fmt: skip
RU_TASKS = ("Купить молоко", "Позвонить маме", "Подготовить отчёт", "Записаться к врачу",
            "Оплатить квартиру", "Забрать посылку", "Починить велосипед", "Написать письмо",
            "Прочитать книгу", "Заказать билеты", "Обсудить презентацию", "Найти зарядку",
            "Отправить документы", "Проверить почту", "Сдать анализы")  # fmt: skip
RU_TAILS = ("", "до пятницы", "для Анны", "на выходных", "срочно", "после работы",
            "в офисе", "для клиента")  # fmt: skip
NOTES = (
    "Ask Anna first",
    "Receipt is in the drawer",
    "Bring the documents",
    "Номер заказа в почте",
    "Взять паспорт",
)


def titles(count: int, seed: int = 42) -> list[tuple[str, str]]:
    """`count` (title, notes) pairs: mostly English, a third Russian, some with notes.
    Deterministic, so every run searches the same haystack."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        if rng.random() < 0.33:
            title = f"{rng.choice(RU_TASKS)} {rng.choice(RU_TAILS)}"
        else:
            title = f"{rng.choice(EN_VERBS)} {rng.choice(EN_THINGS)} {rng.choice(EN_TAILS)}"
        notes = rng.choice(NOTES) if rng.random() < 0.2 else ""
        out.append((title.strip(), notes))
    return out


def seed_tasks(
    base: str,
    auths: list[dict[str, str]],
    tasks: list[tuple[int, dict[str, Any]]],
    concurrency: int = 32,
) -> dict[str, Any]:
    """Create tasks through the API from a client process: `tasks` are (index into `auths`,
    body). Raises when any is refused: later figures would measure the wrong haystack."""
    result = run_client(
        "bench.harness.tasks_api:create_tasks",
        base=base,
        auths=auths,
        tasks=tasks,
        concurrency=concurrency,
    )
    if result["created"] != len(tasks):
        raise RuntimeError(
            f"POST {TASKS}: {result['created']} of {len(tasks)} created, statuses "
            f"{result['statuses']}, errors {result['errors']}; first refusal: "
            f"{result['first_refusal']}"
        )
    return result


# ----------------------------------------------------------- in the client process


async def create_tasks(
    base: str, auths: list[dict[str, str]], tasks: list[list[Any]], concurrency: int
) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    first_refusal: str | None = None
    queue = iter(tasks)
    async with session(concurrency) as http:

        async def worker() -> None:
            nonlocal first_refusal
            for auth, body in queue:  # shared iterator: each task is sent once
                try:
                    async with http.post(base + TASKS, json=body, headers=auths[auth]) as resp:
                        text = await resp.text()
                        statuses[str(resp.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                if resp.status != 201 and first_refusal is None:
                    first_refusal = f"{resp.status} {text[:300]}"

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    created = statuses.get("201", 0)
    return {
        "count": len(tasks),
        "created": created,
        "statuses": dict(statuses),
        "errors": dict(errors),
        "first_refusal": first_refusal,
        "seconds": round(seconds, 2),
        "per_s": round(created / seconds, 1) if seconds else None,
    }
