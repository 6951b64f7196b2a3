"""PATCH /api/auth/me and POST /api/tasks/parse through the real app."""

from __future__ import annotations

from datetime import datetime

from tests.helpers import ME, assert_problem, bearer, register

PARSE = "/api/tasks/parse"


async def test_patch_me_changes_timezone_language_and_username(client):
    alice = await register(client, "alice")
    auth = bearer(alice["access_token"])
    resp = await client.patch(
        ME, json={"timezone": "Europe/Berlin", "language": "ru"}, headers=auth
    )
    assert resp.status == 200, await resp.text()
    user = await resp.json()
    assert (user["timezone"], user["language"], user["username"]) == (
        "Europe/Berlin",
        "ru",
        "alice",
    )
    resp = await client.patch(ME, json={"username": "Alice2"}, headers=auth)
    assert (await resp.json())["username"] == "Alice2"
    assert (await (await client.get(ME, headers=auth)).json())["timezone"] == "Europe/Berlin"
    # null clears; {} changes nothing
    resp = await client.patch(ME, json={"language": None}, headers=auth)
    assert (await resp.json())["language"] is None
    resp = await client.patch(ME, json={}, headers=auth)
    assert (await resp.json())["timezone"] == "Europe/Berlin"


async def test_patch_me_refuses_bad_values_and_taken_names(client):
    await register(client, "bob")
    carol = await register(client, "carol")
    auth = bearer(carol["access_token"])
    for body, field in (
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"language": "de"}, "language"),
        ({"username": "no spaces"}, "username"),
        ({"username": None}, "username"),
        ({"nickname": "x"}, "nickname"),
    ):
        problem = await assert_problem(await client.patch(ME, json=body, headers=auth), 422)
        assert problem["errors"][0]["field"] == field, problem
    problem = await assert_problem(
        await client.patch(ME, json={"username": "BOB"}, headers=auth), 409
    )
    assert problem["type"] == "urn:problem:username-taken"
    await assert_problem(await client.patch(ME, json={"timezone": "UTC"}), 401)
    me = await (await client.get(ME, headers=auth)).json()
    assert (me["username"], me["timezone"]) == ("carol", None)  # nothing half-written


async def test_asking_for_usernames_is_throttled_per_user_and_per_address(make_client):
    """Issue 22, item 9: the 409 for a taken name must not be a free oracle."""
    client = await make_client(username_change_max_per_user=3, username_change_max_per_address=6)
    await register(client, "taken")
    erin = bearer((await register(client, "erin"))["access_token"])
    for name, status in (("taken", 409), ("free-one", 200), ("Taken", 409)):  # taken or not
        assert (await client.patch(ME, json={"username": name}, headers=erin)).status == status
    blocked = await assert_problem(
        await client.patch(ME, json={"username": "taken"}, headers=erin), 429
    )
    assert blocked["type"] == "urn:problem:too-many-attempts"
    assert (await client.patch(ME, json={"timezone": "UTC"}, headers=erin)).status == 200
    assert (await (await client.get(ME, headers=erin)).json())["username"] == "free-one"
    # Another user from the same address: two tries left of the address's six (erin's four
    # count, the refused one too).
    fred = bearer((await register(client, "fred"))["access_token"])
    for _ in range(2):
        await assert_problem(await client.patch(ME, json={"username": "taken"}, headers=fred), 409)
    await assert_problem(await client.patch(ME, json={"username": "taken"}, headers=fred), 429)


