"""Texts the bot shows outside a single handler: the command menu."""

from __future__ import annotations

from server.telegram.i18n import N_

# (command, description): setMyCommands sends these once per language.
COMMANDS: list[tuple[str, str]] = [
    ("start", N_("Register and say hello")),
    ("help", N_("What I can do")),
    ("me", N_("Your account")),
    ("password", N_("How to sign in on the web")),
]
