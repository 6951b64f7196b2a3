"""/timezone and "remind me …" confirmation cards through the real app and the fake Bot API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.keys import SERVICES
from tests.bot_helpers import post_update
from tests.fake_bot_api import FakeBotAPI, text_message_update
from tests.kit.telegram import bot_message, buttons, callback_query_update

USER = 4711


def message(text: str, lang: str = "en", **extra: Any) -> dict[str, Any]:
    update = text_message_update(text, chat_id=USER, user_id=USER, language_code=lang)
    update["message"].update(extra)
    return update


def press(data: str, text: str = "", lang: str = "en") -> dict[str, Any]:
    """A press of `data` under a bot message showing `text`."""
    return callback_query_update(
        data, bot_message(USER, text), user_id=USER, first_name="T", language_code=lang
    )


async def replies(fake: FakeBotAPI, count: int) -> list[Any]:
    return await fake.wait_for("sendMessage", count)


async def test_timezone_picker_by_button_typed_name_offset_and_location(bot_client, fake_api, db):
    await post_update(bot_client, message("/timezone", entities=[
        {"type": "bot_command", "offset": 0, "length": 9}]))  # fmt: skip
    [picker] = await replies(fake_api, 1)
    assert "You have not set a time zone yet." in picker.params["text"]
    choices = buttons(picker)
    assert ("New York (UTC-5)", "tz:America/New_York") in choices or any(
        data == "tz:America/New_York" for _, data in choices
    )
    await post_update(bot_client, press("tz:Europe/Berlin", picker.params["text"]))
    [answer] = await fake_api.wait_for("answerCallbackQuery")
    assert answer.params["text"].startswith("Time zone set: Berlin (UTC+")
    user = await db.users.find_one({"telegram_id": USER})
    assert user["timezone"] == "Europe/Berlin"

    # "type a city": a ForceReply prompt, then the reply to it
    await post_update(bot_client, press("tz?", picker.params["text"]))
    prompt = (await replies(fake_api, 2))[-1]
    assert prompt.params["reply_markup"]["force_reply"] is True
    bot = {"id": 123456, "is_bot": True, "first_name": "bot"}
    reply_to = {"message_id": 5, "date": 0, "chat": {"id": USER, "type": "private"},
                "from": bot, "text": prompt.params["text"]}  # fmt: skip
    await post_update(bot_client, message("Новосибирск", reply_to_message=reply_to))
    done = (await replies(fake_api, 3))[-1]
    assert done.params["text"] == "Time zone set: Novosibirsk (UTC+7)."
    assert (await db.users.find_one({"telegram_id": USER}))["timezone"] == "Asia/Novosibirsk"

    # an offset has several zones: the user picks (the command takes it as an argument)
    await post_update(bot_client, message("/timezone UTC+3", entities=[
        {"type": "bot_command", "offset": 0, "length": 9}]))  # fmt: skip
    which = (await replies(fake_api, 4))[-1]
    assert which.params["text"] == "Which one?"
    choices = buttons(which)
    assert ("Moscow (UTC+3)", "tz:Europe/Moscow") in choices
    assert ("UTC+3", "tz:Etc/GMT-3") in choices  # not "GMT-3 (UTC+3)"

    # a shared location
    await post_update(bot_client, message("", location={"latitude": 40.71, "longitude": -74.0}))
    located = (await replies(fake_api, 5))[-1]
    assert located.params["text"].startswith("Time zone set: New York")
    assert (await db.users.find_one({"telegram_id": USER}))["timezone"] == "America/New_York"


async def test_first_time_asks_the_zone_then_shows_the_card_and_saves(bot_client, fake_api, db):
    await post_update(bot_client, message("напомни завтра в 9 купить молоко", lang="ru"))
    [ask] = await replies(fake_api, 1)
    assert ask.params["text"].startswith("Чтобы напоминать вовремя, мне нужен ваш часовой пояс.")
    assert ask.params["text"].endswith("«напомни завтра в 9 купить молоко»")

    await post_update(bot_client, press("tz:Europe/Moscow", ask.params["text"], lang="ru"))
    [card] = (await replies(fake_api, 2))[-1:]
    assert card.params["text"].startswith("⏰ купить молоко\n🕒 Завтра 09:00 · Москва (UTC+3)")
    labels = [label for label, _ in buttons(card)]
    assert labels == ["Сохранить", "Изменить время", "Отмена"]
    save_data = buttons(card)[0][1]

    await post_update(bot_client, press(save_data, card.params["text"], lang="ru"))
    answers = await fake_api.wait_for("answerCallbackQuery", 2)
    assert answers[-1].params["text"] == "Сохранено: купить молоко, напоминание завтра 09:00."
    [task] = await db.tasks.find({}).to_list()  # made by the tasks service
    moscow = task["remind_at"].astimezone(ZoneInfo("Europe/Moscow"))
    assert (task["title"], task["repeat"], moscow.hour, moscow.minute) == (
        "купить молоко", None, 9, 0)  # fmt: skip
    assert moscow.date() == (datetime.now(ZoneInfo("Europe/Moscow")) + timedelta(days=1)).date()
    assert await db.reminder_drafts.count_documents({}) == 0
    assert await db.reminders.count_documents({"state": 0}) == 1

    # the card's buttons do nothing once it is used
    await post_update(bot_client, press(save_data, card.params["text"], lang="ru"))
    answers = await fake_api.wait_for("answerCallbackQuery", 3)
    assert answers[-1].params["text"].startswith("Эта карточка устарела")
    assert await db.tasks.count_documents({}) == 1


async def test_change_time_ambiguous_time_and_cancel(bot_client, fake_api, db):
    await db.users.insert_one({"telegram_id": USER, "timezone": "Europe/Berlin", "role": "user",
                               "active": True, "language": "en"})  # fmt: skip
    await post_update(bot_client, message("remind me in 2 hours to call mom"))
    [card] = await replies(fake_api, 1)
    assert card.params["text"].startswith("⏰ call mom\n🕒 ")
    change = dict((label, data) for label, data in buttons(card))["Change time"]
    await post_update(bot_client, press(change, card.params["text"]))
    asked = (await replies(fake_api, 2))[-1]
    assert (
        asked.params["text"] == "When should I remind you about «call mom»? (e.g. tomorrow at 10)"
    )

    await post_update(bot_client, message("at 5"))  # 05:00 or 17:00?
    ambiguous = (await replies(fake_api, 3))[-1]
    assert ambiguous.params["text"].startswith("⏰ call mom\nWhich time do you mean?")
    options = [(label, data) for label, data in buttons(ambiguous) if ":o" in data]
    assert len(options) == 2
    await post_update(bot_client, press(options[1][1], ambiguous.params["text"]))
    edit = await fake_api.wait_for("editMessageText")
    assert "🕒 " in edit[-1].params["text"]
    draft = await db.reminder_drafts.find_one({})
    chosen = datetime.fromtimestamp(draft["remind_at_ms"] / 1000, ZoneInfo("Europe/Berlin"))
    assert chosen.minute == 0
    assert chosen.hour in (5, 17)

    cancel = next(data for label, data in buttons(edit[-1]) if label == "Cancel")
    await post_update(bot_client, press(cancel, edit[-1].params["text"]))
    edits = await fake_api.wait_for("editMessageText", 2)
    assert edits[-1].params["text"] == "Cancelled."
    assert await db.reminder_drafts.count_documents({}) == 0


async def test_answers_are_known_by_the_stored_question_not_by_the_prompts_wording(
    bot_client, fake_api, db
):
    """The picker's and the prompt's texts are translations that change between versions:
    what the answer is for (the zone, and the text waiting for it) comes from the stored
    question. Here every message the user answers shows some other wording entirely."""
    await post_update(bot_client, message("напомни завтра в 9 купить молоко", lang="ru"))
    await replies(fake_api, 1)  # the picker
    reworded = "An earlier wording of the picker, without the text it was asked for"
    await post_update(bot_client, press("tz?", reworded, lang="ru"))
    prompt = (await replies(fake_api, 2))[-1]
    assert prompt.params["reply_markup"]["force_reply"] is True
    bot = {"id": 123456, "is_bot": True, "first_name": "bot"}
    reply_to = {"message_id": 5, "date": 0, "chat": {"id": USER, "type": "private"},
                "from": bot, "text": "Another wording of the prompt"}  # fmt: skip
    await post_update(bot_client, message("Москва", lang="ru", reply_to_message=reply_to))
    done, card = (await replies(fake_api, 4))[-2:]
    assert done.params["text"] == "Часовой пояс установлен: Москва (UTC+3)."
    assert card.params["text"].startswith("⏰ купить молоко\n🕒 Завтра 09:00 · Москва (UTC+3)")
    assert await db.tasks.count_documents({}) == 0  # the answer was not taken for a task


async def test_a_zone_button_carries_on_with_the_text_its_question_kept(bot_client, fake_api, db):
    await post_update(bot_client, message("remind me tomorrow at 9 to call mom"))
    [picker] = await replies(fake_api, 1)
    assert picker.params["text"].endswith("«remind me tomorrow at 9 to call mom»")
    # the same button under a message whose text (a translation) no longer quotes it
    await post_update(bot_client, press("tz:Europe/Berlin", "Choose your time zone"))
    card = (await replies(fake_api, 2))[-1]
    assert card.params["text"].startswith("⏰ call mom\n🕒 Tomorrow")


async def test_a_repeat_card_describes_the_rule(bot_client, fake_api, db):
    await db.users.insert_one({"telegram_id": USER, "timezone": "Europe/Moscow", "role": "user",
                               "active": True})  # fmt: skip
    await post_update(bot_client, message("каждый понедельник в 10 планёрка", lang="ru"))
    [card] = await replies(fake_api, 1)
    lines = card.params["text"].split("\n")
    assert lines[0] == "⏰ планёрка"
    assert lines[2] == "🔁 По пн в 10:00"
    draft = await db.reminder_drafts.find_one({})
    assert draft["repeat"] == "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0"


async def test_an_ambiguous_repeat_keeps_its_rule_through_the_choice(bot_client, fake_api, db):
    await db.users.insert_one({"telegram_id": USER, "timezone": "Europe/Moscow", "role": "user",
                               "active": True})  # fmt: skip
    await post_update(bot_client, message("каждый день в 7 пить таблетки", lang="ru"))
    [ambiguous] = await replies(fake_api, 1)
    options = [(label, data) for label, data in buttons(ambiguous) if ":o" in data]
    assert len(options) == 2
    draft = await db.reminder_drafts.find_one({})
    readings = [datetime.fromtimestamp(ms / 1000, ZoneInfo("Europe/Moscow")).hour
                for ms in draft["options_ms"]]  # fmt: skip
    morning = readings.index(7)
    await post_update(bot_client, press(options[morning][1], ambiguous.params["text"], lang="ru"))
    edit = await fake_api.wait_for("editMessageText")
    assert "🔁 Каждый день в 07:00" in edit[-1].params["text"]
    save = next(data for label, data in buttons(edit[-1]) if label == "Сохранить")
    await post_update(bot_client, press(save, edit[-1].params["text"], lang="ru"))
    await fake_api.wait_for("answerCallbackQuery", 2)
    [task] = await db.tasks.find({}).to_list()
    assert (task["title"], task["repeat"]) == ("пить таблетки", "FREQ=DAILY;BYHOUR=7;BYMINUTE=0")
    assert task["remind_at"].astimezone(ZoneInfo("Europe/Moscow")).hour == 7


async def test_text_without_a_time_is_left_to_other_handlers(bot_client, fake_api, db):
    await post_update(bot_client, message("buy milk"))
    await post_update(bot_client, message("/help", entities=[
        {"type": "bot_command", "offset": 0, "length": 5}]))  # fmt: skip
    sent = await replies(fake_api, 2)  # the task capture's answer, and /help
    assert any(c.params["text"].startswith("I am your assistant.\n") for c in sent)
    assert not any(c.params["text"].startswith("⏰") for c in sent)  # no card
    assert await db.reminder_drafts.count_documents({}) == 0
    assert await db.tasks.count_documents({"title": "buy milk"}) == 1


def command(text: str, lang: str = "en") -> dict[str, Any]:
    name = text.split()[0]
    return message(text, lang=lang, entities=[{"type": "bot_command", "offset": 0,
                                                "length": len(name)}])  # fmt: skip


async def test_quiet_hours_and_the_morning_digest_commands(make_client, fake_api, db):
    from server.services.tasks.service import TaskDraft
    from tests.bot_helpers import bot_settings

    client = await make_client(**bot_settings(fake_api), reminder_poll=0.1)
    await post_update(client, command("/quiet 22:00-08:00"))
    [asked] = await replies(fake_api, 1)
    assert asked.params["text"] == "Set your time zone first: /timezone"
    await db.users.update_one({"telegram_id": USER}, {"$set": {"timezone": "Europe/Moscow"}})

    await post_update(client, command("/quiet 22:00-08:00", lang="ru"))
    quiet = (await replies(fake_api, 2))[-1]
    assert quiet.params["text"].startswith("Тихие часы: с 22:00 до 08:00.")
    await post_update(client, command("/quiet soon"))
    assert (await replies(fake_api, 3))[-1].params["text"].startswith("Like this: /quiet")
    await post_update(client, command("/quiet off"))
    assert (await replies(fake_api, 4))[-1].params["text"].startswith("Quiet hours are off.")

    await post_update(client, command("/digest 08:30"))
    on = (await replies(fake_api, 5))[-1]
    assert on.params["text"] == "Every day at 8:30 AM I will send what is in Today."
    user = await db.users.find_one({"telegram_id": USER})
    digest = await db.reminders.find_one({"_id": user["_id"]})
    assert digest["kind"] == "digest"
    assert digest["repeat"] == "FREQ=DAILY;BYHOUR=8;BYMINUTE=30"

    services = client.server.app[SERVICES]
    for title in ("water plants", "call the bank"):
        await services.tasks.create(user["_id"], TaskDraft(title, list_ref="today"))
    # Today fills itself: an overdue task in Inbox is in the digest, next week's is not
    moscow = ZoneInfo("Europe/Moscow")
    overdue = (datetime.now(moscow) - timedelta(days=1)).replace(hour=18, minute=0)
    await services.tasks.create(user["_id"], TaskDraft("pay rent", due=overdue))
    await services.tasks.create(user["_id"], TaskDraft(
        "dentist", due=datetime.now(moscow) + timedelta(days=7)))  # fmt: skip
    # make it due now instead of tomorrow morning
    await db.reminders.update_one({"_id": user["_id"]}, {"$set": {"due_ms": 0}})
    sent = (await replies(fake_api, 6))[-1]
    lines = sent.params["text"].split("\n")
    assert lines[0] == "☀️ Today, 3 tasks:"
    assert lines[1] == "• pay rent — yesterday 6 PM"  # timed first, then by hand, newest first
    assert lines[2:] == ["• call the bank", "• water plants"]
    await post_update(client, command("/digest off"))
    off = (await replies(fake_api, 7))[-1]
    assert off.params["text"].startswith("The morning digest is off.")
    assert await db.reminders.count_documents({"_id": user["_id"]}) == 0
