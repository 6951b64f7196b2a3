"""The bot's side of times: /timezone (common zones as buttons, a shared location, or a typed
city or UTC offset), and "напомни завтра в 9 купить молоко" → a confirmation card (Save /
Change time / Cancel) showing the time on the user's clock, then a task with a reminder.

Stateless between updates (any process may get the next one): drafts live in MongoDB, a
typed zone answers a prompt the bot sent (Telegram's ForceReply), and the text that made the
bot ask for a zone rides along in the picker's message."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId
from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from models import User
from server.services.accounts.profile import Profiles
from server.services.accounts.users import Users
from server.services.dates.describe import describe
from server.services.dates.parse import Parsed, parse
from server.services.dates.zones import city, common_zones, is_zone, offset_label, resolve, zone_at
from server.services.reminders.drafts import Draft, ReminderDrafts
from server.services.reminders.service import Reminders
from server.telegram.i18n import LANGUAGES, N_, Lang, language, tr
from server.telegram.reminders import when_text
from server.telegram.sender import profile_of
from server.telegram.types import BotApp

log = logging.getLogger(__name__)

# What Save does: make a task with a reminder (the tasks service, once it exists).
SaveTask = Callable[[PydanticObjectId, str, datetime, str | None], Awaitable[None]]

ZONE_BUTTON = re.compile(r"^tz:(?P<zone>[A-Za-z0-9_+\-/]{1,60})$")
TYPE_ZONE = "tz?"
CARD_BUTTON = re.compile(r"^rd:(?P<action>save|change|cancel|o(?P<option>\d))"
                         r":(?P<draft>[0-9a-f]{24})$")  # fmt: skip
ORIGINAL = re.compile(r"«(?P<text>.+)»\Z", re.DOTALL)
MAX_ORIGINAL = 500  # longer texts are not carried through the zone question


def zone_prompt(lang: Lang) -> str:
    return tr(lang, "Type your city or UTC offset (e.g. Berlin, UTC+3):")


class _TimeText(filters.MessageFilter):
    """Texts that name a time ("завтра в 9", "every monday"): ours, not plain task capture."""

    def filter(self, message: Message) -> bool:
        text = message.text or ""
        return bool(text) and parse(text, datetime.now(UTC), ZoneInfo("UTC")).has_time


class _ZoneAnswer(filters.MessageFilter):
    """A reply to the bot's "type your city" prompt."""

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or not replied.from_user.is_bot:
            return False
        return any((replied.text or "").startswith(zone_prompt(lang)) for lang in LANGUAGES)


def _zone_name(zone: str, now: datetime) -> str:
    return f"{city(zone)} ({offset_label(zone, now)})"


