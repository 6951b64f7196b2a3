"""Settings: the only place that reads the environment (and `.env`)."""

from config.settings import ConfigError, Environment, Settings, load_settings

__all__ = ["ConfigError", "Environment", "Settings", "load_settings"]
