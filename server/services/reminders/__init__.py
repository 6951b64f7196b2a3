"""Reminders: drafts from text, planning, once-only delivery across processes."""
