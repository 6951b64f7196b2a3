"""The aiohttp service: app factory, HTTP and Telegram adapters, services, CLI."""