class AssistantBot:
    def __init__(
        self, users: Users, profiles: Profiles, drafts: ReminderDrafts,
        save: SaveTask | None = None, reminders: Reminders | None = None,
    ) -> None:  # fmt: skip
        self._users = users
        self._profiles = profiles
        self._drafts = drafts
        self.save = save
        self._reminders = reminders

    def add_to(self, application: BotApp) -> None:
        application.add_handler(CommandHandler("timezone", self.timezone))
        if self._reminders is not None:
            application.add_handler(CommandHandler("quiet", self.quiet))
            application.add_handler(CommandHandler("digest", self.digest))
        application.add_handler(CallbackQueryHandler(self.zone_button, pattern=r"^tz[:?]"))
        application.add_handler(CallbackQueryHandler(self.card_button, pattern=CARD_BUTTON))
        application.add_handler(MessageHandler(filters.LOCATION, self.location))
        application.add_handler(
            MessageHandler(filters.TEXT & ~filters.COMMAND & _ZoneAnswer(), self.typed_zone)
        )
        # Before plain-text capture (same group, added first): texts that name a time.
        application.add_handler(
            MessageHandler(filters.TEXT & ~filters.COMMAND & _TimeText(), self.remind)
        )

    async def _user(self, update: Update) -> tuple[User, Lang] | None:
        profile = profile_of(update)
        if profile is None:
            return None
        user, _ = await self._users.ensure_telegram_user(profile)
        return user, language(user.language, profile.language_code)

    # ---------------------------------------------------------------- time zone

    def _picker(self, lang: Lang) -> InlineKeyboardMarkup:
        now = datetime.now(UTC)
        buttons = [
            InlineKeyboardButton(_zone_name(z, now), callback_data=f"tz:{z}")
            for z in common_zones(lang)
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append([InlineKeyboardButton(tr(lang, "⌨️ Type a city or offset"),
                                          callback_data=TYPE_ZONE)])  # fmt: skip
        return InlineKeyboardMarkup(rows)

    def _picker_text(self, user: User, lang: Lang, original: str | None = None) -> str:
        now = datetime.now(UTC)
        if original is not None:
            head = tr(lang, "To remind you on time I need your time zone.")
        elif user.timezone:
            head = tr(lang, "Your time zone: {zone}.", zone=_zone_name(user.timezone, now))
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

    async def timezone(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        found = await self._user(update)
        if found is None or update.effective_message is None:
            return
        user, lang = found
        await update.effective_message.reply_text(
            self._picker_text(user, lang), reply_markup=self._picker(lang)
        )

    async def zone_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        found = await self._user(update)
        if query is None or found is None or query.data is None:
            return
        user, lang = found
        original = _original(query.message)
        if query.data == TYPE_ZONE:
            await query.answer()
            if query.message is not None:
                prompt = zone_prompt(lang) + (f"\n\n«{original}»" if original else "")
                await context.bot.send_message(
                    query.message.chat.id, prompt,
                    reply_markup=ForceReply(input_field_placeholder="Berlin, UTC+3"),
                )  # fmt: skip
            return
        match = ZONE_BUTTON.match(query.data)
        if match is None or not is_zone(match["zone"]):
            await query.answer()
            return
        assert user.id is not None
        await self._profiles.update(user.id, timezone=match["zone"])
        user.timezone = match["zone"]
        done = tr(lang, "Time zone set: {zone}.", zone=_zone_name(match["zone"], datetime.now(UTC)))
        await query.answer(done)
        await _edit(query.edit_message_text(done))
        if original and query.message is not None:
            await self._card_for(user, lang, original, query.message.chat.id, context)

    async def typed_zone(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        found = await self._user(update)
        if message is None or found is None:
            return
        user, lang = found
        zones = resolve(message.text or "", datetime.now(UTC), lang)
        original = _original(message.reply_to_message)
        carry = f"\n\n«{original}»" if original else ""
        if not zones:
            await message.reply_text(
                tr(lang, "I don't know that place. Try a city like Berlin or an offset like "
                         "UTC+3.") + "\n" + zone_prompt(lang) + carry,
                reply_markup=ForceReply(input_field_placeholder="Berlin, UTC+3"),
            )  # fmt: skip
            return
        if len(zones) > 1:
            now = datetime.now(UTC)
            rows = [[InlineKeyboardButton(_zone_name(z, now), callback_data=f"tz:{z}")]
                    for z in zones[:8]]  # fmt: skip
            await message.reply_text(
                tr(lang, "Which one?") + carry, reply_markup=InlineKeyboardMarkup(rows)
            )
            return
        assert user.id is not None
        await self._profiles.update(user.id, timezone=zones[0])
        user.timezone = zones[0]
        await message.reply_text(
            tr(lang, "Time zone set: {zone}.", zone=_zone_name(zones[0], datetime.now(UTC)))
        )
        if original:
            await self._card_for(user, lang, original, message.chat.id, context)

    async def location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        found = await self._user(update)
        if message is None or message.location is None or found is None:
            return
        user, lang = found
        zone = zone_at(message.location.latitude, message.location.longitude)
        if zone is None:
            await message.reply_text(tr(lang, "I could not find a time zone for that place."))
            return
        assert user.id is not None
        await self._profiles.update(user.id, timezone=zone)
        await message.reply_text(
            tr(lang, "Time zone set: {zone}.", zone=_zone_name(zone, datetime.now(UTC)))
        )

    # ------------------------------------------------- quiet hours and the digest

    async def _settings_user(
        self, update: Update
    ) -> tuple[User, Lang, Message, Reminders, ZoneInfo] | None:
        found = await self._user(update)
        message = update.effective_message
        if found is None or message is None or self._reminders is None:
            return None
        user, lang = found
        if user.timezone is None:
            await message.reply_text(tr(lang, "Set your time zone first: /timezone"))
            return None
        return user, lang, message, self._reminders, ZoneInfo(user.timezone)

    async def quiet(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/quiet 22:00-08:00 | off: reminders due in quiet hours wait until they end."""
        found = await self._settings_user(update)
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
                start=_clock(prefs.quiet_start), end=_clock(prefs.quiet_end),
            )  # fmt: skip
        await message.reply_text(text)

    async def digest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/digest 08:30 | off: every morning, what is in Today."""
        found = await self._settings_user(update)
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
                      time=_clock(prefs.digest_at))  # fmt: skip
        await message.reply_text(text)

    # ------------------------------------------------------------- the card

    async def remind(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        found = await self._user(update)
        if message is None or found is None or not message.text:
            return
        user, lang = found
        assert user.id is not None
        if user.timezone is None:  # asked on first use of a time
            original = message.text if len(message.text) <= MAX_ORIGINAL else None
            await message.reply_text(
                self._picker_text(user, lang, original), reply_markup=self._picker(lang)
            )
            return
        zone = ZoneInfo(user.timezone)
        parsed = self._drafts.read(message.text, zone)
        waiting = await self._drafts.awaiting(user.id)
        if waiting is not None and not parsed.title:  # the answer to "Change time"
            draft = await self._drafts.retime(user.id, str(waiting.id), parsed)
            if draft is not None:
                await self._send_card(message.chat.id, draft, parsed, zone, lang, context)
                return
        await self._card_for(user, lang, message.text, message.chat.id, context)

    async def _card_for(
        self, user: User, lang: Lang, text: str, chat_id: int,
        context: ContextTypes.DEFAULT_TYPE,
    ) -> None:  # fmt: skip
        assert user.id is not None
        assert user.timezone is not None
        zone = ZoneInfo(user.timezone)
        parsed = self._drafts.read(text, zone)
        draft = await self._drafts.create(user.id, parsed, fallback_title=text)
        await self._send_card(chat_id, draft, parsed, zone, lang, context)

    async def _send_card(
        self, chat_id: int, draft: Draft, parsed: Parsed | None, zone: ZoneInfo, lang: Lang,
        context: ContextTypes.DEFAULT_TYPE,
    ) -> None:  # fmt: skip
        text, markup = self._card(draft, parsed, zone, lang)
        await context.bot.send_message(chat_id, text, reply_markup=markup)

    def _card(
        self, draft: Draft, parsed: Parsed | None, zone: ZoneInfo, lang: Lang
    ) -> tuple[str, InlineKeyboardMarkup]:
        now = datetime.now(UTC).astimezone(zone)

        def button(label: str, action: str) -> InlineKeyboardButton:
            return InlineKeyboardButton(label, callback_data=f"rd:{action}:{draft.id}")

        lines = ["⏰ " + draft.title]
        rows: list[list[InlineKeyboardButton]] = []
        zone_label = _zone_name(zone.key, now)
        if draft.remind_at is not None:
            lines.append("🕒 " + when_text(draft.remind_at.astimezone(zone), now, lang)
                         + f" · {zone_label}")  # fmt: skip
            if draft.repeat:
                lines.append("🔁 " + describe_repeat(draft.repeat, lang, zone))
            rows.append([button(tr(lang, "Save"), "save")])
        elif draft.options:
            reason = parsed.clarify.reason if parsed and parsed.clarify else "ambiguous-time"
            lines.append(
                tr(lang, "That time has passed. Did you mean:") if reason == "in-the-past"
                else tr(lang, "Which time do you mean?")
            )  # fmt: skip
            rows.append([
                button(when_text(o.astimezone(zone), now, lang), f"o{i}")
                for i, o in enumerate(draft.options[:3])
            ])  # fmt: skip
        else:
            lines.append(tr(lang, "I couldn't tell the time. Say it another way, please."))
        rows.append(
            [button(tr(lang, "Change time"), "change"), button(tr(lang, "Cancel"), "cancel")]
        )
        return "\n".join(lines), InlineKeyboardMarkup(rows)

    async def card_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        found = await self._user(update)
        if query is None or query.data is None or found is None:
            return
        user, lang = found
        assert user.id is not None
        match = CARD_BUTTON.match(query.data)
        assert match is not None  # the handler's pattern
        action, draft_id = match["action"], match["draft"]
        zone = ZoneInfo(user.timezone or "UTC")
        draft = await self._drafts.get(user.id, draft_id)
        if draft is None:
            await query.answer(tr(lang, "This card has expired; send the reminder again."))
            return
        if action == "cancel":
            await self._drafts.discard(user.id, draft_id)
            await query.answer()
            await _edit(query.edit_message_text(tr(lang, "Cancelled.")))
        elif action == "change":
            await self._drafts.await_time(user.id, draft_id)
            await query.answer()
            if query.message is not None:
                await context.bot.send_message(
                    query.message.chat.id,
                    tr(lang, "When should I remind you about «{title}»? (e.g. tomorrow at 10)",
                       title=draft.title),
                )  # fmt: skip
        elif match["option"] is not None:
            chosen = await self._drafts.choose(user.id, draft_id, int(match["option"]))
            await query.answer()
            if chosen is not None:
                text, markup = self._card(chosen, None, zone, lang)
                await _edit(query.edit_message_text(text, reply_markup=markup))
        elif draft.remind_at is not None:  # save
            if self.save is None:
                await query.answer(tr(lang, "Saving tasks is not available yet."))
                return
            await self.save(user.id, draft.title, draft.remind_at, draft.repeat)
            await self._drafts.discard(user.id, draft_id)
            now = datetime.now(UTC).astimezone(zone)
            saved = tr(lang, "Saved: {title}, reminder {when}.", title=draft.title,
                       when=when_text(draft.remind_at.astimezone(zone), now, lang))  # fmt: skip
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


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _original(message: object) -> str | None:
    text = getattr(message, "text", None)
    match = ORIGINAL.search(text or "")
    return match["text"] if match else None


async def _edit(call: Awaitable[object]) -> None:
    try:
        await call
    except TelegramError:  # an unchanged or too old message: nothing to update
        log.info("could not edit a message", exc_info=True)


DAY_NAMES = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
SHORT_DAYS = [N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun")]


def describe_repeat(rule: str, lang: Lang, zone: ZoneInfo | None = None) -> str:
    """A short human reading of the simple rules; the others (COUNT, UNTIL, nth weekdays,
    yearly dates...) in the service's words (`dates.describe`)."""
    parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    freq, interval = parts.get("FREQ"), int(parts.get("INTERVAL", "1"))
    if freq == "YEARLY" or not parts.get("BYMONTHDAY", "1").isdigit():
        return describe(rule, lang, zone)  # a date, several days or the last: said in full
    if interval != 1 or set(parts) - {"FREQ", "BYDAY", "BYMONTHDAY", "BYHOUR", "BYMINUTE",
                                      "BYMONTH", "INTERVAL"}:  # fmt: skip
        return describe(rule, lang, zone)
    if freq == "HOURLY":
        return tr(lang, "every hour")
    if freq == "DAILY":
        return tr(lang, "every day")
    if freq == "WEEKLY" and "BYDAY" in parts:
        days = [DAY_NAMES.get(d) for d in parts["BYDAY"].split(",")]
        if None in days:
            return describe(rule, lang, zone)
        if sorted(days) == [0, 1, 2, 3, 4]:  # type: ignore[type-var]
            return tr(lang, "every weekday")
        names = ", ".join(tr(lang, SHORT_DAYS[d]) for d in days if d is not None)
        return tr(lang, "every week: {days}", days=names)
    if freq == "MONTHLY" and "BYMONTHDAY" in parts:
        return tr(lang, "every month on day {day}", day=parts["BYMONTHDAY"])
    return describe(rule, lang, zone)
