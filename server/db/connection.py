"""Connecting to MongoDB and binding the beanie models to it."""

from __future__ import annotations

import asyncio

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from models import ALL_MODELS
from server.db.types import Document


def make_client(uri: str, timeout: float) -> AsyncMongoClient[Document]:
    ms = int(timeout * 1000)
    # Every wait is bounded by the same timeout, so no request hangs on a lost database.
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms,
        socketTimeoutMS=ms,
        timeoutMS=ms,
        appname="assistant-backend",
    )


async def init_models(client: AsyncMongoClient[Document], db_name: str) -> None:
    """Bind the models and ensure their indexes (idempotent; also `python -m server migrate`)."""
    await init_beanie(database=client[db_name], document_models=ALL_MODELS)


async def ping(client: AsyncMongoClient[Document], seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            await client.admin.command("ping")
    except (PyMongoError, TimeoutError):
        return False
    return True
