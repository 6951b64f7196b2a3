"""Beanie documents shared by the API and the bot. Nothing here knows HTTP or Telegram."""

from beanie import Document

from models.account_codes import LinkCode, ResetCode, UsedLoginHash
from models.bot_question import BotQuestion
from models.change_batch import ChangeBatch
from models.data_links import CalendarFeed, ImportKey
from models.rate_counter import RateCounter
from models.refresh_session import RefreshSession, SpentRefreshToken
from models.reminder import Reminder, ReminderChat, ReminderDraft, ReminderPrefs, SendGate
from models.sharing import ListInvite, ListMember
from models.task import SearchPosting, Task, TaskTally
from models.task_list import TaskList
from models.telegram_update import TelegramUpdate
from models.user import User

ALL_MODELS: list[type[Document]] = [
    User,
    RefreshSession,
    SpentRefreshToken,
    TelegramUpdate,
    RateCounter,
    TaskList,
    Task,
    SearchPosting,
    TaskTally,
    LinkCode,
    ResetCode,
    UsedLoginHash,
    Reminder,
    ReminderChat,
    ReminderDraft,
    ReminderPrefs,
    SendGate,
    CalendarFeed,
    ImportKey,
    BotQuestion,
    ListMember,
    ListInvite,
    ChangeBatch,
]

__all__ = [
    "ALL_MODELS",
    "BotQuestion",
    "CalendarFeed",
    "ChangeBatch",
    "ImportKey",
    "LinkCode",
    "ListInvite",
    "ListMember",
    "RateCounter",
    "RefreshSession",
    "Reminder",
    "ReminderChat",
    "ReminderDraft",
    "ReminderPrefs",
    "ResetCode",
    "SearchPosting",
    "SendGate",
    "SpentRefreshToken",
    "Task",
    "TaskList",
    "TaskTally",
    "TelegramUpdate",
    "UsedLoginHash",
    "User",
]
