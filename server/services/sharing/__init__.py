"""Shared lists: members and roles, invitations, and the one access rule (docs/sharing.md)."""
