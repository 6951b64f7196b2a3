"""Reminders in Telegram: a due reminder becomes a message with Done / Snooze buttons; the
buttons' callbacks; a chat that blocks the bot pauses its reminders, and any update from
the user resumes them. The delivery loop runs as a background task of the bot."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus
from telegram.error import (
    TelegramError,
)
from telegram.ext import CallbackQueryHandler, ChatMemberHandler, TypeHandler

from server.services.dates import humanize
from server.services.registry import Services
from server.services.reminders.delivery import DueReminder
from server.services.reminders.planning import snooze_target, zone_of
from server.services.tasks import from_reminders
from server.telegram import callbacks as cb
from server.telegram.background import BackgroundLoop, send_errors
from server.telegram.callbacks import ReminderAction, ReminderPress
from server.telegram.context import BotContext, bot_data
from server.telegram.i18n import Lang, language, ntr, tr
from server.telegram.types import BotApp

log = logging.getLogger(__name__)

BEFORE_COMMANDS = -10  # handler group that sees every update before the commands


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

    def button(label: str, action: ReminderAction) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            label, callback_data=cb.data(ReminderPress(action, str(task_id)))
        )

    done = button(tr(lang, "Done"), "done")
    rows = [[done]]
    if occurrence is not None:
        data = cb.data(ReminderPress("done", str(task_id), int(occurrence.timestamp())))
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


# The morning digest: the user's Today (reminder_prefs.digest_lines, the tasks service's Today),
# each task with its time, in the reader's language.
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

    def __init__(self, bot: Bot, services: Services) -> None:
        self._bot = bot
        self._services = services

    async def send(self, reminder: DueReminder) -> None:
        lang = language(reminder.language, reminder.language_code)
        if reminder.kind == "digest":
            titles = await self._services.reminder_prefs.digest_lines(reminder.user_id, lang)
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


class ReminderDelivery:
    """The delivery loop, a background task of the bot (started once the database answers)."""

    def __init__(self) -> None:
        self._loop = BackgroundLoop("reminder-delivery")

    def start(
        self, application: BotApp, database_ready: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        services = bot_data(application).services
        sender = TelegramSender(application.bot, services)
        self._loop.start(lambda: services.reminders.run(sender), database_ready)

    async def stop(self) -> None:
        await self._loop.stop()


class ReminderButtons:
    """A reminder's buttons, and whether a chat can be reached: a chat that blocks the bot
    pauses its reminders, and any update from the user resumes them."""

    def add_to(self, application: BotApp) -> None:
        application.add_handler(TypeHandler(Update, self.seen), group=BEFORE_COMMANDS)
        application.add_handler(
            ChatMemberHandler(self.membership, ChatMemberHandler.MY_CHAT_MEMBER)
        )
        application.add_handler(CallbackQueryHandler(self.button, pattern=cb.claims(ReminderPress)))

    async def seen(self, update: Update, context: BotContext) -> None:
        """A user who writes (or presses a button) is reachable again."""
        if update.my_chat_member is not None:
            return  # handled by `membership`
        user, chat = update.effective_user, update.effective_chat
        if user is not None and not user.is_bot and chat is not None and chat.type == "private":
            await context.services.reminders.chat_back(user.id)

    async def membership(self, update: Update, context: BotContext) -> None:
        change = update.my_chat_member
        if change is None or change.chat.type != "private":
            return
        status = change.new_chat_member.status
        reminders = context.services.reminders
        if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):  # "kicked": blocked
            await reminders.chat_blocked(change.chat.id)
        elif status == ChatMemberStatus.MEMBER:
            await reminders.chat_back(change.chat.id, unblocked=True)

    async def button(self, update: Update, context: BotContext) -> None:
        query = update.callback_query
        press = cb.parse(query.data if query is not None else None)
        if query is None or not isinstance(press, ReminderPress):
            return
        services = context.services
        lang = language(None, query.from_user.language_code)
        # Not made on sight: a reminder's button is pressed by someone who had one.
        user = await services.users.find_by_telegram_id(query.from_user.id)
        if user is None or user.id is None:
            await query.answer(tr(lang, "I don't know you yet. Send /start first."))
            return
        lang = language(user.language, query.from_user.language_code)
        zone = zone_of(user)
        now = datetime.now(UTC)
        tasks, task_id = services.tasks, press.task_id
        if press.action == "done":
            outcome = await from_reminders.done(
                tasks, user.id, task_id, _occurrence(press.occurrence)
            )
            ok = outcome is not None
            status = "✅ " + tr(lang, "Done")
            if outcome is not None and outcome.next_at is not None:
                status += " · " + tr(
                    lang, "next: {time}",
                    time=when_text(outcome.next_at.astimezone(zone), now.astimezone(zone), lang),
                )  # fmt: skip
        elif press.action == "stop":
            ok = await from_reminders.stop_repeating(tasks, user.id, task_id)
            status = "⏹ " + tr(lang, "No longer repeats")
        else:
            until = snooze_target(press.action, now, zone)
            ok = await from_reminders.snooze(tasks, user.id, task_id, until)
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


def _occurrence(seconds: int | None) -> datetime | None:
    """The occurrence a Done button carries; None when absent or out of range."""
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
