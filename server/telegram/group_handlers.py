"""The bot in a group chat: the group's list (docs/sharing.md, "Group chats").

`/list` shows it with ✅ buttons, `/add <text>` (or a reply to one of the bot's messages)
adds to it, read by the same capture path as a private chat's `/new`, so a time makes a
reminder, which goes to the group. Everyone acts with their own Telegram identity: a member
who never talked to the bot is created on their first action and becomes an editor of the
group's list (the groups service decides; this turns updates into its calls). It all works
with privacy mode on: the bot only needs commands, replies to it and button presses.
`my_chat_member` and the migration service messages keep the list through the bot's
removal and the group's upgrade to a supergroup. Replies are in the language of whoever
acted; what the bot says unasked (the greeting) in the language of whoever added it."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from models import TaskList, User
from server.services.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    TaskNotFound,
    UserNotFound,
)
from server.services.dates.humanize import Humanizer
from server.services.registry import Services
from server.services.tasks.capture import capture as read_text
from server.services.tasks.service import NOTES_MAX_LENGTH, TaskDraft, title_and_notes
from server.services.tasks.views import TaskView
from server.telegram import callbacks as cb
from server.telegram import keyboards as kb
from server.telegram.callbacks import GroupDone, GroupPage, ReminderPress
from server.telegram.context import BotContext
from server.telegram.i18n import Lang, ntr, tr
from server.telegram.texts import COMMANDS
from server.telegram.types import BotApp

log = logging.getLogger(__name__)

GROUPS = filters.ChatType.GROUPS
# my_chat_member in a handler group of its own: the reminders' handler (group 0) takes every
# such update (it looks at private chats only) and would hide it from a second one there.
GROUP_EVENTS = 1
# A reminder's button pressed in a group: its presser is enlisted before the reminders'
# handler (group 0) acts for them with the access rule.
ENLIST_GROUP = -5
LINE_TITLE_LENGTH = 200
# In a group, the commands about one's own lists and account would show them to everyone.
PRIVATE_ONLY = [name for name, _ in COMMANDS if name not in ("start", "help", "new")]
IN_GROUP = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


@dataclass(frozen=True, slots=True)
class Actor:
    user: User
    lang: Lang

    @property
    def user_id(self) -> str:
        return str(self.user.id)


def help_text(lang: Lang) -> str:
    return tr(
        lang,
        "In this group I keep the group's list:\n"
        "/list — the list; ✅ marks a task done\n"
        "/add milk — add a task; /add milk tomorrow at 9 — with a reminder, sent here\n"
        "Or reply to one of my messages with a task.\n"
        "\n"
        "Privacy mode: in a group I see only commands and replies to my messages, never your "
        "conversation. Your own lists and reminders are in a private chat with me.",
    )


def full_text(lang: Lang) -> str:
    return tr(
        lang,
        "I can't add you to this group's list: it has as many members as it can have, or you "
        "are in too many shared lists already.",
    )


class GroupChats:
    def add_to(self, application: BotApp) -> None:
        """First of all handlers (group 0 takes the first that matches): in a group these
        commands are the group's, not the private chat's."""
        application.add_handler(CommandHandler("list", self.show, filters=GROUPS))
        application.add_handler(CommandHandler(["add", "new"], self.add, filters=GROUPS))
        application.add_handler(CommandHandler(["help", "start"], self.help, filters=GROUPS))
        application.add_handler(CommandHandler(PRIVATE_ONLY, self.private_only, filters=GROUPS))
        application.add_handler(
            MessageHandler(GROUPS & filters.StatusUpdate.MIGRATE, self.migrated)
        )
        application.add_handler(
            MessageHandler(GROUPS & filters.REPLY & filters.TEXT & ~filters.COMMAND, self.reply)
        )
        application.add_handler(
            CallbackQueryHandler(self.button, pattern=cb.claims(GroupPage, GroupDone))
        )
        application.add_handler(
            ChatMemberHandler(self.membership, ChatMemberHandler.MY_CHAT_MEMBER),
            group=GROUP_EVENTS,
        )
        application.add_handler(
            CallbackQueryHandler(self.enlist_presser, pattern=cb.claims(ReminderPress)),
            group=ENLIST_GROUP,
        )

    # Who acts

    async def _actor(self, context: BotContext) -> Actor | None:
        user = await context.user()
        return Actor(user, context.lang) if user is not None else None

    async def _open(self, update: Update, context: BotContext, actor: Actor) -> TaskList | None:
        """The group's list for the actor (made, or them enlisted); None when a sharing quota
        refuses them (and they were told)."""
        chat = update.effective_chat
        assert chat is not None
        try:
            task_list, _ = await context.services.groups.open(chat.id, chat.title, actor.user_id)
        except Conflict:
            if update.effective_message is not None and update.callback_query is None:
                await update.effective_message.reply_text(full_text(actor.lang))
            elif update.callback_query is not None:
                with contextlib.suppress(TelegramError):
                    await update.callback_query.answer(full_text(actor.lang), show_alert=True)
            return None
        return task_list

    async def _texts(
        self, services: Services, actor: Actor, task_list: TaskList
    ) -> tuple[Humanizer, bool]:
        """Times in the actor's zone, else the list owner's (the group's best guess), else UTC
        (True: nobody's zone is known)."""
        now = services.tasks.clock()
        zone = actor.user.timezone
        if zone is None and task_list.user_id != actor.user_id:
            with contextlib.suppress(UserNotFound):
                zone = (await services.users.get(task_list.user_id)).timezone
        return Humanizer.for_user(actor.lang, zone, now), zone is None

    # Commands and replies

    async def help(self, update: Update, context: BotContext) -> None:
        message, actor = update.effective_message, await self._actor(context)
        if message is None or actor is None:
            return
        await message.reply_text(help_text(actor.lang))

    async def private_only(self, update: Update, context: BotContext) -> None:
        message, actor = update.effective_message, await self._actor(context)
        if message is None or actor is None:
            return
        await message.reply_text(
            tr(
                actor.lang,
                "That one is for a private chat with me: here I keep the group's list "
                "(/list, /add).",
            )
        )

    async def show(self, update: Update, context: BotContext) -> None:
        message, actor = update.effective_message, await self._actor(context)
        if message is None or actor is None:
            return
        task_list = await self._open(update, context, actor)
        if task_list is None:
            return
        text, markup = await self._render(context.services, actor, task_list, 0)
        await message.reply_text(text, reply_markup=markup)

    async def add(self, update: Update, context: BotContext) -> None:
        message, actor = update.effective_message, await self._actor(context)
        if message is None or actor is None:
            return
        text = " ".join(context.args or [])[:NOTES_MAX_LENGTH]
        if not text.strip():
            await message.reply_text(
                tr(actor.lang, "Send /add and the task, e.g. /add milk tomorrow at 9")
            )
            return
        await self._add(update, context, message, actor, text)

    async def reply(self, update: Update, context: BotContext) -> None:
        """A reply to one of the bot's messages is a task for the group's list (privacy
        mode lets these through; a reply to anyone else never reaches the bot there)."""
        message = update.effective_message
        if message is None or message.reply_to_message is None:
            return
        replied_to = message.reply_to_message.from_user
        if replied_to is None or replied_to.id != context.bot.id:
            return
        actor = await self._actor(context)
        if actor is None or not (message.text or "").strip():
            return
        await self._add(update, context, message, actor, message.text or "")

    async def _add(
        self, update: Update, context: BotContext, message: Message, actor: Actor, text: str
    ) -> None:
        task_list = await self._open(update, context, actor)
        if task_list is None:
            return
        texts, no_zone = await self._texts(context.services, actor, task_list)
        read = read_text(text, texts.now, texts.zone)
        # No confirmation card in a group: the clear reading, else the likeliest one (the
        # reply says which, so anyone can correct it); a time that cannot be read at all
        # ("at 10 or at 11") leaves the text whole, as a task without a reminder.
        chosen = read.reading or (read.options[0] if read.options else None)
        if read.has_time and chosen is not None:
            draft = read.draft(chosen)
        else:
            title, notes = title_and_notes(text)
            draft = TaskDraft(title=title, notes=notes)
        draft = dataclasses.replace(draft, list_ref=str(task_list.id))
        lang = actor.lang
        try:
            task = await context.services.tasks.create(actor.user_id, draft)
        except Forbidden:  # made a viewer of the group's list by its owner
            await message.reply_text(tr(lang, "You can only view this shared list."))
            return
        except InvalidInput:
            await message.reply_text(
                tr(lang, "I couldn't add that. Try it like this: /add milk tomorrow at 9")
            )
            return
        status = tr(lang, "Added to “{list}”: {title}.", list=task_list.name or "",
                    title=kb.short(task.title, LINE_TITLE_LENGTH))  # fmt: skip
        if task.remind_at is not None:
            status += " " + tr(lang, "I will remind this group {when}.",
                               when=texts.when(task.remind_at))  # fmt: skip
            if no_zone:
                status += " " + tr(
                    lang, "(UTC: tell me your time zone with /timezone in a private chat.)"
                )
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(tr(lang, "📋 The list"), callback_data=cb.data(GroupPage(0)))]]
        )
        await message.reply_text(status, reply_markup=markup)

    # The list and its buttons

    async def _render(
        self, services: Services, actor: Actor, task_list: TaskList, page: int
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        lid = str(task_list.id)
        size = kb.PAGE_SIZE
        _, items, total = await services.tasks.window(actor.user_id, lid, page * size, size)
        if not items and page > 0:  # the page emptied meanwhile: the last one
            page = max(0, -(-total // size) - 1)
            _, items, total = await services.tasks.window(actor.user_id, lid, page * size, size)
        lang, name = actor.lang, task_list.name or ""
        hint = tr(lang, "Add a task: /add milk tomorrow at 9, or reply to this message.")
        if total == 0:
            return tr(lang, "{list}: no open tasks.", list=name) + "\n\n" + hint, None
        texts, _ = await self._texts(services, actor, task_list)
        head = name + ": " + ntr(lang, "{n} open task", "{n} open tasks", total)
        pages = -(-total // size)
        if pages > 1:
            head += "\n" + tr(lang, "Page {page} of {pages}", page=page + 1, pages=pages)
        lines = [
            f"{page * size + i + 1}. {kb.short(task.title, LINE_TITLE_LENGTH)}" + _when(task, texts)
            for i, task in enumerate(items)
        ]
        text = head + "\n\n" + "\n".join(lines) + "\n\n" + hint
        return text, kb.group_list_keyboard(items, page, total)

    async def button(self, update: Update, context: BotContext) -> None:
        """✅ and the pages under a group's list: every press is answered."""
        query = update.callback_query
        if query is None:
            return
        notice: str | None = None
        try:
            notice = await self._press(update, context)
        finally:
            with contextlib.suppress(TelegramError):  # too late, or answered already
                await query.answer(notice)

    async def _press(self, update: Update, context: BotContext) -> str | None:
        query, chat = update.callback_query, update.effective_chat
        actor = await self._actor(context)
        assert query is not None
        if actor is None:
            return None
        action = cb.parse(query.data)
        if (
            not isinstance(action, GroupPage | GroupDone)
            or chat is None
            or chat.type not in (chat.GROUP, chat.SUPERGROUP)  # a group list's data elsewhere
            or not isinstance(query.message, Message)
        ):
            return tr(actor.lang, "This button no longer works.")
        task_list = await self._open(update, context, actor)
        if task_list is None:
            return None  # answered with the reason
        notice = None
        if isinstance(action, GroupDone):
            notice = await self._complete(context.services, actor, action.task_id)
        text, markup = await self._render(context.services, actor, task_list, action.page)
        try:
            await query.edit_message_text(text, reply_markup=markup)
        except BadRequest as exc:  # "not modified" (a second press) or too old to edit
            log.info("callback query %s: message not edited: %s", query.id, exc)
        return notice

    async def _complete(self, services: Services, actor: Actor, task_id: str) -> str:
        lang, tasks = actor.lang, services.tasks
        try:
            task = await tasks.get(actor.user_id, task_id)
            if task.done:
                return tr(lang, "Already done.")
            await tasks.complete(actor.user_id, task_id)
        except TaskNotFound:
            return tr(lang, "This task no longer exists.")
        except Forbidden:
            return tr(lang, "You can only view this shared list.")
        return tr(lang, "Done ✓")

    async def enlist_presser(self, update: Update, context: BotContext) -> None:
        """A reminder's button in a group: whoever presses acts on the group's task, so they
        are enlisted like any member acting there (the reminders' handler does the rest)."""
        chat = update.effective_chat
        if chat is None or chat.type not in (chat.GROUP, chat.SUPERGROUP):
            return
        task_list = await context.services.groups.find(chat.id)
        actor = await self._actor(context) if task_list is not None else None
        if task_list is None or actor is None:
            return
        with contextlib.suppress(Conflict):  # then the press is refused like a stranger's
            await context.services.sharing.enlist(actor.user_id, task_list)

    # The chat itself

    async def migrated(self, update: Update, context: BotContext) -> None:
        """The group became a supergroup: both chats say so (the old one with the new id, the
        new one with the old); either moves the list, the second finds nothing to do."""
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id is not None:
            await context.services.groups.migrate(message.chat.id, message.migrate_to_chat_id)
        elif message.migrate_from_chat_id is not None:
            await context.services.groups.migrate(message.migrate_from_chat_id, message.chat.id)

    async def membership(self, update: Update, context: BotContext) -> None:
        """The bot added to a group (greet, with how to use it; the list is made, or is the
        one the group had), or removed (the list stays; nothing is sent there any more)."""
        change = update.my_chat_member
        if change is None or change.chat.type not in (change.chat.GROUP, change.chat.SUPERGROUP):
            return
        chat = change.chat
        was_in = change.old_chat_member.status in IN_GROUP
        now_in = change.new_chat_member.status in IN_GROUP
        if was_in and not now_in:
            await context.services.groups.left(chat.id)
            return
        if now_in and not was_in:
            actor = await self._actor(context)
            if actor is None:
                return
            task_list, created = await context.services.groups.added(
                chat.id, chat.title, actor.user_id
            )
            name = task_list.name or ""
            if created:
                hello = tr(actor.lang, "Hello! I will keep this group's list, “{list}”.",
                           list=name)  # fmt: skip
            else:
                hello = tr(actor.lang, "I'm back. This group's list, “{list}”, is as it was.",
                           list=name)  # fmt: skip
            await context.bot.send_message(chat.id, hello + "\n\n" + help_text(actor.lang))


def _when(task: TaskView, texts: Humanizer) -> str:
    parts = []
    if (when := texts.task_when(task.remind_at, task.due)) is not None:
        parts.append("🕒 " + when)
    if (repeat := texts.repeat(task.repeat)) is not None:
        parts.append("🔁 " + repeat)
    return ("\n    " + "  ".join(parts)) if parts else ""
