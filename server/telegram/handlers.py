"""Command handlers: each turns the update into a service call and the result into a reply."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from babel.dates import format_date
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, TypeHandler

from server.services.accounts.linking import LINK_PREFIX, LinkOutcome, LinkPreview, LinkResult
from server.services.common.errors import Conflict, CreationRateExceeded, QuotaExceeded
from server.services.dates.humanize import zone_text
from server.telegram import callbacks as cb
from server.telegram.callbacks import LinkPress
from server.telegram.context import BotContext
from server.telegram.i18n import Lang, language, ntr, tr
from server.telegram.intake import stop_handling
from server.telegram.sender import profile_of, telegram_language
from server.telegram.task_handlers import assistant_intro, example_keyboard
from server.telegram.types import BotApp

log = logging.getLogger(__name__)

# Before every other handler: a deactivated account gets a polite refusal and nothing else.
GATE_GROUP = -100
# The Mini App's account screen (password, sessions, linking): see docs/native-bot.md.
ACCOUNT_FRAGMENT = "#account"


class AccountCommands:
    """/start (the user and their four lists; also `/start link_<code>`, which asks to
    confirm), the link's Confirm / Cancel buttons, /unlink, /help, /me, /password; and the
    deactivated gate."""

    def add_to(self, application: BotApp) -> None:
        application.add_handler(TypeHandler(Update, self.refuse_deactivated), group=GATE_GROUP)
        application.add_handler(CommandHandler("start", self.start))
        application.add_handler(CommandHandler("help", self.help))
        application.add_handler(CommandHandler("me", self.me))
        application.add_handler(CommandHandler("password", self.password))
        application.add_handler(CommandHandler("unlink", self.unlink))
        application.add_handler(
            CallbackQueryHandler(self.link_button, pattern=cb.claims(LinkPress))
        )
        application.add_error_handler(on_error)

    async def refuse_deactivated(self, update: Update, context: BotContext) -> None:
        sender = update.effective_user
        if sender is None or sender.is_bot:
            return
        if await context.services.gate.telegram_account_active(sender.id):
            return
        if update.effective_message is not None:
            await update.effective_message.reply_text(
                tr(
                    telegram_language(update),
                    "Your account is deactivated, so I can't do anything for you. If you think "
                    "this is a mistake, please contact the administrator.",
                )
            )
        await stop_handling(update, context)

    async def start(self, update: Update, context: BotContext) -> None:
        profile = profile_of(update)
        if profile is None or update.effective_message is None:
            return
        if context.args and context.args[0].startswith(LINK_PREFIX):
            # Nothing is linked yet: the user first reads which account and what would move.
            code = context.args[0][len(LINK_PREFIX) :]
            lang = telegram_language(update)
            found = await context.services.linking.preview(code, profile)
            if isinstance(found, LinkPreview):
                await update.effective_message.reply_text(
                    link_question(lang, found), reply_markup=link_keyboard(lang, code)
                )
            elif (reply := link_reply(lang, found)) is not None:
                await update.effective_message.reply_text(reply)
            return
        # The gate (refuse_deactivated) has just looked this Telegram id up: a new user's
        # first /start is then an insert without a second look-up.
        absent = context.services.gate.telegram_user_absent(profile.telegram_id)
        user, created = await context.services.users.ensure_telegram_user(profile, absent=absent)
        assert user.id is not None
        await context.services.lists.ensure_builtins(user.id, just_read=True)  # Inbox, Today, …
        lang = language(user.language, profile.language_code)
        name = user.first_name or user.telegram_username or str(profile.telegram_id)
        if created:
            greeting = tr(lang, "Hello, {name}! I'm your to-do list and reminder.", name=name)
        else:
            greeting = tr(lang, "Welcome back, {name}!", name=name)
        await update.effective_message.reply_text(
            greeting + "\n\n" + assistant_intro(lang), reply_markup=example_keyboard(lang)
        )

    async def link_button(self, update: Update, context: BotContext) -> None:
        """Confirm or Cancel under the linking question. Only the Telegram account the
        question was shown to can use them (the service checks); anyone else's press, or a
        second press, changes nothing and gets a short notice."""
        query = update.callback_query
        profile = profile_of(update)
        if query is None or query.data is None or profile is None:
            return
        press = cb.parse(query.data)
        assert isinstance(press, LinkPress)  # the handler's pattern
        lang = telegram_language(update)
        code = press.code
        if press.confirm:
            result = await context.services.linking.redeem(code, profile)
        elif await context.services.linking.cancel(code, profile):
            result = LinkResult(LinkOutcome.CANCELLED)
        else:
            result = LinkResult(LinkOutcome.INVALID)
        reply = link_reply(lang, result)
        notice: str | None = None
        try:
            if result.outcome in (LinkOutcome.INVALID, LinkOutcome.BUSY):
                notice = reply  # the question stays as it is
            else:
                await query.edit_message_text(reply or "", reply_markup=None)
        except TelegramError as exc:  # the message is gone or too old to edit: say it here
            log.info("link button %s: message not edited: %s", query.id, exc)
            notice = reply
        try:  # answered last: once answered, the press is over
            await query.answer(notice, show_alert=notice is not None)
        except TelegramError as exc:  # too late (> 15 s) or already answered
            log.info("link button %s not answered: %s", query.id, exc)

    async def unlink(self, update: Update, context: BotContext) -> None:
        """Detach this Telegram account from its account (which keeps its data and is used
        with its username and password from now on); here the user starts afresh."""
        profile = profile_of(update)
        if profile is None or update.effective_message is None:
            return
        user = await context.services.users.find_by_telegram_id(profile.telegram_id)
        lang = language(user.language if user else None, profile.language_code)
        if user is None or user.id is None:
            text = tr(lang, "I don't know you yet. Send /start first.")
        elif not user.has_password or user.username is None:
            text = tr(
                lang,
                "This Telegram account is the only way into your account, so there is nothing "
                "to unlink. To use it on the web as well, see /password.",
            )
        else:
            try:
                await context.services.linking.unlink(user.id)
                text = tr(
                    lang,
                    "Done: this Telegram account is no longer linked to {name}. {name} keeps "
                    "all its lists and tasks; sign in to it on the web with its password. "
                    "Here you start afresh: send /start.",
                    name=user.username,
                )
            except Conflict:  # changed meanwhile (unlinked or linked elsewhere)
                text = tr(lang, "Please try again.")
        await update.effective_message.reply_text(text)

    async def help(self, update: Update, context: BotContext) -> None:
        if update.effective_message is None:
            return
        lang = await self._language(update, context)
        mini_app_url = context.bot_data.mini_app_url
        reply = (
            tr(lang, "I am your assistant.")
            + "\n\n"
            + assistant_intro(lang)
            + "\n"
            + tr(lang, "/me — your account; /password — signing in on the web")
            + "\n"
            + tr(
                lang,
                "/calendar, /export — your tasks elsewhere; /notify — news of shared lists; "
                "/unlink — detach this Telegram account",
            )
        )
        if mini_app_url is not None:
            reply += "\n\n" + tr(
                lang,
                "Your lists are also in the app: tap the “Tasks” button next to the message "
                "field, or open {url} in a browser.",
                url=mini_app_url,
            )
        await update.effective_message.reply_text(reply, reply_markup=example_keyboard(lang))

    async def _language(self, update: Update, context: BotContext) -> Lang:
        """The user's chosen language if they have one, else Telegram's."""
        profile = profile_of(update)
        if profile is None:
            return telegram_language(update)
        user = await context.services.users.find_by_telegram_id(profile.telegram_id)
        return language(user.language if user else None, profile.language_code)

    def _account_button(self, lang: Lang, mini_app_url: str | None) -> InlineKeyboardMarkup | None:
        """Opens the Mini App's account screen (password, sessions, linking)."""
        if mini_app_url is None:
            return None
        url = mini_app_url + ACCOUNT_FRAGMENT
        label = tr(lang, "Open my account")
        return InlineKeyboardMarkup([[InlineKeyboardButton(label, web_app=WebAppInfo(url))]])

    async def me(self, update: Update, context: BotContext) -> None:
        profile = profile_of(update)
        if profile is None or update.effective_message is None:
            return
        user = await context.services.users.find_by_telegram_id(profile.telegram_id)
        if user is None:
            await update.effective_message.reply_text(
                tr(telegram_language(update), "I don't know you yet. Send /start first.")
            )
            return
        lang = language(user.language, profile.language_code)
        now = datetime.now(UTC)
        name = " ".join(p for p in (user.first_name, user.last_name) if p) or tr(lang, "you")
        if user.telegram_username:
            name += f" (@{user.telegram_username})"
        if user.has_password and user.username:
            web = tr(lang, "as {username}, with your password", username=user.username)
        else:
            web = tr(lang, "not set up yet (/password tells how)")
        zone = zone_text(user.timezone, lang, now) if user.timezone else tr(
            lang, "not set (/timezone)"
        )  # fmt: skip
        since = format_date(user.created_at, "d MMMM y" if lang == "ru" else "MMMM d, y",
                            locale=lang)  # fmt: skip
        text = tr(
            lang,
            "Your account\n"
            "Name: {name}\n"
            "Web sign-in: {web}\n"
            "Time zone: {zone}\n"
            "Language: {language}\n"
            "With me since {since}",
            name=name, web=web, zone=zone, since=since,
            language="русский" if lang == "ru" else "English",
        )  # fmt: skip
        mini_app_url = context.bot_data.mini_app_url
        if mini_app_url is not None:
            text += "\n\n" + tr(
                lang, "Password, sessions and linking a web account: in the app, under Account."
            )
        await update.effective_message.reply_text(
            text, reply_markup=self._account_button(lang, mini_app_url)
        )

    async def password(self, update: Update, context: BotContext) -> None:
        """How to get (or recover) a password for the web, for this user's situation."""
        profile = profile_of(update)
        if profile is None or update.effective_message is None:
            return
        user = await context.services.users.find_by_telegram_id(profile.telegram_id)
        if user is None:
            lang = telegram_language(update)
            text = tr(lang, "I don't know you yet. Send /start first.")
        else:
            lang = language(user.language, profile.language_code)
            where = (
                tr(lang, "open the app (the button below), then Settings → Account.")
                if context.bot_data.mini_app_url is not None
                else tr(lang, "open the app's Settings → Account.")
            )
            if user.has_password and user.username:
                text = tr(
                    lang,
                    "You can sign in on the web as {username} with your password.\n"
                    "Forgot it? Tap “Forgot password” on the sign-in page: I will send you a "
                    "code here, good once, for 10 minutes.\n"
                    "To change it: {where}",
                    username=user.username, where=where,
                )  # fmt: skip
            else:
                text = tr(
                    lang,
                    "You sign in here through Telegram, so you need no password. To sign in "
                    "on the web too, choose a username and a password: {where}\n"
                    "Already have a web account? Link it there, and the two become one.",
                    where=where,
                )
        await update.effective_message.reply_text(
            text,
            reply_markup=self._account_button(lang, context.bot_data.mini_app_url)
            if user is not None
            else None,
        )


