"""`python -m server [serve|migrate]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiohttp import web

from config import ConfigError, Settings, load_settings
from server.app import create_app
from server.db.lifecycle import open_database
from server.logs import AccessLogger, configure_logging

log = logging.getLogger("server")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the web service (the default)")
    commands.add_parser("migrate", help="create the database indexes, then exit")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level)

    match args.command:
        case "migrate":
            asyncio.run(_migrate(settings))
        case _:
            _serve(settings)


def _serve(settings: Settings) -> None:
    log.info("starting in %s mode", settings.env.value)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log_class=AccessLogger,
        shutdown_timeout=settings.shutdown_timeout,
        print=lambda _: log.info("serving on http://%s:%s", settings.host, settings.port),
    )


async def _migrate(settings: Settings) -> None:
    async with open_database(settings):
        log.info("indexes are in place")
