"""python-telegram-bot's Application is generic in six types we never narrow."""

from typing import Any

from telegram.ext import Application, ApplicationBuilder

BotApp = Application[Any, Any, Any, Any, Any, Any]
BotAppBuilder = ApplicationBuilder[Any, Any, Any, Any, Any, Any]
