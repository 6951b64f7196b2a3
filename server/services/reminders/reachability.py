"""Whether a user's chat takes our messages. A 403 on send, or a `my_chat_member` update with
status `kicked`, marks the chat unreachable and pauses the user's reminders (new ones are
planned paused); any message or button press from the user (or `my_chat_member` → member)
resumes them, and the ones that fell due meanwhile go out then, late."""

from __future__ import annotations

import logging

from beanie import PydanticObjectId

from models import User
from server.services.common.mongo import eq
from server.services.reminders import store
from server.services.reminders.clock import Clock, Wakeup

log = logging.getLogger(__name__)

REACHABLE_FOR = 5.0  # seconds a chat found not blocked is not asked about again (chat_back)
MAX_REACHABLE = 100_000


class ChatReachability:
    def __init__(self, clock: Clock, wakeup: Wakeup) -> None:
        self.clock = clock
        self._wakeup = wakeup  # resumed reminders may be due: the delivery loop looks at once
        self._reachable: dict[int, int] = {}  # chat id -> found not blocked until (clock ms)

    async def chat_blocked(self, chat_id: int, user_id: PydanticObjectId | None = None) -> None:
        """The user blocked the bot: pause their reminders until they write again."""
        if user_id is None:
            user = await User.find_one(eq(telegram_id=chat_id))
            if user is None or user.id is None:
                return
            user_id = user.id
        self._reachable.pop(chat_id, None)
        await store.block(chat_id, user_id, self.clock.now_ms())
        log.info("chat %s unreachable: its reminders are paused", chat_id)

    async def chat_back(self, chat_id: int, *, unblocked: bool = False) -> bool:
        """The user wrote again (`unblocked`: Telegram said they unblocked the bot): resume.
        One cheap write when the chat was never blocked, so it can run on every incoming
        update; and a chat found not blocked is not asked about again for REACHABLE_FOR
        seconds on the "wrote again" path (a database round trip per update saved). A block
        noted by another process within that time is lifted by Telegram's unblock update
        (`unblocked`, never cached: a blocked user can write only after unblocking), else by
        a message once the entry has expired."""
        now = self.clock.now_ms()
        if not unblocked and self._reachable.get(chat_id, 0) > now:
            return False
        if not await store.unblock(chat_id):
            # Not remembered after an unblock update: another process may be recording a
            # block this one has not seen yet, and the user's next message must find it.
            if not unblocked:
                if len(self._reachable) >= MAX_REACHABLE:
                    self._reachable.clear()  # a crude bound: refilling costs a write per chat
                self._reachable[chat_id] = now + int(REACHABLE_FOR * 1000)
            return False
        self._wakeup.now()
        log.info("chat %s reachable again: its reminders resume", chat_id)
        return True
