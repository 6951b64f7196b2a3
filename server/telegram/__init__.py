"""The Telegram adapter: python-telegram-bot handlers over the service layer, the webhook
route and the bot's lifecycle inside the aiohttp app."""