async def test_parse_reads_the_text_in_the_users_zone_and_saves_nothing(client, db):
    dave = await register(client, "dave")
    auth = bearer(dave["access_token"])
    await client.patch(ME, json={"timezone": "Europe/Moscow"}, headers=auth)
    resp = await client.post(PARSE, json={"text": "напомни завтра в 9 купить молоко"}, headers=auth)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["title"] == "купить молоко"
    assert body["timezone"] == "Europe/Moscow"
    when = datetime.fromisoformat(body["remind_at"])
    assert (when.hour, when.minute, when.utcoffset().total_seconds()) == (9, 0, 3 * 3600)
    assert body["due"] == body["remind_at"]
    assert body["repeat"] is None
    assert body["clarify"] is None
    assert body["phrase"] == "завтра в 9"
    assert body["when_text"] == "tomorrow 9 AM"  # the user chose no language: English
    await client.patch(ME, json={"language": "ru"}, headers=auth)
    resp = await client.post(PARSE, json={"text": "каждые 2 часа пить воду"}, headers=auth)
    body = await resp.json()
    assert body["repeat_text"] == "каждые 2 часа"
    assert body["when_text"].startswith(("сегодня ", "завтра "))
    # What saving stores, as the bot saves it: a repeat has a reminder and no due time.
    assert (body["due"], body["remind_at"] is not None) == (None, True)

    resp = await client.post(
        PARSE, json={"text": "every weekday at 8:30 standup", "timezone": "America/New_York"},
        headers=auth,
    )  # fmt: skip
    body = await resp.json()
    assert body["title"] == "standup"
    assert body["repeat"] == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=30"
    assert body["repeat_text"] == "по будням в 08:30"
    assert datetime.fromisoformat(body["remind_at"]).hour == 8

    body = await (await client.post(PARSE, json={"text": "в 7 зарядка"}, headers=auth)).json()
    assert body["remind_at"] is None
    assert body["clarify"]["reason"] == "ambiguous-time"
    assert len(body["clarify"]["options"]) == 2
    assert body["clarify"]["repeats"] == []  # a one-off
    # each reading in the user's words (Russian now), in the same order
    hours = [datetime.fromisoformat(at).hour for at in body["clarify"]["options"]]
    assert sorted(hours) == [7, 19]
    assert [t.split()[-1] for t in body["clarify"]["options_text"]] == [
        f"{h:02d}:00" for h in hours
    ]
    assert body["clarify"]["repeats_text"] == []
    # a one-off reading is due when it reminds
    assert [(r["remind_at"], r["due"], r["repeat"]) for r in body["clarify"]["readings"]] == [
        (at, at, None) for at in body["clarify"]["options"]]  # fmt: skip

    body = await (await client.post(PARSE, json={"text": "every day at 7"}, headers=auth)).json()
    assert (body["repeat"], body["remind_at"]) == (None, None)
    readings = [datetime.fromisoformat(at).hour for at in body["clarify"]["options"]]
    assert body["clarify"]["repeats"] == [f"FREQ=DAILY;BYHOUR={h};BYMINUTE=0" for h in readings]
    assert body["clarify"]["repeats_text"] == [f"каждый день в {h:02d}:00" for h in readings]
    # Each reading with the fields to save and its words, in the user's language.
    assert [(r["remind_at"], r["due"], r["repeat"]) for r in body["clarify"]["readings"]] == [
        (at, None, rule) for at, rule in zip(body["clarify"]["options"],
                                             body["clarify"]["repeats"], strict=True)
    ]  # fmt: skip
    assert [r["repeat_text"] for r in body["clarify"]["readings"]] == [
        f"каждый день в {h:02d}:00" for h in readings]  # fmt: skip

    body = await (await client.post(PARSE, json={"text": "just a title"}, headers=auth)).json()
    assert body == {"title": "just a title", "remind_at": None, "repeat": None, "due": None,
                    "timezone": "Europe/Moscow", "phrase": None, "clarify": None,
                    "when_text": None, "repeat_text": None}  # fmt: skip
    assert await db.list_collection_names() == [] or await db.reminders.count_documents({}) == 0


async def test_parse_refuses_bad_input(client):
    erin = await register(client, "erin")
    auth = bearer(erin["access_token"])
    for body in ({"text": ""}, {"text": "x" * 1001}, {"text": "ok", "timezone": "Nowhere"}, {}):
        await assert_problem(await client.post(PARSE, json=body, headers=auth), 422)
    await assert_problem(await client.post(PARSE, json={"text": "tomorrow"}), 401)
