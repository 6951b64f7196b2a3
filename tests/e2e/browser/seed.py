"""An account with a believable day in it, made through the real API (as a client would),
for the screenshots and the quick-action tests. Times are wall-clock times on a fixed day
(`DAY`, a Monday) in the account's zone; the page's clock is pinned to that morning, so
"Today 10 AM" and the rest read the same on every run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import ClientSession

from tests.helpers import PASSWORD

DAY = (2030, 6, 3)  # a Monday, in the future whenever the tests run
MORNING = 8  # the page's clock: 08:00 on DAY

STANDUP = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=10;BYMINUTE=0"
WATERING = "FREQ=DAILY;INTERVAL=2;BYHOUR=19;BYMINUTE=0"
VITAMIN = "FREQ=HOURLY;INTERVAL=2;BYMINUTE=27"

TEXTS = {
    "en": {
        "garden": "Garden",
        "tasks": [
            ("today", "Stand-up with the team", 0, "10:00", STANDUP),
            ("today", "Call the dentist", 0, "14:30", None),
            ("today", "Send the invoice", -1, "18:00", None),
            ("today", "Buy flowers for Anna", None, None, None),
            ("inbox", "Buy milk", 1, "09:00", None),
            ("inbox", "Take a vitamin", 0, "12:27", VITAMIN),
            ("later", "Renew the passport", 24, "11:00", None),
            ("garden", "Plant the tulips", 5, "10:00", None),
            ("garden", "Water the plants", 1, "19:00", WATERING),
            ("garden", "Fix the fence", None, None, None),
        ],
    },
    "ru": {
        "garden": "Дача",
        "tasks": [
            ("today", "Планёрка с командой", 0, "10:00", STANDUP),
            ("today", "Позвонить стоматологу", 0, "14:30", None),
            ("today", "Отправить счёт", -1, "18:00", None),
            ("today", "Купить цветы Ане", None, None, None),
            ("inbox", "Купить молоко", 1, "09:00", None),
            ("inbox", "Выпить витамин", 0, "12:27", VITAMIN),
            ("later", "Продлить паспорт", 24, "11:00", None),
            ("garden", "Посадить тюльпаны", 5, "10:00", None),
            ("garden", "Полить растения", 1, "19:00", WATERING),
            ("garden", "Починить забор", None, None, None),
        ],
    },
}  # fmt: skip

ZONES = {"en": "Europe/London", "ru": "Europe/Moscow"}


def at(zone: str, days: int, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    local = datetime(*DAY, hour, minute, tzinfo=ZoneInfo(zone)) + timedelta(days=days)
    return local.astimezone(UTC)


def morning(lang: str) -> datetime:
    """The instant the page's clock is pinned to."""
    return at(ZONES[lang], 0, f"{MORNING:02d}:00")


@dataclass
class Seeded:
    username: str
    token: str
    lists: dict[str, str]  # key or name -> id


async def seed_account(base_url: str, username: str, lang: str, *, tasks: bool = True) -> Seeded:
    """Register `username`, set the language and zone, add a list of one's own and the day's
    tasks; all through the API."""
    zone = ZONES[lang]
    texts = TEXTS[lang]
    async with ClientSession(base_url) as http:

        async def call(method: str, path: str, token: str | None, body: Any = None) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.request(method, path, json=body, headers=headers) as response:
                assert response.status < 300, (path, response.status, await response.text())
                return await response.json()

        pair = await call(
            "POST", "/api/auth/register", None, {"username": username, "password": PASSWORD}
        )
        token = pair["access_token"]
        await call("PATCH", "/api/auth/me", token, {"language": lang, "timezone": zone})
        await call("POST", "/api/lists", token, {"name": texts["garden"]})
        lists = {}
        for item in (await call("GET", "/api/lists", token))["items"]:
            lists[item["key"] or item["name"]] = item["id"]
        lists["garden"] = lists[texts["garden"]]
        if tasks:
            for where, title, days, clock, repeat in texts["tasks"]:
                body: dict[str, Any] = {"title": title, "list": lists[where]}
                if days is not None and clock is not None:
                    when = at(zone, days, clock).isoformat()
                    body["remind_at"] = body["due"] = when
                if repeat:
                    body["repeat"] = repeat
                await call("POST", "/api/tasks", token, body)
    return Seeded(username, token, lists)
