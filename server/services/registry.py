"""The services of one process, as the adapters reach them (`request.app[SERVICES]`,
the bot's handlers). Built by the composition root, `server/bootstrap.py`."""

from __future__ import annotations

from dataclasses import dataclass

from server.services.accounts.access_gate import AccessGate
from server.services.accounts.admin import Admin
from server.services.accounts.auth import AuthService
from server.services.accounts.linking import TelegramLinking
from server.services.accounts.manage import Accounts
from server.services.accounts.passwords import Passwords
from server.services.accounts.profile import Profiles
from server.services.accounts.recovery import PasswordRecovery
from server.services.accounts.sessions import Sessions
from server.services.accounts.telegram_channel import TelegramChannel
from server.services.accounts.tokens import AccessTokens
from server.services.accounts.users import Users
from server.services.accounts.widget import WidgetSignIn
from server.services.portability.export import Exporter
from server.services.portability.feed import CalendarFeeds
from server.services.portability.importer import Importer
from server.services.reminders.delivery import ReminderDelivery
from server.services.reminders.drafts import ReminderDrafts
from server.services.reminders.planning import ReminderPlanning
from server.services.reminders.preferences import ReminderPreferences
from server.services.reminders.questions import Questions
from server.services.sharing.groups import Groups
from server.services.sharing.notices import ChangeNotices
from server.services.sharing.service import Sharing
from server.services.tasks.lists import Lists
from server.services.tasks.service import Tasks
from server.services.updates import UpdateJournal


@dataclass(frozen=True, slots=True)
class Services:
    passwords: Passwords
    access: AccessTokens
    auth: AuthService
    users: Users
    updates: UpdateJournal
    reminders: ReminderDelivery  # the delivery loop (run by the bot) and chat reachability
    planning: ReminderPlanning  # a task's reminder made to match it (the tasks service's)
    reminder_prefs: ReminderPreferences  # quiet hours and the morning digest
    profiles: Profiles
    drafts: ReminderDrafts
    lists: Lists
    tasks: Tasks
    gate: AccessGate
    sessions: Sessions
    accounts: Accounts
    recovery: PasswordRecovery
    linking: TelegramLinking
    widget: WidgetSignIn
    admin: Admin
    telegram: TelegramChannel
    feeds: CalendarFeeds
    exporter: Exporter
    importer: Importer
    questions: Questions
    sharing: Sharing
    groups: Groups  # a Telegram group's list (docs/sharing.md, "Group chats")
    notices: ChangeNotices  # shared lists' change notifications (sent by the bot's loop)

    async def drain(self) -> None:
        """Finish background work (codes being sent) while the database and bot still run."""
        await self.recovery.drain()

    def close(self) -> None:
        self.passwords.close()
