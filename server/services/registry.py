"""The services of one process, as the adapters reach them (`request.app[SERVICES]`,
the bot's handlers). Built by the composition root, `server/bootstrap.py`."""

from __future__ import annotations

from dataclasses import dataclass

from server.services.auth import AuthService
from server.services.lists import Lists
from server.services.passwords import Passwords
from server.services.profile import Profiles
from server.services.reminder_drafts import ReminderDrafts
from server.services.reminders import Reminders
from server.services.tasks import Tasks
from server.services.tokens import AccessTokens
from server.services.updates import UpdateJournal
from server.services.users import Users


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

    def close(self) -> None:
        self.passwords.close()