def link_question(lang: Lang, preview: LinkPreview) -> str:
    """The confirmation screen: which account, and what moves there."""
    name = preview.username or tr(lang, "a web account without a username")
    text = tr(lang, "Link this Telegram account to the web account {name}?", name=name)
    if preview.merge:
        text += "\n\n" + tr(
            lang,
            "Everything you have here moves there: {lists}, {tasks}. Your chats with me will "
            "then belong to {name}.",
            name=name,
            lists=ntr(lang, "{n} list of your own", "{n} lists of your own", preview.lists),
            tasks=ntr(lang, "{n} task", "{n} tasks", preview.tasks),
        )
    else:
        text += "\n\n" + tr(
            lang, "You will then use {name} here, and sign in to it with Telegram.", name=name
        )
    return (
        text
        + "\n\n"
        + tr(
            lang,
            "Confirm only if {name} is your own account and you asked for this link. You can "
            "undo the link later with /unlink.",
            name=name,
        )
    )


def link_keyboard(lang: Lang, code: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    tr(lang, "✅ Confirm"), callback_data=cb.data(LinkPress(True, code))
                ),
                InlineKeyboardButton(
                    tr(lang, "✖️ Cancel"), callback_data=cb.data(LinkPress(False, code))
                ),
            ]
        ]
    )


