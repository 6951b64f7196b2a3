"""The test kit: what many test files need, written once.

- `tests.kit.signing`: Telegram's two signatures (Mini App init data, Login Widget), written
  from Telegram's documentation and independently of the app's verifier.
- `tests.kit.telegram`: Telegram updates as the Bot API sends them (a text, a button press,
  a chat-member change) and the buttons of a message; `press` a button through the real app.

The fake Bot API itself stays in `tests/fake_bot_api.py`; the old import paths
(`tests.fake_bot_api.text_message_update`, `tests.bot_helpers.*`) keep working."""
