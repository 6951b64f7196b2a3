"""A service loop run beside the bot (reminder delivery, change notices): started once the
database answers, stopped within a bound at shutdown; and how their senders' Bot API errors
become what the loops understand."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from server.services.reminders.delivery import ChatMoved, ChatUnreachable, RetryLater, SendFailed

log = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0


class BackgroundLoop:
    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task[None] | None = None

    def start(
        self,
        run: Callable[[], Awaitable[None]],
        database_ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        async def main() -> None:
            if database_ready is not None:
                await database_ready()  # the models are bound once the database answered
            await run()

        self._task = asyncio.create_task(main(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            # Bounded: shutdown must not hang on a send in flight (its claim lapses anyway).
            done, _ = await asyncio.wait([self._task], timeout=STOP_TIMEOUT)
            if not done:
                log.warning("%s did not stop within %s s", self.name, STOP_TIMEOUT)


def retry_after_seconds(exc: RetryAfter) -> float:
    """Telegram's 429 wait, in seconds, whichever type PTB hands it as."""
    with warnings.catch_warnings():  # PTB 22.2+ warns that it will become a timedelta
        warnings.simplefilter("ignore")
        wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


@contextlib.contextmanager
def send_errors() -> Iterator[None]:
    """Around one send of a delivery loop (reminders, change notices): Telegram's 429 closes
    the shared gate, a blocked chat is unreachable, a group that became a supergroup moved,
    a refused message is not retried, anything else is."""
    try:
        yield
    except RetryAfter as exc:
        raise RetryLater(retry_after_seconds(exc)) from None
    except Forbidden:
        raise ChatUnreachable() from None
    except ChatMigrated as exc:
        raise ChatMoved(exc.new_chat_id) from None
    except BadRequest as exc:
        raise SendFailed(exc.message, permanent=True) from None
    except (NetworkError, TelegramError) as exc:
        raise SendFailed(type(exc).__name__) from None