def link_reply(lang: Lang, result: LinkResult) -> str | None:
    """What the bot answers to `/start link_<code>` (None: say nothing, another handling of
    the same link answers)."""
    name = result.username or tr(lang, "your account")
    match result.outcome:
        case LinkOutcome.LINKED:
            return tr(
                lang,
                "Done: this Telegram account is now linked to {name}. You can sign in either way.",
                name=name,
            )
        case LinkOutcome.MERGED:
            return tr(
                lang,
                "Done: this Telegram account is now linked to {name}, and everything you had "
                "here (lists, tasks, reminders) moved there.",
                name=name,
            )
        case LinkOutcome.ALREADY_LINKED:
            return tr(lang, "This Telegram account is already linked to {name}.", name=name)
        case LinkOutcome.LINKED_ELSEWHERE:
            return tr(lang, "{name} is already linked to another Telegram account.", name=name)
        case LinkOutcome.BOTH_PASSWORDS:
            return tr(
                lang,
                "I can't merge the two accounts: your Telegram account has its own password, "
                "and so does {name}. Keep one of them: sign in to the other and delete it "
                "(DELETE /api/auth/me), then create a new link.",
                name=name,
            )
        case LinkOutcome.DEACTIVATED:
            return tr(
                lang,
                "One of the accounts is deactivated, so I can't link them. Please contact the "
                "administrator.",
            )
        case LinkOutcome.BUSY:
            return None
        case LinkOutcome.CANCELLED:
            return tr(lang, "Cancelled: nothing was linked, and the link no longer works.")
        case _:
            return tr(
                lang,
                "This link does not work: it has expired or was already used. Create a new "
                "one and open it within 10 minutes.",
            )


