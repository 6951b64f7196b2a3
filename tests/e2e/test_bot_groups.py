"""A group chat's list through the real app and the fake Bot API, with what Telegram sends a
bot in privacy mode (commands, replies to the bot, button presses, service messages and
`my_chat_member`): a group of three, two of whom never talked to the bot; `/add` and a reply
add, `/list` shows the list with ✅, another member's ✅ completes; the reminder goes to the
group and its Done works for any member; the upgrade to a supergroup and the bot's removal
and return keep the list. Both languages: each reply in the language of whoever acted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from server.services.tasks.capture import capture
from tests.bot_helpers import bot_settings, post_update, wait_until
from tests.clock import MovableClock
from tests.conftest import AppFactory
from tests.e2e.test_api_tasks import ok
from tests.fake_bot_api import FakeBotAPI
from tests.kit.telegram import (
    GROUP_ID,
    SUPERGROUP_ID,
    buttons,
    group_member_update,
    group_message_update,
    migration_updates,
    press,
    text_message_update,
)

BOT_KEY = "bot-service-token-for-the-group-tests-0123456789abcd"
BOT_NAME = "test_assistant_bot"  # the fake's getMe
OLYA, PETYA, MARY = 801, 802, 803  # Оля adds the bot; Петя and Mary never talked to it
NAMES = {OLYA: "Оля", PETYA: "Петя", MARY: "Mary"}
LANGS = {OLYA: "ru", PETYA: "ru", MARY: "en"}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> MovableClock:
    """The reminders' clock, moved by hand: a reminder for tomorrow falls due at once."""
    return MovableClock.installed(monkeypatch)


@pytest.fixture
async def app(make_client: AppFactory, fake_api: FakeBotAPI, clock: MovableClock) -> TestClient:
    return await make_client(**bot_settings(fake_api, bot_api_tokens=BOT_KEY), reminder_poll=0.1)


def as_bot(user: int) -> dict[str, str]:
    """The REST API as this Telegram user (the Bot scheme)."""
    return {"Authorization": f"Bot {BOT_KEY}", "X-Telegram-User-Id": str(user)}


