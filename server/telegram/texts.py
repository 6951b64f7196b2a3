"""Texts the bot shows outside a single handler: the command menu."""

from __future__ import annotations

from server.telegram.i18n import N_

# (command, description): setMyCommands sends these once per language.
COMMANDS: list[tuple[str, str]] = [
    ("start", N_("Register and say hello")),
    ("help", N_("What I can do")),
    ("me", N_("Your account")),
    ("inbox", N_("Inbox: everything not yet sorted")),
    ("today", N_("Today's tasks")),
    ("later", N_("Tasks for later")),
    ("someday", N_("Someday, maybe")),
    ("lists", N_("All your lists")),
    ("find", N_("Find a task: /find words")),
    ("new", N_("Add a task: /new title")),
    ("password", N_("How to sign in on the web")),
    ("unlink", N_("Unlink this Telegram account from your web account")),
    ("timezone", N_("Your time zone")),
    ("quiet", N_("Quiet hours for reminders")),
    ("digest", N_("A morning digest of Today")),
    ("calendar", N_("Your tasks in your calendar app")),
    ("export", N_("Download all your data")),
    ("notify", N_("Messages about changes in shared lists")),
]

# The menu in group chats (setMyCommands with the all-group-chats scope): the group's list.
GROUP_COMMANDS: list[tuple[str, str]] = [
    ("list", N_("The group's list")),
    ("add", N_("Add to the group's list: /add milk tomorrow at 9")),
    ("help", N_("What I do in a group")),
]

# The default menu button is the same for every user, so it has one text.
MENU_BUTTON = "Tasks"
