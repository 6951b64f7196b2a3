"""The data service's part in account merges and deletions (an AccountDataOwner, see
server/services/accounts/account_data.py): the feed secret and the import keys."""

from __future__ import annotations

from beanie import PydanticObjectId

from models.data_links import CalendarFeed, ImportKey
from server.services.accounts.account_data import Holdings
from server.services.common.mongo import eq


class DataLinks:
    async def holdings(self, user_id: PydanticObjectId) -> Holdings:
        """Nothing a person counts: a feed URL and import keys are not lists or tasks."""
        return Holdings()

    async def move_all(self, from_user_id: PydanticObjectId, to_user_id: PydanticObjectId) -> None:
        """A merged-away account's feed URL stops working (the kept account has its own or
        turns one on); its import keys go (their tasks moved: a re-import could duplicate
        them, which is better than a key naming another user). Idempotent."""
        await self.erase_user(from_user_id)

    async def erase_user(self, user_id: PydanticObjectId) -> None:
        uid = str(user_id)
        await CalendarFeed.get_pymongo_collection().delete_one({"_id": uid})
        await ImportKey.get_pymongo_collection().delete_many(eq(user_id=uid))
