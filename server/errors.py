"""Errors that stop the service from starting; the CLI prints them as one line."""


class StartupError(RuntimeError):
    pass
