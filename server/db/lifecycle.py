"""The database for the app's lifetime: embedded or MONGODB_URI, client, models."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from pymongo.uri_parser import parse_uri

from config import Settings
from server.db.connection import make_client
from server.db.database import Database
from server.db.embedded import EmbeddedMongo, is_loopback
from server.db.types import Document
from server.errors import StartupError

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_database(settings: Settings, *, wait: bool = False) -> AsyncIterator[Database]:
    """Start the embedded server when MONGODB_URI is unset, connect, bind the models
    (ensuring indexes); on exit close the client, then stop the embedded server.

    A MONGODB_URI server that does not answer is a StartupError (one line) when `wait` is
    false (`migrate`); with `wait` the database connects in the background when it comes up
    (the web process, see server/db/database.py). The embedded server must always answer."""
    embedded: EmbeddedMongo | None = None
    client: AsyncMongoClient[Document] | None = None
    database: Database | None = None
    try:
        if settings.mongodb_uri is None:
            if not is_loopback(settings.host):
                # The embedded server has no authentication: it is for one developer's
                # machine, never for a service others can reach.
                raise StartupError(
                    f"the embedded database is for local development only, but HOST="
                    f"{settings.host} is not loopback; set MONGODB_URI, or HOST=127.0.0.1"
                )
            embedded = EmbeddedMongo(settings.data_dir)
            await asyncio.to_thread(embedded.start)
            uri = embedded.uri
            where = f"{embedded.host}:{embedded.port}"
            log.info(
                "database: embedded nx-27017 on %s:%s, data in %s",
                embedded.host, embedded.port, embedded.data_dir,
            )  # fmt: skip
        else:
            uri = settings.mongodb_uri.get_secret_value()
            where = _hosts(uri)
            log.info("database: MongoDB at %s (MONGODB_URI), db %s", where, settings.mongodb_db)
        try:
            client = make_client(uri, settings.mongodb_timeout)
        except PyMongoError as exc:  # e.g. a mongodb+srv:// name that does not resolve
            raise StartupError(f"database: MONGODB_URI ({where}): {exc}") from None
        database = Database(client, settings.mongodb_db, where, settings.mongodb_timeout)
        if wait and embedded is None:
            await database.connect_or_keep_trying()
        else:
            await database.connect()
        yield database
    finally:
        if database is not None:
            await database.close()
        if client is not None:
            await client.close()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
            log.info("database: embedded nx-27017 stopped")


def _hosts(uri: str) -> str:
    try:
        nodes = parse_uri(uri)["nodelist"]
    except (PyMongoError, ValueError) as exc:  # malformed, or an SRV name that does not resolve
        raise StartupError(f"database: MONGODB_URI cannot be used: {exc}") from None
    return ", ".join(f"{host}:{port}" for host, port in nodes) or "SRV"
