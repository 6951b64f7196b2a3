"""Settings: the only place that reads the environment (and `.env`)."""

from config.settings import (
    BotMode,
    ConfigError,
    Environment,
    LogFormat,
    Settings,
    load_settings,
)

__all__ = ["BotMode", "ConfigError", "Environment", "LogFormat", "Settings", "load_settings"]
