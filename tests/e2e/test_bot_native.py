"""The bot as a new user meets it (issue 24), through the real app, webhook and the fake Bot
API, in Russian and English: it says what it does, answers anything, takes typed answers to
its own questions, speaks times as people do, and Today fills itself."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from server.keys import SERVICES
from server.services.tasks.service import TaskDraft
from tests.bot_helpers import bot_settings, post_update
from tests.conftest import AppFactory
from tests.e2e.test_bot_tasks import buttons, press
from tests.fake_bot_api import FakeBotAPI, text_message_update

USER = 5151


@pytest.fixture
async def app(make_client: AppFactory, fake_api: FakeBotAPI) -> TestClient:
    return await make_client(**bot_settings(fake_api))


async def send(app: TestClient, fake: FakeBotAPI, update: dict[str, Any]) -> dict[str, Any]:
    """Send an update as the user; the bot's one reply, as the chat shows it."""
    before = len(fake.calls_to("sendMessage"))
    assert (await post_update(app, update)).status == 200
    await fake.wait_for("sendMessage", count=before + 1)
    return fake.last_message(USER)


def said(text: str, lang: str = "ru") -> dict[str, Any]:
    return text_message_update(text, chat_id=USER, user_id=USER, language_code=lang)


def media(kind: str, lang: str) -> dict[str, Any]:
    update = said("", lang)
    message = update["message"]
    del message["text"]
    message[kind] = {
        "sticker": {"file_id": "s", "file_unique_id": "s", "width": 512, "height": 512,
                    "is_animated": False, "is_video": False, "type": "regular"},
        "photo": [{"file_id": "p", "file_unique_id": "p", "width": 90, "height": 90}],
        "voice": {"file_id": "v", "file_unique_id": "v", "duration": 3},
    }[kind]  # fmt: skip
    return update


async def user_doc(db: Any) -> dict[str, Any]:
    found: dict[str, Any] = await db.users.find_one({"telegram_id": USER})
    return found


def daytime_zone() -> str:
    """One of three zones 6 to 14 hours apart where it is now between 06:00 and 20:59."""
    now = datetime.now(UTC)
    return next(
        zone
        for zone in ("America/New_York", "Europe/Berlin", "Asia/Tokyo")
        if 6 <= now.astimezone(ZoneInfo(zone)).hour <= 20
    )


# Cities to type, with the zone and its label; neither zone has summer time.
TYPED_CITIES = {
    "ru": (
        ("Новосибирск", "Asia/Novosibirsk", "UTC+7"),
        ("Москва", "Europe/Moscow", "UTC+3"),
        ("Владивосток", "Asia/Vladivostok", "UTC+10"),
    ),
    "en": (("Tokyo", "Asia/Tokyo", "UTC+9"), ("Moscow", "Europe/Moscow", "UTC+3")),
}


def awake_city(lang: str) -> tuple[str, str]:
    """A city (name, "UTC+n") whose clock is between 04:00 and 23:54 now: before 04:00
    "tomorrow" is asked about (parse.SMALL_HOURS_END), and near midnight it would change
    during the test. The zones' night windows never all overlap, so one always is."""
    for name, zone, offset in TYPED_CITIES[lang]:
        local = datetime.now(ZoneInfo(zone))
        if local.hour >= 4 and (local.hour, local.minute) < (23, 55):
            return name, offset
    raise AssertionError("no typed city is awake")


async def set_zone(db: Any, zone: str) -> None:
    await db.users.update_one({"telegram_id": USER}, {"$set": {"timezone": zone}})


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_start_says_what_it_does_and_the_example_button_walks_through_a_reminder(
    app, fake_api, db, lang
):
    hello = await send(app, fake_api, said("/start", lang))
    examples = {
        "ru": ("«купить молоко завтра в 9»", "/timezone", "/quiet", "/digest", "/find молоко"),
        "en": ("“buy milk tomorrow at 9”", "/timezone", "/quiet", "/digest", "/find milk"),
    }[lang]
    for example in examples:
        assert example in hello["text"]
    [(label, data)] = buttons(hello)
    assert (label, data) == (
        {"ru": "Попробовать: «купить молоко завтра в 9»",
         "en": "Try it: “buy milk tomorrow at 9”"}[lang], "ex")  # fmt: skip

    # No time zone yet: the example asks for it first; a typed city answers the question.
    await press(app, fake_api, hello, label[:5], language_code=lang, user_id=USER)
    asked = fake_api.last_message(USER)
    assert asked["text"].startswith(
        {
            "ru": "Чтобы напоминать вовремя, мне нужен ваш часовой пояс.",
            "en": "To remind you on time I need your time zone.",
        }[lang]
    )
    picker = [label for label, _ in buttons(asked)]
    assert {"ru": "Москва (UTC+3)", "en": "New York (UTC-5)"}[lang] in picker
    assert "UTC (UTC)" not in picker
    assert not any("GMT" in label for label in picker)
    before = len(fake_api.calls_to("sendMessage"))
    city, offset = awake_city(lang)
    await post_update(app, said(city, lang))
    calls = await fake_api.wait_for("sendMessage", count=before + 2)
    done, card = calls[-2].params["text"], calls[-1].params["text"]
    assert done == {"ru": f"Часовой пояс установлен: {city} ({offset}).",
                    "en": f"Time zone set: {city} ({offset})."}[lang]  # fmt: skip
    assert card.startswith(
        {
            "ru": f"⏰ купить молоко\n🕒 Завтра 09:00 · {city} ({offset})",
            "en": f"⏰ buy milk\n🕒 Tomorrow 9 AM · {city} ({offset})",
        }[lang]
    )
    # the typed city made no task
    assert await db.tasks.count_documents({}) == 0


