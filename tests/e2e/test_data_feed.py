"""The private calendar feed through the real app, read back by a real iCalendar parser
(`icalendar`): every field, repeats expanded across daylight-saving changes and compared
with the reminder engine's own next occurrences, the time zone definition, rotation,
revocation, ETag/304 and the per-token rate limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiohttp.test_utils import TestClient
from dateutil.rrule import rrulestr

from server.services.dates.occurrences import next_occurrence
from tests.helpers import assert_problem, bearer, register


async def ok(resp: Any, status: int = 200) -> Any:
    text = await resp.text()
    assert resp.status == status, text
    return json.loads(text) if text else None


async def user_in(client: TestClient, name: str, zone: str) -> dict[str, str]:
    headers = bearer((await register(client, name))["access_token"])
    await ok(await client.patch("/api/auth/me", json={"timezone": zone}, headers=headers))
    return headers


async def feed_path(client: TestClient, headers: dict[str, str]) -> str:
    body = await ok(await client.post("/api/calendar/feed", headers=headers), 201)
    url = body["url"]
    assert url.startswith("http")
    assert url.endswith(".ics")
    return "/cal/" + url.rsplit("/cal/", 1)[1]


async def fetch(client: TestClient, path: str) -> icalendar.Calendar:
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/calendar"
    return icalendar.Calendar.from_ical(await resp.read())


def events(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["UID"]).split("@")[0]: e for e in cal.walk("VEVENT")}


async def test_the_feed_holds_open_tasks_with_a_time_and_every_field_reads_back(
    client: TestClient,
) -> None:
    headers = await user_in(client, "feeder", "Europe/Berlin")
    remind = datetime(2031, 5, 6, 7, 30, tzinfo=UTC)  # 09:30 in Berlin (CEST)
    due = datetime(2031, 5, 6, 10, 0, tzinfo=UTC)
    with_both = await ok(
        await client.post(
            "/api/tasks",
            headers=headers,
            json={
                "title": "Call Anna; bring notes, please",
                "notes": "line one\nline two",
                "due": due.isoformat(),
                "remind_at": remind.isoformat(),
            },
        ),
        201,
    )
    repeating = await ok(
        await client.post(
            "/api/tasks",
            headers=headers,
            json={
                "title": "Stand-up",
                "remind_at": remind.isoformat(),
                "repeat": "FREQ=WEEKLY;BYDAY=TU",
            },
        ),
        201,
    )
    day_only = await ok(
        await client.post(
            "/api/tasks",
            headers=headers,
            json={
                "title": "Tax day",
                "list": "later",
                "due": datetime(2031, 5, 31, tzinfo=ZoneInfo("Europe/Berlin")).isoformat(),
            },
        ),
        201,
    )
    await ok(await client.post("/api/tasks", headers=headers, json={"title": "No time"}), 201)
    finished = await ok(
        await client.post(
            "/api/tasks", headers=headers, json={"title": "Done already", "due": due.isoformat()}
        ),
        201,
    )
    await ok(
        await client.patch(f"/api/tasks/{finished['id']}", headers=headers, json={"done": True})
    )

    cal = await fetch(client, await feed_path(client, headers))
    found = events(cal)
    assert set(found) == {with_both["id"], repeating["id"], day_only["id"]}
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]

    first = found[with_both["id"]]
    assert str(first["SUMMARY"]) == "Call Anna; bring notes, please"
    assert str(first["DESCRIPTION"]) == "line one\nline two"
    start = first.decoded("DTSTART")
    assert start == due
    assert str(start.tzinfo) == "Europe/Berlin"
    assert start.astimezone(ZoneInfo("Europe/Berlin")).hour == 12
    (alarm,) = first.walk("VALARM")
    assert alarm.decoded("TRIGGER") == remind - due  # the reminder, 2.5 hours before
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert int(first["SEQUENCE"]) == 0
    stored = datetime.fromisoformat(with_both["updated_at"].replace("Z", "+00:00"))
    assert first.decoded("LAST-MODIFIED") == stored.replace(microsecond=0)
    assert first.decoded("DTSTAMP") == stored.replace(microsecond=0)
    assert str(first["CATEGORIES"].cats[0]) == "Inbox"

    second = found[repeating["id"]]
    assert second.decoded("DTSTART") == remind
    assert second["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=TU"
    assert second.walk("VALARM")[0].decoded("TRIGGER") == timedelta(0)

    third = found[day_only["id"]]
    assert third.decoded("DTSTART") == datetime(2031, 5, 31).date()
    assert not third.walk("VALARM")
    assert str(third["CATEGORIES"].cats[0]) == "Later"

    # A change shows: a new SEQUENCE and LAST-MODIFIED; the UID stays.
    changed = await ok(
        await client.patch(
            f"/api/tasks/{with_both['id']}", headers=headers, json={"title": "Call Anna"}
        )
    )
    again = events(await fetch(client, await feed_path(client, headers)))
    assert str(again[with_both["id"]]["SUMMARY"]) == "Call Anna"
    assert int(again[with_both["id"]]["SEQUENCE"]) == 1
    assert again[with_both["id"]].decoded("LAST-MODIFIED") == datetime.fromisoformat(
        changed["updated_at"].replace("Z", "+00:00")
    ).replace(microsecond=0)


@pytest.mark.parametrize(
    ("zone", "first", "rule"),
    [
        # Berlin springs forward on 2030-03-31 and falls back on 2030-10-27.
        ("Europe/Berlin", datetime(2030, 3, 25, 9, 0), "FREQ=DAILY"),
        ("Europe/Berlin", datetime(2030, 10, 21, 9, 0), "FREQ=WEEKLY;BYDAY=MO,TH"),
        # New York springs forward on 2030-03-10 and falls back on 2030-11-03.
        ("America/New_York", datetime(2030, 3, 4, 9, 0), "FREQ=DAILY;INTERVAL=2"),
        ("America/New_York", datetime(2030, 10, 27, 18, 45), "FREQ=WEEKLY;BYDAY=SU"),
    ],
)
async def test_repeats_stay_on_the_wall_clock_across_dst_as_the_reminders_do(
    client: TestClient, zone: str, first: datetime, rule: str
) -> None:
    headers = await user_in(client, "dst" + zone.split("/")[1].lower()[:6], zone)
    tz = ZoneInfo(zone)
    remind = first.replace(tzinfo=tz)
    task = await ok(
        await client.post(
            "/api/tasks",
            headers=headers,
            json={"title": "Repeat", "remind_at": remind.isoformat(), "repeat": rule},
        ),
        201,
    )
    raw = await (await client.get(await feed_path(client, headers))).read()
    event = events(icalendar.Calendar.from_ical(raw))[task["id"]]

    # Expanded the way a calendar does: the RRULE from the event's DTSTART (in its TZID).
    start = event.decoded("DTSTART")
    expanded = rrulestr(event["RRULE"].to_ical().decode(), dtstart=start)
    from_feed = [moment.astimezone(UTC) for moment in expanded[:12]]
    # The reminder engine's own occurrences, one after the other.
    ours = [remind.astimezone(UTC)]
    while len(ours) < 12:
        following = next_occurrence(rule, ours[-1], ours[-1], tz)
        assert following is not None
        ours.append(following)
    assert from_feed == ours
    # Both cross the change and stay at the same wall-clock time.
    offsets = {moment.astimezone(tz).utcoffset() for moment in ours}
    assert len(offsets) == 2
    assert {(m.astimezone(tz).hour, m.astimezone(tz).minute) for m in ours} == {
        (first.hour, first.minute)
    }

    # The feed's VTIMEZONE itself (read under another name, so the parser cannot fall back
    # on its own zone database) gives the zone's offsets for years ahead.
    renamed = raw.replace(f"TZID:{zone}".encode(), b"TZID:X-Feed-" + zone.encode())
    (definition,) = icalendar.Calendar.from_ical(renamed).walk("VTIMEZONE")
    theirs = definition.to_tz()
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    while moment < datetime(2040, 1, 1, tzinfo=UTC):
        assert moment.astimezone(theirs).utcoffset() == moment.astimezone(tz).utcoffset(), moment
        moment += timedelta(hours=13)


async def test_rotating_and_revoking_end_the_old_url_with_the_same_plain_404(
    client: TestClient, db: Any
) -> None:
    headers = await user_in(client, "rotator", "UTC")
    first = await feed_path(client, headers)
    assert (await client.get(first)).status == 200
    second = await feed_path(client, headers)
    assert second != first
    gone = await assert_problem(await client.get(first), 404)
    assert (await client.get(second)).status == 200
    # Only a hash of the token is stored.
    (stored,) = await db.calendar_feeds.find({}).to_list()
    token = second.removeprefix("/cal/").removesuffix(".ics")
    assert token not in json.dumps(stored, default=str)
    assert (await client.get("/api/calendar/feed", headers=headers)).status == 200

    await ok(await client.delete("/api/calendar/feed", headers=headers), 204)
    revoked = await assert_problem(await client.get(second), 404)
    wrong = await assert_problem(await client.get("/cal/" + "A" * 43 + ".ics"), 404)
    for body in (gone, revoked, wrong):
        body.pop("request_id", None)
    assert gone == revoked == wrong
    status = await ok(await client.get("/api/calendar/feed", headers=headers))
    assert status == {"enabled": False, "created_at": None}
    # Without credentials the feed cannot be turned on.
    assert (await client.post("/api/calendar/feed")).status == 401


async def test_etag_and_304_and_a_change_makes_a_new_etag(client: TestClient) -> None:
    headers = await user_in(client, "etagger", "Europe/Berlin")
    task = await ok(
        await client.post(
            "/api/tasks", headers=headers, json={"title": "Dentist", "due": "2031-02-03T10:00:00Z"}
        ),
        201,
    )
    path = await feed_path(client, headers)
    first = await client.get(path)
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    assert first.headers["Cache-Control"].startswith("private")
    same = await client.get(path, headers={"If-None-Match": etag})
    assert same.status == 304
    assert same.headers["ETag"] == etag
    assert await same.read() == b""
    assert (await client.get(path, headers={"If-None-Match": f'W/{etag}, "x"'})).status == 304
    await ok(
        await client.patch(
            f"/api/tasks/{task['id']}", headers=headers, json={"title": "Dentist at 11"}
        )
    )
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag


async def test_the_feed_is_rate_limited_per_token(client: TestClient) -> None:
    headers = await user_in(client, "poller", "UTC")
    path = await feed_path(client, headers)
    for _ in range(60):
        assert (await client.get(path)).status == 200
    limited = await assert_problem(await client.get(path), 429)
    assert limited["type"] == "urn:problem:too-many-attempts"
    # Another token is counted on its own.
    assert (await client.get(await feed_path(client, headers))).status == 200


async def test_the_feed_is_capped(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.services.portability import feed

    monkeypatch.setattr(feed, "MAX_EVENTS", 3)
    monkeypatch.setattr(feed, "BATCH", 2)
    headers = await user_in(client, "capped", "UTC")
    made = []
    for i in range(5):
        body = {"title": f"t{i}", "due": "2031-01-01T10:00:00Z"}
        made.append(
            (await ok(await client.post("/api/tasks", headers=headers, json=body), 201))["id"]
        )
    found = events(await fetch(client, await feed_path(client, headers)))
    assert set(found) == set(made[-3:])  # the newest three


async def test_an_unchanged_feed_is_not_rebuilt_and_any_change_rebuilds_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.services.portability import feed

    built: list[str] = []
    original = feed.feed_event

    def counting(doc: dict[str, Any], *args: Any) -> Any:
        built.append(str(doc["_id"]))
        return original(doc, *args)

    monkeypatch.setattr(feed, "feed_event", counting)
    headers = await user_in(client, "cacher", "Europe/Berlin")
    own = await ok(await client.post("/api/lists", headers=headers, json={"name": "Home"}), 201)
    task = await ok(
        await client.post("/api/tasks", headers=headers,
                          json={"title": "Water plants", "list": own["id"],
                                "due": "2031-02-03T10:00:00Z"}), 201,
    )  # fmt: skip
    path = await feed_path(client, headers)
    etag = (await client.get(path)).headers["ETag"]
    assert built == [task["id"]]
    assert (await client.get(path, headers={"If-None-Match": etag})).status == 304
    assert (await client.get(path)).headers["ETag"] == etag
    assert built == [task["id"]]  # answered from the built feed

    changes = [
        ("PATCH", f"/api/lists/{own['id']}", {"name": "Garden"}),  # its CATEGORIES
        ("PATCH", "/api/auth/me", {"timezone": "America/New_York"}),  # its TZID
        ("PATCH", f"/api/tasks/{task['id']}", {"notes": "the big ones"}),
        ("POST", "/api/tasks", {"title": "Another", "due": "2031-02-04T10:00:00Z"}),
    ]
    for method, url, body in changes:
        await ok(
            await client.request(method, url, headers=headers, json=body),
            201 if method == "POST" else 200,
        )
        resp = await client.get(path, headers={"If-None-Match": etag})
        assert resp.status == 200, (method, url)
        etag = resp.headers["ETag"]
    await ok(await client.delete(f"/api/tasks/{task['id']}", headers=headers), 204)
    resp = await client.get(path, headers={"If-None-Match": etag})
    assert resp.status == 200
    assert task["id"] not in (await resp.text())
