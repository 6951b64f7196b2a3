"""One object owns a webhook update's life: record it (durable, de-duplicated by update_id)
→ queue it → handlers run → mark it handled; and take over updates that a process which died
had acknowledged but not handled."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from pymongo.errors import PyMongoError
from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from server.observability.metrics import Metrics
from server.observability.request_context import bind_update_id
from server.services.updates import UpdateJournal
from server.telegram.context import BotContext, bot_data
from server.telegram.types import BotApp

log = logging.getLogger(__name__)

# After every handler group: the recorded update needs no replay (even if a handler failed:
# an update that breaks a handler must not be retried forever).
FINAL_GROUP = 1_000
FIRST_GROUP = -1_000  # before every handler: the update id joins the handling's log lines


async def stop_handling(update: Update, context: BotContext) -> NoReturn:
    """End this update's handling here: no later handler runs (ApplicationHandlerStop), and
    the update is still recorded as handled (that happens in FINAL_GROUP, which the stop
    skips; without it the update would be handled again after UPDATE_RETRY_AFTER)."""
    finish = context.bot_data.finish  # the intake's, in webhook mode
    if finish is not None:
        await finish(update, context)
    raise ApplicationHandlerStop


class UpdateIntake:
    def __init__(
        self, journal: UpdateJournal, application: BotApp,
        retry_after: float, metrics: Metrics,
        database_ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:  # fmt: skip
        self._journal = journal
        self._application = application
        self._retry_after = retry_after
        self._metrics = metrics
        self._database_ready = database_ready
        # Recorded updates this process is handling (their claims are kept alive), with the
        # time each was queued (for the handling lag).
        self._in_flight: dict[int, float] = {}
        self._failed: set[int] = set()
        self._sweeper: asyncio.Task[None] | None = None
        application.add_handler(TypeHandler(Update, self._started), group=FIRST_GROUP)
        application.add_handler(TypeHandler(Update, self._finished), group=FINAL_GROUP)
        application.add_error_handler(self._handler_failed)
        bot_data(application).finish = self._finished

    @property
    def in_flight(self) -> int:
        """How many recorded updates this process is handling now."""
        return len(self._in_flight)

    def parse(self, payload: dict[str, Any]) -> Update:
        """The update object, bound to our bot (so its reply shortcuts work)."""
        return Update.de_json(payload, self._application.bot)

    async def receive(self, update: Update, payload: dict[str, Any]) -> bool:
        """Record, then queue for handling; False when it was already recorded (a redelivery).
        A database failure propagates, so the webhook answers 503 and Telegram retries."""
        self._metrics.updates_received.inc()
        if not await self._journal.record(update.update_id, payload):
            self._metrics.updates_duplicate.inc()
            return False
        self._metrics.updates_recorded.inc()
        await self._enqueue(update)
        return True

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="update-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)

    async def _enqueue(self, update: Update) -> None:
        self._in_flight[update.update_id] = time.monotonic()
        await self._application.update_queue.put(update)

    async def _started(self, update: Update, context: BotContext) -> None:
        # The handlers of one update run in one task: the id stays bound for all of them.
        bind_update_id(update.update_id)

    async def _handler_failed(self, update: object, context: BotContext) -> None:
        if isinstance(update, Update) and update.update_id in self._in_flight:
            self._failed.add(update.update_id)
        if isinstance(context.error, PyMongoError):
            self._metrics.db_error(context.error)

    async def _finished(self, update: Update, context: BotContext) -> None:
        queued = self._in_flight.pop(update.update_id, None)
        if queued is not None:
            self._metrics.update_lag.observe(time.monotonic() - queued)
            if update.update_id in self._failed:
                self._failed.discard(update.update_id)
                self._metrics.updates_failed.inc()
            else:
                self._metrics.updates_handled.inc()
        try:
            await self._journal.mark_handled(update.update_id)
        except PyMongoError as exc:
            self._metrics.db_error(exc)
            log.warning(
                "could not mark update %s handled; it may be handled again", update.update_id
            )
        finally:
            bind_update_id(None)

    async def _sweep_forever(self) -> None:
        """Every half `retry_after`: renew this process's claims on the updates it is handling,
        and take over updates whose claim has lapsed (their process died)."""
        if self._database_ready is not None:
            await self._database_ready()  # the models are bound once the database answered
        while True:
            await self.sweep()
            await asyncio.sleep(self._retry_after / 2)

    async def sweep(self) -> int:
        try:
            await self._journal.renew_claims(list(self._in_flight))
            payloads = await self._journal.claim_stale(self._retry_after)
        except PyMongoError as exc:
            self._metrics.db_error(exc)
            log.warning("could not look for unhandled updates: %s", type(exc).__name__)
            return 0
        for payload in payloads:
            try:
                update = self.parse(payload)
            except Exception:
                log.exception("stored update %s cannot be parsed", payload.get("update_id"))
                continue
            self._metrics.updates_taken_over.inc()
            await self._enqueue(update)
        if payloads:
            log.warning("handling %d update(s) acknowledged but never handled", len(payloads))
        return len(payloads)