async def test_which_time_takes_a_typed_answer_instead_of_a_new_task(app, fake_api, db):
    await send(app, fake_api, said("/start"))
    await set_zone(db, "Europe/Moscow")
    ask = await send(app, fake_api, said("напомни в 7 позвонить маме"))
    assert ask["text"] == "⏰ позвонить маме\nКакое время вы имеете в виду?"
    assert sorted(label[-5:] for label, data in buttons(ask) if ":o" in data) == ["07:00", "19:00"]
    card = await send(app, fake_api, said("19:00"))
    assert card["text"].startswith("⏰ позвонить маме\n🕒 ")
    assert "19:00 · Москва (UTC+3)" in card["text"].split("\n")[1]
    drafts = await db.reminder_drafts.find({}).to_list()
    assert [d["title"] for d in drafts] == ["позвонить маме"]  # no draft "19:00"
    await press(app, fake_api, card, "Сохранить", user_id=USER)
    [task] = await db.tasks.find({}).to_list()
    assert task["title"] == "позвонить маме"
    assert task["remind_at"].astimezone(ZoneInfo("Europe/Moscow")).hour == 19
    # answered: the next text is a task again
    assert await db.bot_questions.count_documents({}) == 0
    again = await send(app, fake_api, said("19:00"))
    assert again["text"].startswith("⏰ 19:00\n🕒 ")  # a reminder of its own, as before


async def test_change_time_takes_tomorrow_and_a_word_is_not_an_answer(app, fake_api, db):
    await send(app, fake_api, said("/start", "en"))
    await set_zone(db, "Europe/Berlin")
    card = await send(app, fake_api, said("remind me in 2 hours to call mom", "en"))
    await press(app, fake_api, card, "Change time", language_code="en", user_id=USER)
    [*_, asked] = await fake_api.wait_for("sendMessage", count=3)
    assert asked.params["text"] == (
        "When should I remind you about «call mom»? (e.g. tomorrow at 10)"
    )
    hint = await send(app, fake_api, said("hmm", "en"))
    assert hint["text"] == "Type a time, like “tomorrow at 10” or “in 2 hours”."
    card = await send(app, fake_api, said("tomorrow", "en"))
    assert card["text"].startswith("⏰ call mom\n🕒 Tomorrow 9 AM · Berlin (UTC+1)")
    assert await db.tasks.count_documents({}) == 0
    assert await db.reminder_drafts.count_documents({}) == 1


async def test_a_long_text_after_the_zone_question_is_a_task_not_a_place(app, fake_api, db):
    picker = await send(app, fake_api, said("/timezone"))
    assert picker["text"].startswith("Часовой пояс ещё не задан.")
    unknown = await send(app, fake_api, said("Атлантида"))
    assert unknown["text"].startswith("Не знаю такого места.")
    card = await send(app, fake_api, said("купить хлеб и молоко по дороге домой"))
    assert card["text"] == "Добавлено в список «Входящие».\n\nкупить хлеб и молоко по дороге домой"
    assert await db.bot_questions.count_documents({}) == 0


@pytest.mark.parametrize(
    ("lang", "typed", "expected"),
    [
        ("en", "/timezone Tokyo", "Time zone set: Tokyo (UTC+9)."),
        ("ru", "/timezone Токио", "Часовой пояс установлен: Токио (UTC+9)."),
        ("ru", "/timezone utc", "Часовой пояс установлен: UTC."),
    ],
)
async def test_timezone_takes_its_argument_in_the_users_language(
    app, fake_api, db, lang, typed, expected
):
    reply = await send(app, fake_api, said(typed, lang))
    assert reply["text"] == expected
    assert (await user_doc(db))["timezone"] in ("Asia/Tokyo", "UTC")


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_unknown_commands_stickers_photos_and_voice_get_an_answer(app, fake_api, lang):
    unknown = await send(app, fake_api, said("/foo", lang))
    assert unknown["text"].startswith(
        {"ru": "Я не знаю команды /foo. Вот что я умею:",
         "en": "I don't know the command /foo. Here is what I can do:"}[lang])  # fmt: skip
    assert [data for _, data in buttons(unknown)] == ["ex"]
    sticker = await send(app, fake_api, media("sticker", lang))
    assert sticker["text"].startswith({"ru": "Отличный стикер!", "en": "Nice sticker!"}[lang])
    photo = await send(app, fake_api, media("photo", lang))
    assert photo["text"].startswith(
        {"ru": "Я храню только текст.", "en": "I keep only text."}[lang]
    )
    voice = await send(app, fake_api, media("voice", lang))
    assert voice["text"].startswith(
        {"ru": "Голосовые я пока не слушаю.", "en": "I can't listen to voice messages yet."}[lang]
    )