def quota_text(lang: Lang, error: BaseException | None) -> str | None:
    """What the bot says when a quota refuses what the user asked (any handler), or None."""
    if isinstance(error, CreationRateExceeded):
        return ntr(
            lang,
            "You are adding tasks very fast. Please wait {n} second and try again.",
            "You are adding tasks very fast. Please wait {n} seconds and try again.",
            error.retry_after,
        )
    if not isinstance(error, QuotaExceeded):
        return None
    if error.kind == "lists":
        return ntr(
            lang,
            "You already have {n} list of your own, the most I can keep. Delete one you no "
            "longer need, then try again.",
            "You already have {n} lists of your own, the most I can keep. Delete one you no "
            "longer need, then try again.",
            error.limit,
        )
    if error.kind == "reminders":
        return ntr(
            lang,
            "You already have {n} active reminder, the most I can keep. Complete or delete "
            "one, then try again.",
            "You already have {n} active reminders, the most I can keep. Complete or delete "
            "some, then try again.",
            error.limit,
        )
    return ntr(
        lang,
        "You already have {n} task, the most I can keep. Delete tasks you no longer need "
        "(done ones too), then try again.",
        "You already have {n} tasks, the most I can keep. Delete tasks you no longer need "
        "(done ones too), then try again.",
        error.limit,
    )


async def on_error(update: object, context: BotContext) -> None:
    """Log with the update id and apologise (or say which quota is full); never let a
    handler error reach the app."""
    update_id = update.update_id if isinstance(update, Update) else None
    lang = telegram_language(update) if isinstance(update, Update) else "en"
    polite = quota_text(lang, context.error)
    if polite is None:
        log.error("handler failed for update %s", update_id, exc_info=context.error)
    else:
        log.info("update %s refused by a quota: %s", update_id, context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id,
                polite or tr(lang, "Sorry, something went wrong. Please try again later."),
            )
        except Exception:
            log.warning("could not send the apology for update %s", update_id, exc_info=True)
