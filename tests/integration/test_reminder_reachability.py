"""Whether a chat is reachable again after a block: what one process remembers (a chat found
not blocked is not asked about for REACHABLE_FOR seconds, by the service's own clock) and what
it must never answer from memory (Telegram's unblock update), with a block recorded by another
process on the same database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.services.reminders.delivery import DeliverySettings, ReminderDelivery
from server.services.reminders.reachability import REACHABLE_FOR
from tests.clock import SteppedClock
from tests.integration.test_reminders_service import bound, make_user  # noqa: F401

CHAT = 4242


def processes(clock: SteppedClock) -> tuple[ReminderDelivery, ReminderDelivery]:
    settings = DeliverySettings(send_rate=1000, lease=30)
    return ReminderDelivery(settings, clock), ReminderDelivery(settings, clock)


async def test_a_chat_found_reachable_is_asked_about_again_after_reachable_for(
    bound: Any,  # noqa: F811 - the imported fixture
):
    clock = SteppedClock(datetime(2026, 3, 28, 9, tzinfo=UTC))
    this, other = processes(clock)
    user = await make_user(bound, CHAT)
    assert await this.chat_back(CHAT) is False  # nothing blocked: remembered
    await other.chat_blocked(CHAT, user)  # another process records a block
    clock.ms += int(REACHABLE_FOR * 1000) - 1
    assert await this.chat_back(CHAT) is False  # still remembered: not asked
    clock.ms += 1
    assert await this.chat_back(CHAT) is True  # asked again: the block is lifted
    assert await bound.reminder_chats.find_one({"_id": CHAT, "blocked_ms": {"$gt": 0}}) is None


async def test_an_unblock_update_is_neither_answered_from_memory_nor_remembered(
    bound: Any,  # noqa: F811 - the imported fixture
):
    clock = SteppedClock(datetime(2026, 3, 28, 9, tzinfo=UTC))
    this, other = processes(clock)
    user = await make_user(bound, CHAT)
    assert await this.chat_back(CHAT) is False  # remembered as reachable
    await other.chat_blocked(CHAT, user)
    assert await this.chat_back(CHAT, unblocked=True) is True  # looked up, not remembered
    # An unblock that finds nothing blocked (the block is still being recorded elsewhere) is
    # not remembered either: the user's next message finds the block.
    assert await this.chat_back(CHAT + 1, unblocked=True) is False
    await other.chat_blocked(CHAT + 1, await make_user(bound, CHAT + 1))
    assert await this.chat_back(CHAT + 1) is True
