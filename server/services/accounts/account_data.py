"""The seam between accounts and the data users keep (lists, tasks, reminders, …).

Merging two accounts and deleting one are account rules (server/services/accounts/manage.py,
linking.py); what a user owns is other services' business. Each of those implements
`AccountDataOwner` and is registered once in the composition root (server/bootstrap.py,
`build_services(..., data_owners=...)`); the account services call every owner, in the order
given, and then move or erase the account's own records (sessions, codes, counters, the user).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from beanie import PydanticObjectId


@dataclass(frozen=True, slots=True)
class Holdings:
    """What a user keeps with one owner, as the linking confirmation screen counts it."""

    lists: int = 0  # lists of their own (built-in ones are merged, not moved)
    tasks: int = 0


class AccountDataOwner(Protocol):
    async def holdings(self, user_id: PydanticObjectId) -> Holdings:
        """How much `user_id` keeps here (what `move_all` would move): a couple of counts,
        cheap (an index lookup each), for the linking confirmation screen."""
        ...

    async def move_all(self, from_user_id: PydanticObjectId, to_user_id: PydanticObjectId) -> None:
        """Give everything `from_user_id` owns to `to_user_id` (an account merge).

        Must be idempotent and resumable: called again after a crash half-way, it moves what
        is left; nothing is lost or duplicated (e.g. the four built-in lists are merged by key,
        not copied). `to_user_id` exists; `from_user_id` is removed after every owner returns.
        """
        ...

    async def erase_user(self, user_id: PydanticObjectId) -> None:
        """Delete everything the user owns (account deletion, GDPR-style: nothing may remain).
        Idempotent: erasing an already erased user does nothing."""
        ...
