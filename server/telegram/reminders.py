"""Reminders in Telegram: a due reminder becomes a message with Done / Snooze buttons; the
buttons' callbacks; a chat that blocks the bot pauses its reminders, and any update from
the user resumes them. The delivery loop runs as a background task of the bot."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId
from bson.errors import InvalidId
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus
from telegram.error import (
    TelegramError,
)
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    TypeHandler,
)

from server.services.accounts.users import Users
from server.services.dates import humanize
from server.services.reminders.delivery import DueReminder, ReminderDelivery
from server.services.reminders.planning import snooze_target, zone_of
from server.telegram.background import BackgroundLoop, send_errors
from server.telegram.i18n import Lang, language, ntr, tr
from server.telegram.types import BotApp

log = logging.getLogger(__name__)

# Callback data: "r:<action>:<task id>" (well under Telegram's 64 bytes).
# A repeating reminder's Done carries the occurrence it was sent for (epoch seconds): Done
# completes that one, even after the engine re-armed the task at the next (tasks/repeating.py).
CALLBACK = re.compile(r"^r:(done|stop|10m|1h|tomorrow):([0-9a-f]{24})(?::(\d{1,11}))?$")
BEFORE_COMMANDS = -10  # handler group that sees every update before the commands


@dataclass(frozen=True, slots=True)
class Done:
    """What Done did: `next_at` is a repeating task's next occurrence (it stays open); None
    when the task is done for good."""

    next_at: datetime | None = None


# What the buttons do (through the tasks service). Done answers None, Snooze and Stop False,
# when the task is not there (any more).
DoneAction = Callable[[PydanticObjectId, PydanticObjectId, datetime | None], Awaitable[Done | None]]
SnoozeAction = Callable[[PydanticObjectId, PydanticObjectId, datetime], Awaitable[bool]]
StopAction = Callable[[PydanticObjectId, PydanticObjectId], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class ReminderActions:
    done: DoneAction
    snooze: SnoozeAction
    stop: StopAction | None = None  # "Stop repeating"; None: not offered


def when_text(instant: datetime, now: datetime, lang: Lang) -> str:
    """ "today 10 AM", "tomorrow 9 AM", "Wed, Dec 9, 6:30 PM" (humanize), in the zone of
    `instant` (callers pass it in the user's zone)."""
    zone = instant.tzinfo if isinstance(instant.tzinfo, ZoneInfo) else ZoneInfo("UTC")
    return humanize.when_text(instant, now, zone, lang)


def keyboard(
    task_id: PydanticObjectId, lang: Lang, occurrence: datetime | None = None
) -> InlineKeyboardMarkup:
    """Done / Snooze / Tomorrow; a repeating reminder (`occurrence`: the one this message is
    for) also gets "Stop repeating"."""

    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=f"r:{action}:{task_id}")

    done = button(tr(lang, "Done"), "done")
    rows = [[done]]
    if occurrence is not None:
        data = f"r:done:{task_id}:{int(occurrence.timestamp())}"
        rows = [[InlineKeyboardButton(tr(lang, "Done"), callback_data=data),
                 button(tr(lang, "Stop repeating"), "stop")]]  # fmt: skip
    rows += [
        [button(tr(lang, "Snooze 10 min"), "10m"), button(tr(lang, "Snooze 1 h"), "1h")],
        [button(tr(lang, "Tomorrow 9 AM"), "tomorrow")],
    ]
    return InlineKeyboardMarkup(rows)


def reminder_text(reminder: DueReminder, lang: Lang) -> str:
    text = "⏰ " + reminder.title
    if reminder.late:
        due = humanize.when_text(reminder.due, datetime.now(UTC), reminder.zone, lang)
        text += "\n" + tr(lang, "(late: this was due {time})", time=due)
    return text


# The lines of the morning digest: the user's Today (the tasks service's rule), each task
# with its time, in the reader's language.
TodayTitles = Callable[[PydanticObjectId, Lang], Awaitable[list[str]]]
DIGEST_MAX_ITEMS = 20


def digest_text(titles: list[str], lang: Lang) -> str:
    head = ntr(lang, "☀️ Today, {n} task:", "☀️ Today, {n} tasks:", len(titles))
    shown = titles[:DIGEST_MAX_ITEMS]
    more = len(titles) - len(shown)
    lines = [head, *("• " + t for t in shown)]
    if more:
        lines.append(ntr(lang, "…and {n} more", "…and {n} more", more))
    return "\n".join(lines)


