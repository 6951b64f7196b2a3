"""python-telegram-bot's Application is generic in six types we never narrow (the handlers'
context is narrowed instead: context.BotContext); and what every handler group is."""

from typing import Any, Protocol

from telegram.ext import Application, ApplicationBuilder

BotApp = Application[Any, Any, Any, Any, Any, Any]
BotAppBuilder = ApplicationBuilder[Any, Any, Any, Any, Any, Any]


class Handlers(Protocol):
    """A group of handlers (one class per feature): it takes nothing when made, adds its
    handlers to the application, and reads the services from each update's BotContext."""

    def add_to(self, application: BotApp) -> None: ...
