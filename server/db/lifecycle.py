"""The database for the app's lifetime: embedded or MONGODB_URI, client, models."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pymongo import AsyncMongoClient
from pymongo.uri_parser import parse_uri

from config import Settings
from server.db.connection import init_models, make_client
from server.db.embedded import EmbeddedMongo, is_loopback
from server.db.types import Document
from server.errors import StartupError

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[AsyncMongoClient[Document]]:
    """Start the embedded server when MONGODB_URI is unset, connect, bind the models
    (ensuring indexes); on exit close the client, then stop the embedded server."""
    embedded: EmbeddedMongo | None = None
    client: AsyncMongoClient[Document] | None = None
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
            log.info(
                "database: embedded nx-27017 on %s:%s, data in %s",
                embedded.host, embedded.port, embedded.data_dir,
            )  # fmt: skip
        else:
            uri = settings.mongodb_uri.get_secret_value()
            hosts = ", ".join(f"{h}:{p}" for h, p in parse_uri(uri)["nodelist"]) or "SRV"
            log.info("database: MongoDB at %s (MONGODB_URI), db %s", hosts, settings.mongodb_db)
        client = make_client(uri, settings.mongodb_timeout)
        await init_models(client, settings.mongodb_db)
        yield client
    finally:
        if client is not None:
            await client.close()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
            log.info("database: embedded nx-27017 stopped")
