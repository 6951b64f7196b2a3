"""The app's database connection, which may come up after the app does.

A web process whose MongoDB does not answer at start keeps serving: `/health` answers 200,
`/ready` and every route that needs the database answer 503, and the process keeps trying;
when the server answers, the models are bound and the indexes ensured, and it is ready. A
platform restarting the process in a loop (the other choice) would say less and recover no
sooner. `python -m server migrate` (the release phase) still fails at once, with one line."""

from __future__ import annotations

import asyncio
import logging
import time

from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure, PyMongoError, ServerSelectionTimeoutError

from server.db.connection import init_models, ping
from server.db.types import Document
from server.errors import StartupError

log = logging.getLogger("server.db")

RETRY_PAUSE = 1.0  # seconds between attempts (each attempt itself waits up to MONGODB_TIMEOUT)
REPEAT_WARNING_EVERY = 60.0  # seconds: a long outage is logged once a minute, not per attempt
AUTH_FAILED = 18  # MongoDB's AuthenticationFailed


def describe_failure(exc: BaseException, where: str, timeout: float) -> str:
    """One line: which server, what went wrong, what to check."""
    if isinstance(exc, OperationFailure) and exc.code == AUTH_FAILED:
        return (
            f"database: MongoDB at {where} refused the credentials; check the user and "
            "password in MONGODB_URI"
        )
    if isinstance(exc, ServerSelectionTimeoutError):
        # PyMongo's text continues with the whole topology; its first part names the cause.
        reason = str(exc).split(", Timeout:")[0].split(" (configured timeouts")[0]
        return (
            f"database: MongoDB at {where} does not answer within {timeout:g}s ({reason[:200]}); "
            "check MONGODB_URI's host and port, that the server runs, and that this host may "
            "reach it (Atlas: the IP access list)"
        )
    return f"database: MongoDB at {where} failed: {type(exc).__name__}: {str(exc)[:200]}"


class Database:
    """The client, and whether the models are bound and the indexes in place (`ready`)."""

    def __init__(
        self, client: AsyncMongoClient[Document], db_name: str, where: str, timeout: float
    ) -> None:
        self.client = client
        self.where = where  # "host:port, …" for messages; never the URI (it may hold a password)
        self._db_name = db_name
        self._timeout = timeout
        self._ready = asyncio.Event()
        self._retrying: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def connect(self) -> None:
        """Bind the models and ensure the indexes now, or raise StartupError (one line)."""
        try:
            await init_models(self.client, self._db_name)
        except PyMongoError as exc:
            raise StartupError(describe_failure(exc, self.where, self._timeout)) from None
        self._ready.set()

    async def connect_or_keep_trying(self) -> None:
        """Connect now if the server answers; otherwise log one line and keep trying in the
        background, so the process serves meanwhile."""
        try:
            await self.connect()
        except StartupError as exc:
            log.warning("%s; serving anyway: /ready answers 503 until it answers", exc)
            self._retrying = asyncio.create_task(self._keep_trying(), name="database-connect")

    async def _keep_trying(self) -> None:
        started = last_warning = time.monotonic()
        while True:
            await asyncio.sleep(RETRY_PAUSE)
            try:
                await init_models(self.client, self._db_name)
            except Exception as exc:
                if time.monotonic() - last_warning >= REPEAT_WARNING_EVERY:
                    last_warning = time.monotonic()
                    log.warning(
                        "%s; still trying after %.0fs",
                        describe_failure(exc, self.where, self._timeout),
                        last_warning - started,
                        # Not the server's answer: a bug, worth its traceback.
                        exc_info=not isinstance(exc, PyMongoError),
                    )
                continue
            self._ready.set()
            log.info(
                "database: MongoDB at %s answers after %.1fs; indexes in place",
                self.where, time.monotonic() - started,
            )  # fmt: skip
            return

    async def check(self) -> bool:
        """Readiness: connected (models bound, indexes in place) and answering a ping now."""
        return self.ready and await ping(self.client, self._timeout)

    async def close(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            await asyncio.gather(self._retrying, return_exceptions=True)
