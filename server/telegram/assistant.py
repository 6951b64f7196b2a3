"""The bot's side of times: /timezone (common zones as buttons, a shared location, or a typed
city or UTC offset), and "напомни завтра в 9 купить молоко" → a confirmation card (Save /
Change time / Cancel) showing the time on the user's clock, then a task with a reminder.

Stateless between updates (any process may get the next one): drafts live in MongoDB, and so
does the question the bot is waiting for (`Questions`): a typed text answers it (a city, a
new time, which of two times) before it could become a new task, whatever the prompt's
wording (a translation may change; replies to older prompts still work). The text that made
the bot ask for a zone is kept in the question; the picker's message shows it «quoted», read
back only for a picker whose question is gone (expired, or sent before questions kept it)."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from models import User
from models.bot_question import BotQuestion
from server.services.dates.humanize import capital, clock_text, repeat_text, when_text, zone_text
from server.services.dates.parse import Parsed
from server.services.dates.zones import common_zones, is_zone, resolve, zone_at
from server.services.reminders.drafts import Draft
from server.services.reminders.preferences import ReminderPreferences
from server.services.reminders.questions import Questions
from server.services.tasks import from_reminders
from server.services.tasks.capture import Capture
from server.telegram import callbacks as cb
from server.telegram.callbacks import CardPress, CardVerb, PickZone, TypeZone
from server.telegram.context import BotContext
from server.telegram.i18n import Lang, tr
from server.telegram.intake import stop_handling
from server.telegram.types import BotApp

log = logging.getLogger(__name__)

ORIGINAL = re.compile(r"«(?P<text>.+)»\Z", re.DOTALL)
MAX_ORIGINAL = 500  # longer texts are not carried through the zone question
# Before the commands' group: a typed text that answers the bot's question is taken here;
# then a text that names a time becomes a card; any other text goes on to the task capture
# (group 0). The text is read once for all three (`BotContext.read`).
ANSWERS_GROUP = -2
REMIND_GROUP = -1
# A text this long, or one that names a time, is a new message, not the name of a place.
MAX_PLACE_WORDS = 3


def zone_prompt(lang: Lang) -> str:
    return tr(lang, "Type your city or UTC offset (e.g. Berlin, UTC+3):")


def _zone_name(zone: str, lang: Lang, now: datetime | None = None) -> str:
    return zone_text(zone, lang, now or datetime.now(UTC))


def _key(user: User) -> object:
    """Whose question: the Telegram account (the answer arrives from it)."""
    return user.telegram_id


def _when(instant: datetime, now: datetime, zone: ZoneInfo, lang: Lang) -> str:
    return when_text(instant, now, zone, lang)


class AssistantBot:
    """/timezone, /quiet, /digest, the zone picker and the confirmation cards, and typed
    answers to the bot's questions (kept in `Questions`, not read from the prompt's text)."""

    def add_to(self, application: BotApp) -> None:
        application.add_handler(CommandHandler("timezone", self.timezone))
        application.add_handler(CommandHandler("quiet", self.quiet))
        application.add_handler(CommandHandler("digest", self.digest))
        application.add_handler(
            CallbackQueryHandler(self.zone_button, pattern=cb.claims(PickZone, TypeZone))
        )
        application.add_handler(
            CallbackQueryHandler(self.card_button, pattern=cb.claims(CardPress))
        )
        application.add_handler(MessageHandler(filters.LOCATION, self.location))
        application.add_handler(
            # A forwarded text is someone else's words: never an answer, always a task.
            MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
                           & ~filters.FORWARDED, self.answer),
            group=ANSWERS_GROUP,
        )  # fmt: skip
        # Before plain-text capture (an earlier group): texts that name a time.
        application.add_handler(
            MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, self.remind),
            group=REMIND_GROUP,
        )

    async def _user(self, context: BotContext) -> tuple[User, Lang] | None:
        user = await context.user()
        return (user, context.lang) if user is not None else None

    # ---------------------------------------------------------------- time zone

    def _picker(self, lang: Lang) -> InlineKeyboardMarkup:
        now = datetime.now(UTC)
        buttons = [
            InlineKeyboardButton(_zone_name(z, lang, now), callback_data=cb.data(PickZone(z)))
            for z in common_zones(lang)
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append([InlineKeyboardButton(tr(lang, "⌨️ Type a city or offset"),
                                          callback_data=cb.data(TypeZone()))])  # fmt: skip
        return InlineKeyboardMarkup(rows)

    def _picker_text(self, user: User, lang: Lang, original: str | None = None) -> str:
        now = datetime.now(UTC)
        if original is not None:
            head = tr(lang, "To remind you on time I need your time zone.")
        elif user.timezone:
            head = tr(lang, "Your time zone: {zone}.", zone=_zone_name(user.timezone, lang, now))
        else:
            head = tr(lang, "You have not set a time zone yet.")
        text = (
            head
            + "\n"
            + tr(
                lang,
                "Choose yours below, send your location (📎 → Location), or type a city or a UTC "
                "offset.",
            )
        )
        if original is not None:
            text += f"\n\n«{original}»"
        return text

    async def timezone(self, update: Update, context: BotContext) -> None:
        """/timezone shows the picker (and waits for a typed place); /timezone Tokyo sets it."""
        found = await self._user(context)
        message = update.effective_message
        if found is None or message is None:
            return
        user, lang = found
        typed = " ".join(context.args or []).strip()
        if typed:
            await self._set_typed_zone(user, lang, typed, message, "", context)
            return
        await message.reply_text(self._picker_text(user, lang), reply_markup=self._picker(lang))
        await context.services.questions.ask(_key(user), "zone")

    async def zone_button(self, update: Update, context: BotContext) -> None:
        query = update.callback_query
        found = await self._user(context)
        press = cb.parse(query.data if query is not None else None)
        if query is None or found is None or not isinstance(press, PickZone | TypeZone):
            return
        user, lang = found
        questions = context.services.questions
        original = await _original(questions, user, query.message)
        if isinstance(press, TypeZone):
            await query.answer()
            await questions.ask(_key(user), "zone", original=original or "")
            if query.message is not None:
                prompt = zone_prompt(lang) + (f"\n\n«{original}»" if original else "")
                await context.bot.send_message(
                    query.message.chat.id, prompt,
                    reply_markup=ForceReply(input_field_placeholder="Berlin, UTC+3"),
                )  # fmt: skip
            return
        if not is_zone(press.zone):
            await query.answer()
            return
        assert user.id is not None
        await context.services.profiles.update(user.id, timezone=press.zone)
        await questions.clear(_key(user), "zone")
        user.timezone = press.zone
        done = tr(lang, "Time zone set: {zone}.", zone=_zone_name(press.zone, lang))
        await query.answer(done)
        await _edit(query.edit_message_text(done))
        if original and query.message is not None:
            await self._card_for(user, lang, original, query.message.chat.id, context)

    async def _set_typed_zone(
        self, user: User, lang: Lang, typed: str, message: Message, original: str,
        context: BotContext,
    ) -> None:  # fmt: skip
        """A typed city, zone or offset: set it, or ask which one, or say it is unknown."""
        assert user.id is not None
        questions = context.services.questions
        zones = resolve(typed, datetime.now(UTC), lang)
        carry = f"\n\n«{original}»" if original else ""
        if not zones:
            await questions.ask(_key(user), "zone", original=original)
            await message.reply_text(
                tr(lang, "I don't know that place. Try a city like Berlin or an offset like "
                         "UTC+3.") + "\n" + zone_prompt(lang) + carry,
                reply_markup=ForceReply(input_field_placeholder="Berlin, UTC+3"),
            )  # fmt: skip
            return
        if len(zones) > 1:
            now = datetime.now(UTC)
            rows = [[InlineKeyboardButton(_zone_name(z, lang, now),
                                          callback_data=cb.data(PickZone(z)))]
                    for z in zones[:8]]  # fmt: skip
            await message.reply_text(
                tr(lang, "Which one?") + carry, reply_markup=InlineKeyboardMarkup(rows)
            )
            return
        await context.services.profiles.update(user.id, timezone=zones[0])
        await questions.clear(_key(user), "zone")
        user.timezone = zones[0]
        await message.reply_text(
            tr(lang, "Time zone set: {zone}.", zone=_zone_name(zones[0], lang))
        )
        if original:
            await self._card_for(user, lang, original, message.chat.id, context)

    # ------------------------------------------------------------ typed answers

    async def answer(self, update: Update, context: BotContext) -> None:
        """A plain text while the bot waits for an answer (a zone, a time, a choice) is that
        answer, and nothing else happens with it. A text that is plainly something else (a
        new task with a time, a long sentence) drops the question and goes on as usual."""
        message, sender = update.effective_message, update.effective_user
        if message is None or not message.text or sender is None:
            return
        # Keyed by the Telegram id: most texts answer nothing, and cost this one read.
        question = await context.services.questions.pending(sender.id)
        if question is None:
            return
        found = await self._user(context)
        if found is None:
            return
        user, lang = found
        if await self._answer(question, user, lang, message, context):
            await stop_handling(update, context)

    async def _answer(
        self, question: BotQuestion, user: User, lang: Lang, message: Message,
        context: BotContext,
    ) -> bool:  # fmt: skip
        assert user.id is not None
        questions, drafts = context.services.questions, context.services.drafts
        text = (message.text or "").strip()
        if question.kind == "zone":
            words = len(text.split())
            zone_now = ZoneInfo(user.timezone or "UTC")
            if words > MAX_PLACE_WORDS or context.read(text, zone_now).has_time:
                await questions.clear(_key(user), "zone")
                return False
            await self._set_typed_zone(user, lang, text, message, question.original, context)
            return True
        zone = ZoneInfo(user.timezone or "UTC")
        draft = await drafts.get(user.id, question.draft_id)
        parsed = context.read(text, zone).parsed
        if draft is not None and not parsed.has_time and len(text.split()) <= 2:
            await message.reply_text(
                tr(lang, "Tap one of the times above, or type one like 19:00.")
                if question.kind == "choice"
                else tr(lang, "Type a time, like “tomorrow at 10” or “in 2 hours”.")
            )
            return True
        if draft is None or parsed.title or not parsed.has_time:  # something new, not an answer
            await questions.clear(_key(user))
            return False
        chosen: Draft | None = None
        if question.kind == "choice" and parsed.when is not None and draft.options:
            # "19:00" after "07:00 or 19:00?": the option of that time of day, if there is one
            typed = parsed.when.astimezone(zone)
            for i, option in enumerate(draft.options):
                local = option.astimezone(zone)
                if (local.hour, local.minute) == (typed.hour, typed.minute):
                    chosen = await drafts.choose(user.id, str(draft.id), i)
                    break
        if chosen is None:
            chosen = await drafts.retime(user.id, str(draft.id), parsed)
        await questions.clear(_key(user))
        if chosen is None:
            return False
        await self._send_card(message.chat.id, chosen, parsed, zone, lang, context, _key(user))
        return True

    async def location(self, update: Update, context: BotContext) -> None:
        message = update.effective_message
        found = await self._user(context)
        if message is None or message.location is None or found is None:
            return
        user, lang = found
        zone = zone_at(message.location.latitude, message.location.longitude)
        if zone is None:
            await message.reply_text(tr(lang, "I could not find a time zone for that place."))
            return
        assert user.id is not None
        await context.services.profiles.update(user.id, timezone=zone)
        await context.services.questions.clear(_key(user), "zone")
        await message.reply_text(tr(lang, "Time zone set: {zone}.", zone=_zone_name(zone, lang)))

    # ------------------------------------------------- quiet hours and the digest

    async def _settings_user(
        self, update: Update, context: BotContext
    ) -> tuple[User, Lang, Message, ReminderPreferences, ZoneInfo] | None:
        found = await self._user(context)
        message = update.effective_message
        if found is None or message is None:
            return None
        user, lang = found
        if user.timezone is None:
            await message.reply_text(tr(lang, "Set your time zone first: /timezone"))
            return None
        return user, lang, message, context.services.reminder_prefs, ZoneInfo(user.timezone)

    async def quiet(self, update: Update, context: BotContext) -> None:
        """/quiet 22:00-08:00 | off: reminders due in quiet hours wait until they end."""
        found = await self._settings_user(update, context)
        if found is None:
            return
        user, lang, message, reminders, _ = found
        assert user.id is not None
        arg = " ".join(context.args or []).strip().lower()
        if arg in ("off", "выкл", "нет"):
            await reminders.set_quiet_hours(user.id, None, None)
        elif arg:
            window = QUIET.fullmatch(arg.replace(" ", ""))
            start = _minutes(window["a"]) if window else None
            end = _minutes(window["b"]) if window else None
            if start is None or end is None or start == end:
                await message.reply_text(tr(lang, "Like this: /quiet 22:00-08:00, or /quiet off"))
                return
            await reminders.set_quiet_hours(user.id, start, end)
        prefs = await reminders.prefs(user.id)
        if prefs.quiet_start < 0:
            text = tr(lang, "Quiet hours are off. Set them like this: /quiet 22:00-08:00")
        else:
            text = tr(
                lang, "Quiet hours: {start} to {end}. Reminders due then wait until they end.",
                start=_clock(prefs.quiet_start, lang), end=_clock(prefs.quiet_end, lang),
            )  # fmt: skip
        await message.reply_text(text)

    async def digest(self, update: Update, context: BotContext) -> None:
        """/digest 08:30 | off: every morning, what is in Today."""
        found = await self._settings_user(update, context)
        if found is None:
            return
        user, lang, message, reminders, zone = found
        assert user.id is not None
        arg = " ".join(context.args or []).strip().lower()
        if arg in ("off", "выкл", "нет"):
            await reminders.set_digest(user.id, None, zone)
        elif arg:
            minute = _minutes(arg)
            if minute is None:
                await message.reply_text(tr(lang, "Like this: /digest 08:30, or /digest off"))
                return
            await reminders.set_digest(user.id, minute, zone)
        prefs = await reminders.prefs(user.id)
        if prefs.digest_at < 0:
            text = tr(lang, "The morning digest is off. Turn it on like this: /digest 08:30")
        else:
            text = tr(lang, "Every day at {time} I will send what is in Today.",
                      time=_clock(prefs.digest_at, lang))  # fmt: skip
        await message.reply_text(text)

    # ------------------------------------------------------------- the card

    async def remind(self, update: Update, context: BotContext) -> None:
        """A text that names a time: its card (and nothing else happens with it); any other
        text goes on to the task capture."""
        message = update.effective_message
        if message is None or not message.text:
            return
        found = await self._user(context)
        if found is None:
            return
        user, lang = found
        assert user.id is not None
        read = context.read(message.text, ZoneInfo(user.timezone or "UTC"))
        if not read.has_time:
            return
        await self.offer(user, lang, message.text, message, context, read)
        await stop_handling(update, context)

    async def offer(
        self, user: User, lang: Lang, text: str, message: Message,
        context: BotContext, read: Capture | None = None,
    ) -> None:  # fmt: skip
        """A text that names a time: its confirmation card, or first the zone question.
        `read`: the text already read in the user's zone (not read again)."""
        if user.timezone is None:  # asked on first use of a time
            original = text if len(text) <= MAX_ORIGINAL else None
            await message.reply_text(
                self._picker_text(user, lang, original), reply_markup=self._picker(lang)
            )
            await context.services.questions.ask(_key(user), "zone", original=original or "")
            return
        await self._card_for(user, lang, text, message.chat.id, context, read)

    async def _card_for(
        self, user: User, lang: Lang, text: str, chat_id: int,
        context: BotContext, read: Capture | None = None,
    ) -> None:  # fmt: skip
        assert user.id is not None
        assert user.timezone is not None
        zone = ZoneInfo(user.timezone)
        if read is None or read.text != text:
            read = context.read(text, zone)
        parsed = read.parsed
        draft = await context.services.drafts.create(user.id, parsed, fallback_title=text)
        await self._send_card(chat_id, draft, parsed, zone, lang, context, _key(user))

    async def _send_card(
        self, chat_id: int, draft: Draft, parsed: Parsed | None, zone: ZoneInfo, lang: Lang,
        context: BotContext, user_id: object,
    ) -> None:  # fmt: skip
        text, markup = self._card(draft, parsed, zone, lang)
        await context.bot.send_message(chat_id, text, reply_markup=markup)
        if draft.remind_at is None and draft.options:  # "Which time do you mean?": typed too
            await context.services.questions.ask(user_id, "choice", draft_id=draft.id)

    def _card(
        self, draft: Draft, parsed: Parsed | None, zone: ZoneInfo, lang: Lang
    ) -> tuple[str, InlineKeyboardMarkup]:
        now = datetime.now(UTC).astimezone(zone)

        def button(label: str, action: CardVerb, option: int | None = None) -> InlineKeyboardButton:
            press = CardPress(action, str(draft.id), option)
            return InlineKeyboardButton(label, callback_data=cb.data(press))

        lines = ["⏰ " + draft.title]
        rows: list[list[InlineKeyboardButton]] = []
        zone_label = _zone_name(zone.key, lang, now)
        if draft.remind_at is not None:
            lines.append("🕒 " + capital(_when(draft.remind_at, now, zone, lang))
                         + f" · {zone_label}")  # fmt: skip
            if draft.repeat:
                lines.append("🔁 " + capital(repeat_text(draft.repeat, lang, zone=zone) or ""))
            rows.append([button(tr(lang, "Save"), "save")])
        elif draft.options:
            reason = parsed.clarify.reason if parsed and parsed.clarify else "ambiguous-time"
            lines.append(
                tr(lang, "That time has passed. Did you mean:") if reason == "in-the-past"
                else tr(lang, "Which time do you mean?")
            )  # fmt: skip
            rows.append([
                button(capital(_when(o, now, zone, lang)), "option", i)
                for i, o in enumerate(draft.options[:3])
            ])  # fmt: skip
        else:
            lines.append(tr(lang, "I couldn't tell the time. Say it another way, please."))
        rows.append(
            [button(tr(lang, "Change time"), "change"), button(tr(lang, "Cancel"), "cancel")]
        )
        return "\n".join(lines), InlineKeyboardMarkup(rows)

    async def card_button(self, update: Update, context: BotContext) -> None:
        query = update.callback_query
        found = await self._user(context)
        press = cb.parse(query.data if query is not None else None)
        if query is None or not isinstance(press, CardPress) or found is None:
            return
        user, lang = found
        assert user.id is not None
        action, draft_id = press.action, press.draft_id
        drafts, questions = context.services.drafts, context.services.questions
        zone = ZoneInfo(user.timezone or "UTC")
        draft = await drafts.get(user.id, draft_id)
        if draft is None:
            await query.answer(tr(lang, "This card has expired; send the reminder again."))
            return
        if action != "change":  # pressed instead of typed: the question is answered
            await questions.clear(_key(user))
        if action == "cancel":
            await drafts.discard(user.id, draft_id)
            await query.answer()
            await _edit(query.edit_message_text(tr(lang, "Cancelled.")))
        elif action == "change":
            await questions.ask(_key(user), "time", draft_id=draft_id)
            await query.answer()
            if query.message is not None:
                await context.bot.send_message(
                    query.message.chat.id,
                    tr(lang, "When should I remind you about «{title}»? (e.g. tomorrow at 10)",
                       title=draft.title),
                )  # fmt: skip
        elif press.option is not None:
            chosen = await drafts.choose(user.id, draft_id, press.option)
            await query.answer()
            if chosen is not None:
                text, markup = self._card(chosen, None, zone, lang)
                await _edit(query.edit_message_text(text, reply_markup=markup))
        elif draft.remind_at is not None:  # save
            await from_reminders.save(
                context.services.tasks, user.id, draft.title, draft.remind_at, draft.repeat
            )
            await drafts.discard(user.id, draft_id)
            now = datetime.now(UTC)
            saved = tr(lang, "Saved: {title}, reminder {when}.", title=draft.title,
                       when=_when(draft.remind_at, now, zone, lang))  # fmt: skip
            await query.answer(saved)
            await _edit(query.edit_message_text("✅ " + saved))
        else:
            await query.answer()


QUIET = re.compile(r"(?P<a>\d{1,2}(?::\d{2})?)[-\u2013\u2014](?P<b>\d{1,2}(?::\d{2})?)")


def _minutes(text: str) -> int | None:
    """ "8", "08:30" → minutes of the day."""
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?", text.strip())
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2] or 0)
    return hour * 60 + minute if hour < 24 and minute < 60 else None


def _clock(minutes: int, lang: Lang) -> str:
    return clock_text(minutes // 60, minutes % 60, lang)


async def _original(questions: Questions, user: User, message: object) -> str | None:
    """The text that made the bot ask for a zone: the pending question keeps it. A picker
    sent before questions kept it (or whose question expired) shows it «in quotes» at the
    end of its message: that is read only then."""
    question = await questions.pending(_key(user))
    if question is not None and question.kind == "zone" and question.original:
        return question.original
    text = getattr(message, "text", None)
    match = ORIGINAL.search(text or "")
    return match["text"] if match else None


async def _edit(call: Awaitable[object]) -> None:
    try:
        await call
    except TelegramError:  # an unchanged or too old message: nothing to update
        log.info("could not edit a message", exc_info=True)
