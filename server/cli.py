"""`python -m server [serve|migrate|set-webhook|delete-webhook|webhook-info|promote|demote|
deactivate|reset-password]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from telegram.error import TelegramError

from config import ConfigError, Settings, load_settings
from server.app import create_app
from server.bootstrap import build_services
from server.db.lifecycle import open_database
from server.errors import StartupError
from server.observability.logs import AccessLogger, configure_logging
from server.observability.redaction import harden_logging, redact
from server.services.accounts.admin import Role
from server.services.common.errors import NotFound
from server.services.registry import Services
from server.telegram.bot import make_bot, set_commands, set_webhook, webhook_url

T = TypeVar("T")

log = logging.getLogger("server")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Idle keep-alive connections are closed after this long (web.run_app's default; AppRunner's
# own is an hour, which holds a file descriptor per idle client that long).
KEEPALIVE_TIMEOUT = 75.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the web service (the default)")
    commands.add_parser("migrate", help="create the database indexes, then exit")
    commands.add_parser("set-webhook", help="point Telegram at PUBLIC_URL/telegram/webhook")
    commands.add_parser("delete-webhook", help="stop Telegram's webhook deliveries")
    commands.add_parser("webhook-info", help="show what Telegram knows of the webhook")
    for name, what in (
        ("promote", "make a user an admin"),
        ("demote", "make an admin a user"),
        ("deactivate", "deactivate a user, admins included (the API refuses admins)"),
        ("reset-password", "give a user a new random password (printed once); ends all sessions"),
    ):
        command = commands.add_parser(name, help=what)
        command.add_argument("username")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    harden_logging(settings.secret_values())

    try:
        match args.command:
            case "migrate":
                asyncio.run(_migrate(settings))
            case "set-webhook" | "delete-webhook" | "webhook-info":
                raise SystemExit(asyncio.run(_webhook_command(args.command, settings)))
            case "promote" | "demote":
                role: Role = "admin" if args.command == "promote" else "user"
                raise SystemExit(asyncio.run(_set_role(settings, args.username, role)))
            case "deactivate":
                raise SystemExit(asyncio.run(_deactivate(settings, args.username)))
            case "reset-password":
                raise SystemExit(asyncio.run(_reset_password(settings, args.username)))
            case _:
                _serve(settings)
    except StartupError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        raise SystemExit(1) from None


def _serve(settings: Settings) -> None:
    log.info("starting in %s mode", settings.env.value)
    if settings.is_production and settings.trusted_proxy_hops == 0:
        log.warning(
            "TRUSTED_PROXY_HOPS=0: per-address limits see the socket peer; behind a router "
            "(Heroku: 1) every client shares the router's address"
        )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C before our signal handlers
        asyncio.run(_run_service(settings))


async def _run_service(settings: Settings) -> None:
    """What `web.run_app` does, except that a failed start-up still runs the cleanup of the
    parts that had started (run_app's setup sits outside its try, so the database context was
    left to asyncio's finaliser, which logged a traceback at exit). SIGTERM / SIGINT end the
    wait, or cancel a start-up still waiting (on Telegram, say); the cleanup then lets
    requests in flight finish (SHUTDOWN_TIMEOUT) before the database closes. A second signal
    is left to its default action: it ends the process at once."""
    runner = web.AppRunner(
        create_app(settings),
        access_log_class=AccessLogger,
        shutdown_timeout=settings.shutdown_timeout,
        keepalive_timeout=KEEPALIVE_TIMEOUT,
        handle_signals=False,  # ours below: an event, not an exception that cancels tasks
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        stop.set()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal)
    starting = asyncio.ensure_future(_start(runner, settings))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # a failed start-up raises here
            await stopping
        else:
            log.info("stopping during start-up: a signal arrived")
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
    finally:
        stopping.cancel()
        await runner.cleanup()


async def _start(runner: web.AppRunner, settings: Settings) -> None:
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    base = local_url(settings)
    log.info("serving on http://%s:%s", settings.host, settings.port)
    # Where to go next, for whoever just typed `make run`: the app, the API, the probes.
    log.info("Mini App: %s/app/", base)
    log.info("API docs: %s/api/docs", base)
    log.info("health: %s/health (readiness: %s/ready)", base, base)


def local_url(settings: Settings) -> str:
    """The address a browser on this machine opens: a wildcard bind (0.0.0.0, ::) is not one."""
    host = settings.host
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 -- compared, not bound
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"  # an IPv6 literal in a URL
    return f"http://{host}:{settings.port}"


async def _webhook_command(command: str, settings: Settings) -> int:
    if settings.telegram_bot_token is None:
        print("error: TELEGRAM_BOT_TOKEN is not set", file=sys.stderr)
        return 2
    if command == "set-webhook" and settings.public_url is None:
        print("error: PUBLIC_URL is not set", file=sys.stderr)
        return 2
    try:
        return await _call_bot_api(command, settings)
    except TelegramError as exc:
        print(f"error: the Bot API refused or is unreachable: {exc}", file=sys.stderr)
        return 1


async def _call_bot_api(command: str, settings: Settings) -> int:
    async with make_bot(settings) as bot:
        if command == "set-webhook":
            await set_webhook(bot, settings)
            await set_commands(bot)
            print(f"webhook set to {webhook_url(settings)}")
        elif command == "delete-webhook":
            await bot.delete_webhook()
            print("webhook deleted")
        else:
            info = await bot.get_webhook_info()
            print(f"url: {info.url or '(none)'}")
            print(f"pending updates: {info.pending_update_count}")
            if info.last_error_message:
                print(f"last error: {info.last_error_message} at {info.last_error_date}")
    return 0


async def _on_user(settings: Settings, action: Callable[[Services], Awaitable[T]]) -> T | None:
    """One operator action on the database; None, with the error printed, for an unknown
    user."""
    services = build_services(settings)
    try:
        async with open_database(settings):
            return await action(services)
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    finally:
        services.close()


async def _set_role(settings: Settings, username: str, role: Role) -> int:
    user = await _on_user(settings, lambda services: services.admin.set_role(username, role))
    if user is None:
        return 1
    print(f"{user.username} is now {'an admin' if role == 'admin' else 'a user'}")
    return 0


async def _deactivate(settings: Settings, username: str) -> int:
    user = await _on_user(settings, lambda services: services.admin.deactivate_by_name(username))
    if user is None:
        return 1
    print(f"{user.username} is deactivated; every session ended")
    return 0


async def _reset_password(settings: Settings, username: str) -> int:
    password = await _on_user(settings, lambda services: services.accounts.operator_reset(username))
    if password is None:
        return 1
    # stdout only (never the log): the operator hands it over, the user changes it.
    print(f"new password for {username}: {password}")
    print("every session of the user has ended; ask them to change it (POST /api/auth/password)")
    return 0


async def _migrate(settings: Settings) -> None:
    async with open_database(settings):
        log.info("indexes are in place")
