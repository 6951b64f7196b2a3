"""Date and time rules shared by the services (recurrence, parsing, time zones)."""