async def test_new_with_a_time_saves_a_reminder_and_lists_show_times_and_repeats(app, fake_api, db):
    await send(app, fake_api, said("/start", "en"))
    # The bot reads "tomorrow" on the wall clock, and between midnight and 04:00 the parser
    # asks which day is meant: the user lives where it is daytime now.
    zone = daytime_zone()
    await set_zone(db, zone)
    card = await send(app, fake_api, said("/new buy milk tomorrow 9", "en"))
    assert card["text"] == (
        "Added to Inbox. I will remind you tomorrow 9 AM.\n\nbuy milk\n🕒 Tomorrow 9 AM"
    )
    [task] = await db.tasks.find({}).to_list()
    local = task["remind_at"].astimezone(ZoneInfo(zone))
    assert (task["title"], local.hour, local.minute) == ("buy milk", 9, 0)
    user = await user_doc(db)
    services = app.server.app[SERVICES]
    await services.tasks.create(user["_id"], TaskDraft(
        "standup", remind_at=datetime.now(UTC) + timedelta(days=3),
        repeat="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=0"))  # fmt: skip
    inbox = await send(app, fake_api, said("/inbox", "en"))
    lines = inbox["text"].split("\n")
    assert lines[:3] == ["Inbox: 2 open tasks", "", "1. standup"]
    assert re.fullmatch(r"    🕒 \w{3}, \w{3} \d{1,2}, \d{1,2}(:\d\d)? [AP]M  🔁 every weekday "
                        r"at 8 AM", lines[3])  # fmt: skip
    assert lines[4:] == ["2. buy milk", "    🕒 tomorrow 9 AM"]


async def test_today_fills_itself_in_russian(app, fake_api, db):
    await send(app, fake_api, said("/start"))
    await set_zone(db, "Europe/Moscow")
    empty = await send(app, fake_api, said("/today"))
    assert empty["text"].startswith("На сегодня ничего нет.")
    user = await user_doc(db)
    tasks = app.server.app[SERVICES].tasks
    moscow = ZoneInfo("Europe/Moscow")
    yesterday = (datetime.now(moscow) - timedelta(days=1)).replace(hour=18, minute=30)
    await tasks.create(user["_id"], TaskDraft("сдать отчёт", list_ref="later", due=yesterday))
    await tasks.create(user["_id"], TaskDraft("полить цветы", list_ref="today"))
    await tasks.create(
        user["_id"],
        TaskDraft("купить молоко", due=datetime.now(moscow) + timedelta(days=1, hours=1)),
    )
    today = await send(app, fake_api, said("/today"))
    assert today["text"] == (
        "Сегодня: 2 открытые задачи\n\n1. сдать отчёт\n    🕒 вчера 18:30\n2. полить цветы"
    )
    lists = await send(app, fake_api, said("/lists"))
    assert "Сегодня: 2" in lists["text"]


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_password_and_me_speak_to_people_and_open_the_account_screen(app, fake_api, lang):
    await send(app, fake_api, said("/start", lang))
    for command in ("/password", "/me"):
        reply = await send(app, fake_api, said(command, lang))
        text = reply["text"]
        assert "/api" not in text
        assert "POST" not in text
        assert "new_password" not in text
        assert not re.search(r"[0-9a-f]{24}|\d{4}-\d{2}-\d{2}|\b5151\b", text)
        [[account]] = reply["reply_markup"]["inline_keyboard"]
        assert account["text"] == {"ru": "Открыть мой аккаунт", "en": "Open my account"}[lang]
        assert account["web_app"]["url"].endswith("/app/#account")


async def test_a_question_is_answered_only_by_the_account_it_was_asked(app, fake_api, db):
    await send(app, fake_api, said("/timezone"))  # USER is asked for a zone
    other = text_message_update("Москва", chat_id=USER + 1, user_id=USER + 1, language_code="ru")
    before = len(fake_api.calls_to("sendMessage"))
    assert (await post_update(app, other)).status == 200
    [*_, reply] = await fake_api.wait_for("sendMessage", count=before + 1)
    assert reply.params["text"] == "Добавлено в список «Входящие».\n\nМосква"  # a task for them
    assert (await user_doc(db)).get("timezone") is None
    forwarded = said("Лондон")
    forwarded["message"]["forward_origin"] = {"type": "hidden_user", "date": 1,
                                              "sender_user_name": "Ann"}  # fmt: skip
    captured = await send(app, fake_api, forwarded)
    assert captured["text"].startswith("Добавлено в список «Входящие».\n\nЛондон")
    done = await send(app, fake_api, said("Москва"))
    assert done["text"] == "Часовой пояс установлен: Москва (UTC+3)."