class TelegramSender:
    """Sends a due reminder; turns Bot API errors into what the delivery loop understands."""

    def __init__(self, bot: Bot, today: TodayTitles | None = None) -> None:
        self._bot = bot
        self._today = today

    async def send(self, reminder: DueReminder) -> None:
        lang = language(reminder.language, reminder.language_code)
        if reminder.kind == "digest":
            titles = await self._today(reminder.user_id, lang) if self._today is not None else []
            if not titles:
                return  # nothing for today: no message
            text, markup = digest_text(titles, lang), None
        else:
            occurrence = reminder.due if reminder.repeat else None
            text, markup = (
                reminder_text(reminder, lang),
                keyboard(reminder.task_id, lang, occurrence),
            )
        with send_errors():
            await self._bot.send_message(reminder.chat_id, text, reply_markup=markup)


class ReminderBot:
    """The reminders' handlers and the delivery task, for one bot Application."""

    def __init__(
        self, reminders: ReminderDelivery, users: Users, actions: ReminderActions,
        today: TodayTitles | None = None,
    ) -> None:  # fmt: skip
        self._reminders = reminders
        self._users = users
        self._today = today
        self._actions = actions
        self._delivery = BackgroundLoop("reminder-delivery")

    def add_to(self, application: BotApp) -> None:
        application.add_handler(TypeHandler(Update, self.seen), group=BEFORE_COMMANDS)
        application.add_handler(
            ChatMemberHandler(self.membership, ChatMemberHandler.MY_CHAT_MEMBER)
        )
        application.add_handler(CallbackQueryHandler(self.button, pattern=CALLBACK))

    def start(self, bot: Bot, database_ready: Callable[[], Awaitable[None]] | None = None) -> None:
        self._delivery.start(lambda: self._reminders.run(TelegramSender(bot, self._today)),
                             database_ready)  # fmt: skip

    async def stop(self) -> None:
        await self._delivery.stop()

    async def seen(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A user who writes (or presses a button) is reachable again."""
        if update.my_chat_member is not None:
            return  # handled by `membership`
        user, chat = update.effective_user, update.effective_chat
        if user is not None and not user.is_bot and chat is not None and chat.type == "private":
            await self._reminders.chat_back(user.id)

    async def membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None or change.chat.type != "private":
            return
        status = change.new_chat_member.status
        if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):  # "kicked": blocked
            await self._reminders.chat_blocked(change.chat.id)
        elif status == ChatMemberStatus.MEMBER:
            await self._reminders.chat_back(change.chat.id, unblocked=True)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.data is None:
            return
        match = CALLBACK.match(query.data)
        assert match is not None  # the handler's pattern
        action, raw_id, raw_occurrence = match.groups()
        lang = language(None, query.from_user.language_code)
        user = await self._users.find_by_telegram_id(query.from_user.id)
        try:
            task_id = PydanticObjectId(raw_id)
        except InvalidId:
            await query.answer()
            return
        if user is None or user.id is None:
            await query.answer(tr(lang, "I don't know you yet. Send /start first."))
            return
        lang = language(user.language, query.from_user.language_code)
        zone = zone_of(user)
        now = datetime.now(UTC)
        if action == "done":
            occurrence = _occurrence(raw_occurrence)
            outcome = await self._actions.done(user.id, task_id, occurrence)
            ok = outcome is not None
            status = "✅ " + tr(lang, "Done")
            if outcome is not None and outcome.next_at is not None:
                status += " · " + tr(
                    lang, "next: {time}",
                    time=when_text(outcome.next_at.astimezone(zone), now.astimezone(zone), lang),
                )  # fmt: skip
        elif action == "stop":
            ok = self._actions.stop is not None and await self._actions.stop(user.id, task_id)
            status = "⏹ " + tr(lang, "No longer repeats")
        else:
            until = snooze_target(action, now, zone)
            ok = await self._actions.snooze(user.id, task_id, until)
            status = "💤 " + tr(
                lang, "Snoozed until {time}",
                time=when_text(until.astimezone(zone), now.astimezone(zone), lang),
            )  # fmt: skip
        if not ok:
            await query.answer(tr(lang, "This reminder is no longer there."))
            return
        await query.answer(status)
        message = query.message
        text = getattr(message, "text", None)
        if text:
            try:
                await query.edit_message_text(f"{text}\n\n{status}")
            except TelegramError:
                log.info("could not update the reminder message", exc_info=True)


def _occurrence(raw: str | None) -> datetime | None:
    """The occurrence a Done button carries; None when absent or out of range."""
    if raw is None:
        return None
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (OverflowError, OSError, ValueError):
        return None
