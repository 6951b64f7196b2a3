"""/export (the user's data as a JSON file) and /calendar (the private calendar feed: turn
it on, get a new link, turn it off). Thin: the data services decide everything."""

from __future__ import annotations

from datetime import UTC, datetime

from beanie import PydanticObjectId
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from server.services.portability.feed import feed_url
from server.telegram import callbacks as cb
from server.telegram.callbacks import FeedPress
from server.telegram.context import BotContext
from server.telegram.i18n import Lang, tr
from server.telegram.types import BotApp


class DataCommands:
    def add_to(self, application: BotApp) -> None:
        application.add_handler(CommandHandler("export", self.export))
        application.add_handler(CommandHandler("calendar", self.calendar))
        application.add_handler(CallbackQueryHandler(self.button, pattern=cb.claims(FeedPress)))

    async def _who(self, context: BotContext) -> tuple[PydanticObjectId, Lang] | None:
        user = await context.user()
        if user is None:
            return None
        assert user.id is not None
        return user.id, context.lang

    async def export(self, update: Update, context: BotContext) -> None:
        who, message = await self._who(context), update.effective_message
        if who is None or message is None:
            return
        user_id, lang = who
        # The file is assembled for the upload (Telegram takes a document whole); the
        # export's size is bounded by the account's (about 3 MB for 10,000 tasks).
        parts = [chunk async for chunk in context.services.exporter.chunks(user_id)]
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        await message.reply_document(
            InputFile(b"".join(parts), filename=f"tasks-export-{day}.json"),
            caption=tr(
                lang,
                "Everything I keep about you: lists, tasks, reminders, settings. "
                "Send this file to /api/import on another server to move there.",
            ),
        )

    async def calendar(self, update: Update, context: BotContext) -> None:
        who, message = await self._who(context), update.effective_message
        if who is None or message is None:
            return
        user_id, lang = who
        enabled = await context.services.feeds.status(user_id) is not None
        await message.reply_text(
            self._status(lang, enabled), reply_markup=self._buttons(lang, enabled)
        )

    async def button(self, update: Update, context: BotContext) -> None:
        query = update.callback_query
        who = await self._who(context)
        if query is None or who is None:
            return
        user_id, lang = who
        press = cb.parse(query.data)
        assert isinstance(press, FeedPress)  # the handler's pattern
        action = press.action
        feeds = context.services.feeds
        if action == "off":
            await feeds.disable(user_id)
            await query.edit_message_text(
                self._status(lang, False), reply_markup=self._buttons(lang, False)
            )
            await query.answer()  # after the edit: the spinner stops when the change is there
            return
        public_url = context.bot_data.public_url
        if public_url is None:
            await query.answer(
                tr(lang, "The calendar feed needs the server's public address (PUBLIC_URL)."),
                show_alert=True,
            )
            return
        token = await feeds.enable(user_id)
        await query.edit_message_text(
            tr(
                lang,
                "Your private calendar link (a new one: any older link has stopped working):\n"
                "{url}\n\nAdd it to Google Calendar (Other calendars → From URL), Apple "
                "Calendar (New Calendar Subscription) or Thunderbird. Anyone with the link can "
                "see your tasks: keep it to yourself.",
                url=feed_url(public_url, token),
            ),
            reply_markup=self._buttons(lang, True),
        )
        await query.answer()

    @staticmethod
    def _status(lang: Lang, enabled: bool) -> str:
        if enabled:
            return tr(
                lang,
                "Your calendar feed is on: your open tasks with a reminder or a due date show "
                "in your calendar app. A new link stops the old one.",
            )
        return tr(
            lang,
            "A calendar feed shows your open tasks with a reminder or a due date in Google, "
            "Apple or any calendar app, through a private link.",
        )

    @staticmethod
    def _buttons(lang: Lang, enabled: bool) -> InlineKeyboardMarkup:
        if not enabled:
            return InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            tr(lang, "Turn on"), callback_data=cb.data(FeedPress("new"))
                        )
                    ]
                ]
            )
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        tr(lang, "New link"), callback_data=cb.data(FeedPress("new"))
                    ),
                    InlineKeyboardButton(
                        tr(lang, "Turn off"), callback_data=cb.data(FeedPress("off"))
                    ),
                ]
            ]
        )