async def say(
    app: TestClient, fake: FakeBotAPI, user: int, text: str, *,
    chat_id: int = GROUP_ID, reply_to: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A member's command (or reply) in the group; the bot's answer there."""
    mark = fake.mark()
    update = group_message_update(
        text, chat_id=chat_id, user_id=user, first_name=NAMES[user],
        language_code=LANGS[user], reply_to=reply_to,
    )  # fmt: skip
    assert (await post_update(app, update)).status == 200
    [call] = await fake.wait_new("sendMessage", since=mark)
    assert call.params["chat_id"] == str(chat_id)
    return fake.last_message(chat_id)


async def add_bot(app: TestClient, fake: FakeBotAPI, chat_id: int = GROUP_ID) -> dict[str, Any]:
    mark = fake.mark()
    update = group_member_update("left", "member", chat_id=chat_id, by_user_id=OLYA,
                                 first_name=NAMES[OLYA])  # fmt: skip
    assert (await post_update(app, update)).status == 200
    await fake.wait_new("sendMessage", since=mark)
    return fake.last_message(chat_id)


async def group_list(db: Any, chat_id: int) -> dict[str, Any]:
    found = await db.task_lists.find({"group_chat_id": {"$eq": chat_id}}).to_list(None)
    assert len(found) == 1, found
    return found[0]


async def user_id(db: Any, telegram_id: int) -> str:
    user = await db.users.find_one({"telegram_id": {"$eq": telegram_id}})
    assert user is not None, f"no user for {telegram_id}"
    return str(user["_id"])


async def test_three_members_add_list_and_complete_each_as_themselves(app, fake_api, db):
    hello = await add_bot(app, fake_api)
    assert hello["text"].startswith("Привет! Я буду вести список этой группы — «Семья».")
    assert "Режим приватности: в группе я вижу только команды и ответы" in hello["text"]
    # Петя has never written to the bot: his first command in the group makes him a user.
    assert await db.users.find_one({"telegram_id": {"$eq": PETYA}}) is None
    added = await say(app, fake_api, PETYA, f"/add@{BOT_NAME} молоко")
    assert added["text"] == "Добавлено в «Семья»: молоко."
    shown, _ = await press(app, fake_api, added, "📋", user_id=PETYA)  # the list, in place
    assert shown["text"].startswith("Семья: 1 открытая задача\n\n1. молоко\n")
    # Mary replies to the bot's greeting (a reply to the bot reaches it in privacy mode).
    added = await say(app, fake_api, MARY, "хлеб", reply_to=hello)
    assert added["text"] == "Added to “Семья”: хлеб."
    shown = await say(app, fake_api, OLYA, "/list")
    assert shown["text"] == (
        "Семья: 2 открытые задачи\n\n1. хлеб\n2. молоко\n\n"
        "Добавить задачу: /add молоко завтра в 9 или ответом на это сообщение."
    )
    assert [label for label, _ in buttons(shown)] == ["✅ хлеб", "✅ молоко"]
    # Mary marks Петя's task done from Оля's /list.
    shown, notice = await press(app, fake_api, shown, "✅ молоко", user_id=MARY,
                                language_code="en")  # fmt: skip
    assert notice == "Done ✓"
    # The list is drawn again in the language of whoever pressed.
    assert shown["text"].startswith("Семья: 1 open task\n\n1. хлеб\n")
    _, notice = await press(app, fake_api, shown, "✅ хлеб", user_id=PETYA)
    assert notice == "Выполнено ✓"

    listed = await group_list(db, GROUP_ID)
    olya, petya, mary = [await user_id(db, who) for who in (OLYA, PETYA, MARY)]
    assert listed["user_id"] == olya  # whoever added the bot owns the group's list
    milk = await db.tasks.find_one({"title": {"$eq": "молоко"}})
    assert (milk["created_by"], milk["updated_by"], milk["done"]) == (petya, mary, True)
    # In the REST API (and so the Mini App) the list is Оля's, shared with the others.
    lists = (await ok(await app.get("/api/lists", headers=as_bot(OLYA))))["items"]
    [mine] = [item for item in lists if item["name"] == "Семья"]
    assert (mine["role"], mine["members_count"]) == ("owner", 3)
    lists = (await ok(await app.get("/api/lists", headers=as_bot(PETYA))))["items"]
    assert [(i["name"], i["role"]) for i in lists if i["name"] == "Семья"] == [("Семья", "editor")]


async def test_help_in_a_group_names_privacy_mode_and_personal_commands_stay_private(
    app, fake_api, db
):
    # The group's menu (setMyCommands for all group chats) names the group's commands.
    await fake_api.wait_for("setMyCommands", count=4)
    menu = fake_api.commands[('{"type": "all_group_chats"}', "ru")]
    assert [(c["command"], c["description"]) for c in menu] == [
        ("list", "Список группы"),
        ("add", "Добавить в список группы: /add молоко завтра в 9"),
        ("help", "Что я умею в группе"),
    ]
    await add_bot(app, fake_api)
    helped = await say(app, fake_api, MARY, f"/help@{BOT_NAME}")
    assert helped["text"].startswith("In this group I keep the group's list:\n/list")
    assert (
        "Privacy mode: in a group I see only commands and replies to my messages"
        in (helped["text"])
    )
    # Оля's own tasks are never shown to the group.
    private = text_message_update("/new купить подарок Пете", user_id=OLYA, chat_id=OLYA)
    mark = fake_api.mark()
    assert (await post_update(app, private)).status == 200
    await fake_api.wait_new("sendMessage", since=mark)
    refused = await say(app, fake_api, OLYA, "/inbox")
    assert refused["text"] == (
        "Эта команда — для личного чата со мной, а здесь я веду список группы (/list, /add)."
    )
    shown = await say(app, fake_api, OLYA, "/list")
    assert "подарок" not in shown["text"]
    assert shown["text"].startswith("Семья: открытых задач нет.")


async def test_chatter_that_is_not_for_the_bot_adds_nothing(app, fake_api, db):
    """Were privacy mode off, every message would arrive: only commands and replies to the
    bot act; a plain message, or a reply to someone else, is left alone."""
    await add_bot(app, fake_api)
    mark = fake_api.mark()
    plain = group_message_update("кто купит молоко?", user_id=PETYA)
    other = {"message_id": 5, "date": 0, "chat": {"id": GROUP_ID, "type": "group"},
             "from": {"id": MARY, "is_bot": False, "first_name": "Mary"}, "text": "я"}  # fmt: skip
    to_someone = group_message_update("и хлеб", user_id=PETYA, reply_to=other)
    for update in (plain, to_someone):
        assert (await post_update(app, update)).status == 200
    await say(app, fake_api, PETYA, "/list")  # handled after the two (one update at a time)
    assert [c.params["text"][:6] for c in fake_api.calls_since(mark, "sendMessage")] == ["Семья:"]
    assert await db.tasks.count_documents({}) == 0


async def test_a_reminder_set_in_the_group_goes_to_the_group_and_any_member_completes_it(
    app, fake_api, db, clock
):
    await add_bot(app, fake_api)
    added = await say(app, fake_api, PETYA, "/add вынести мусор завтра в 9")
    assert added["text"].startswith("Добавлено в «Семья»: вынести мусор. Напомню в этой группе ")
    assert "(по UTC: укажите свой часовой пояс" in added["text"]  # nobody's zone is known
    task = await db.tasks.find_one({"title": {"$eq": "вынести мусор"}})
    assert task["remind_at"] is not None
    due = task["remind_at"].replace(tzinfo=UTC)
    mark = fake_api.mark()
    clock.advance((due - datetime.now(UTC)).total_seconds() + 1)
    [sent] = await fake_api.wait_new("sendMessage", since=mark, timeout=10)
    assert sent.params["chat_id"] == str(GROUP_ID)  # the group, not Петя's private chat
    assert sent.params["text"] == "⏰ вынести мусор"
    reminder = fake_api.last_message(GROUP_ID)  # in the words of Петя, who set it
    # Mary never wrote to the bot: her Done in the group works (she is enlisted first).
    _, notice = await press(app, fake_api, reminder, "Готово", user_id=MARY,
                                language_code="en")  # fmt: skip
    assert notice == "✅ Done"
    # The press is answered first, then the message edited: wait for the edit.
    await fake_api.until(
        lambda: (
            fake_api.message(GROUP_ID, reminder["message_id"])["text"]
            == "⏰ вынести мусор\n\n✅ Done"
        ),
        "the reminder marked done",
    )
    done = await db.tasks.find_one({"_id": task["_id"]})
    assert (done["done"], done["updated_by"]) == (True, await user_id(db, MARY))


async def test_the_upgrade_to_a_supergroup_keeps_the_list(app, fake_api, db):
    await add_bot(app, fake_api)
    await say(app, fake_api, PETYA, "/add молоко")
    before = await group_list(db, GROUP_ID)
    old, new = migration_updates(GROUP_ID, SUPERGROUP_ID, by_user_id=OLYA)
    for update in (old, new, old):  # both service messages, and one delivered twice
        assert (await post_update(app, update)).status == 200

    async def moved() -> bool:
        return await db.task_lists.find_one({"group_chat_id": {"$eq": SUPERGROUP_ID}}) is not None

    await wait_until(moved, "the list follows the supergroup's id")
    after = await group_list(db, SUPERGROUP_ID)
    assert after["_id"] == before["_id"]
    assert await db.task_lists.find_one({"group_chat_id": {"$eq": GROUP_ID}}) is None
    shown = await say(app, fake_api, MARY, "/list", chat_id=SUPERGROUP_ID)
    assert shown["text"].startswith("Семья: 1 open task\n\n1. молоко\n")


async def test_a_reminder_sent_to_the_old_group_id_follows_the_group_to_its_supergroup(
    app, fake_api, db, clock
):
    """Telegram refuses a message to a group that became a supergroup (400 with the new id)
    before its service message reached us: the list moves, the reminder goes out there."""
    await add_bot(app, fake_api)
    await say(app, fake_api, PETYA, "/add полить цветы завтра в 10")
    task = await db.tasks.find_one({"title": {"$eq": "полить цветы"}})
    fake_api.fail("sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat",
                  chat_id=GROUP_ID, migrate_to_chat_id=SUPERGROUP_ID)  # fmt: skip
    mark = fake_api.mark()
    due = task["remind_at"].replace(tzinfo=UTC)
    clock.advance((due - datetime.now(UTC)).total_seconds() + 1)
    await fake_api.until(
        lambda: any(c.params["chat_id"] == str(SUPERGROUP_ID)
                    for c in fake_api.calls_since(mark, "sendMessage")),
        "the reminder sent to the supergroup", 10,
    )  # fmt: skip
    assert str((await group_list(db, SUPERGROUP_ID))["_id"]) == task["list_id"]
    assert fake_api.last_message(SUPERGROUP_ID)["text"] == "⏰ полить цветы"


async def test_removing_and_adding_the_bot_back_keeps_the_list_and_meanwhile_reminders_go_to_people(
    app, fake_api, db, clock
):
    await add_bot(app, fake_api)
    await say(app, fake_api, PETYA, "/add молоко")
    await say(app, fake_api, PETYA, "/add оплатить интернет завтра в 8")
    before = await group_list(db, GROUP_ID)
    removed = group_member_update("member", "left", by_user_id=OLYA)
    assert (await post_update(app, removed)).status == 200

    async def left() -> bool:
        return bool((await group_list(db, GROUP_ID)).get("group_left"))

    await wait_until(left, "the list marked as out of the group")
    # Out of the group: the reminder goes to whoever set it, in their private chat.
    task = await db.tasks.find_one({"title": {"$eq": "оплатить интернет"}})
    mark = fake_api.mark()
    clock.advance((task["remind_at"].replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds() + 1)
    [sent] = await fake_api.wait_new("sendMessage", since=mark, timeout=10)
    assert (sent.params["chat_id"], sent.params["text"]) == (str(PETYA), "⏰ оплатить интернет")
    # Added back: the same list, and the greeting says so.
    back = await add_bot(app, fake_api)
    assert back["text"].startswith("Я снова здесь. Список группы «Семья» — такой же, как был.")
    after = await group_list(db, GROUP_ID)
    assert (after["_id"], after["group_left"]) == (before["_id"], 0)
    shown = await say(app, fake_api, OLYA, "/list")
    assert shown["text"].startswith("Семья: 2 открытые задачи")


async def test_a_removal_the_bot_missed_is_learnt_from_telegrams_refusal(app, fake_api, db, clock):
    """403 to the group (the bot was removed, the update lost): the list stops sending there
    and the reminder goes to its person; their own chat is not taken as blocked."""
    await add_bot(app, fake_api)
    await say(app, fake_api, PETYA, "/add купить хлеб завтра в 7")
    fake_api.fail("sendMessage", 403, "Forbidden: bot was kicked from the group chat",
                  chat_id=GROUP_ID)  # fmt: skip
    task = await db.tasks.find_one({"title": {"$eq": "купить хлеб"}})
    mark = fake_api.mark()
    clock.advance((task["remind_at"].replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds() + 1)
    await fake_api.until(
        lambda: any(c.params["chat_id"] == str(PETYA)
                    for c in fake_api.calls_since(mark, "sendMessage")),
        "the reminder sent to Петя instead", 10,
    )  # fmt: skip
    assert (await group_list(db, GROUP_ID))["group_left"] == 1
    assert await db.reminder_chats.find_one({"blocked_ms": {"$gt": 0}}) is None


async def test_a_member_beyond_the_lists_quota_is_told_and_nothing_is_added(
    make_client, fake_api, db, clock
):
    app = await make_client(
        **bot_settings(fake_api, bot_api_tokens=BOT_KEY), sharing_max_members_per_list=1
    )
    await add_bot(app, fake_api)
    await say(app, fake_api, PETYA, "/add молоко")  # the one member besides Оля
    refused = await say(app, fake_api, MARY, "/add хлеб")
    assert refused["text"] == (
        "I can't add you to this group's list: it has as many members as it can have, or you "
        "are in too many shared lists already."
    )
    assert [t["title"] async for t in db.tasks.find({})] == ["молоко"]


async def test_an_unclear_time_takes_its_likeliest_reading_and_an_unreadable_one_none(
    app, fake_api, db
):
    """No confirmation card in a group: "в 5" is the first of its readings (as the private
    card lists them), and the reply names it; "в 10 или в 11" stays text, no reminder."""
    await add_bot(app, fake_api)
    expected = capture("позвонить бабушке в 5", datetime.now(UTC), ZoneInfo("UTC")).options[0]
    added = await say(app, fake_api, PETYA, "/add позвонить бабушке в 5")
    assert added["text"].startswith("Добавлено в «Семья»: позвонить бабушке. Напомню в этой группе")
    task = await db.tasks.find_one({"title": {"$eq": "позвонить бабушке"}})
    assert task["remind_at"].replace(tzinfo=UTC) == expected.remind_at
    added = await say(app, fake_api, PETYA, "/add созвон в 10 или в 11")
    assert added["text"] == "Добавлено в «Семья»: созвон в 10 или в 11."
    task = await db.tasks.find_one({"title": {"$eq": "созвон в 10 или в 11"}})
    assert task["remind_at"] is None
