"""Beanie documents shared by the API and the bot. Nothing here knows HTTP or Telegram."""

from beanie import Document

from models.account_codes import LinkCode, ResetCode, UsedLoginHash
from models.rate_counter import RateCounter
from models.refresh_session import RefreshSession, SpentRefreshToken
from models.reminder import Reminder, ReminderChat, ReminderDraft, ReminderPrefs, SendGate
from models.task import Task
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
    LinkCode,
    ResetCode,
    UsedLoginHash,
    Reminder,
    ReminderChat,
    ReminderDraft,
    ReminderPrefs,
    SendGate,
]

__all__ = [
    "ALL_MODELS",
    "LinkCode",
    "RateCounter",
    "RefreshSession",
    "Reminder",
    "ReminderChat",
    "ReminderDraft",
    "ReminderPrefs",
    "ResetCode",
    "SendGate",
    "SpentRefreshToken",
    "Task",
    "TaskList",
    "TelegramUpdate",
    "UsedLoginHash",
    "User",
]
