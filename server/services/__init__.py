"""The service layer: every business rule, called by both the HTTP and the Telegram adapters.

Nothing here imports aiohttp or telegram.
"""
