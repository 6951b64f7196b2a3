"""The services, as the bot's handlers reach them: stored once on the PTB application, read
through one typed accessor (python-telegram-bot's `bot_data` is an untyped dict)."""

from __future__ import annotations

from telegram.ext import ContextTypes

from server.services.registry import Services
from server.telegram.types import BotApp

_SERVICES = "services"


def attach_services(application: BotApp, services: Services) -> None:
    application.bot_data[_SERVICES] = services


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.bot_data[_SERVICES]
    return services
