"""Reminders: planning, preferences (quiet hours, the digest), once-only delivery across
processes, one store for their collections; the bot's drafts and questions
(docs/reminders.md, "Who owns what")."""
