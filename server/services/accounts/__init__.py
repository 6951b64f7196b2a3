"""Accounts: sign-up and sign-in, tokens and sessions, Telegram identities (Mini App, Login
Widget, linking), recovery, profile, admin."""
