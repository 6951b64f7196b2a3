"""The services of one process, as the adapters reach them (`request.app[SERVICES]`,
the bot's handlers). Built by the composition root, `server/bootstrap.py`."""

from __future__ import annotations

from dataclasses import dataclass

from server.services.access_gate import AccessGate
from server.services.accounts import Accounts
from server.services.admin import Admin
from server.services.auth import AuthService
from server.services.linking import TelegramLinking
from server.services.lists import Lists
from server.services.passwords import Passwords
from server.services.profile import Profiles
from server.services.recovery import PasswordRecovery
from server.services.reminder_drafts import ReminderDrafts
from server.services.reminders import Reminders
from server.services.sessions import Sessions
from server.services.tasks import Tasks
from server.services.telegram_channel import TelegramChannel
from server.services.tokens import AccessTokens
from server.services.updates import UpdateJournal
from server.services.users import Users
from server.services.widget import WidgetSignIn


@dataclass(frozen=True, slots=True)
class Services:
    passwords: Passwords
    access: AccessTokens
    auth: AuthService
    users: Users
    updates: UpdateJournal
    reminders: Reminders
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

    async def drain(self) -> None:
        """Finish background work (codes being sent) while the database and bot still run."""
        await self.recovery.drain()

    def close(self) -> None:
        self.passwords.close()
