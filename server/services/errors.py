"""What the services can refuse. The adapters turn these into HTTP problems or bot replies."""


class ServiceError(Exception):
    """Base class; `str(exc)` is safe to show to the user."""


class UsernameTaken(ServiceError):
    def __init__(self) -> None:
        super().__init__("This username is already taken")


class InvalidCredentials(ServiceError):
    def __init__(self) -> None:
        # One message for unknown user and wrong password: never tell which.
        super().__init__("Incorrect username or password")


class InvalidToken(ServiceError):
    def __init__(self) -> None:
        super().__init__("The token is invalid or expired")


class UserNotFound(ServiceError):
    def __init__(self) -> None:
        super().__init__("The user no longer exists")


class InvalidInitData(ServiceError):
    """Mini App init data that is unsigned, forged, stale, or (signed but) incomplete."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class NotConfigured(ServiceError):
    """A feature whose settings are missing (e.g. Mini App sign-in without a bot token)."""


class TooManyAttempts(ServiceError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after} seconds")
        self.retry_after = retry_after


class PasswordTooCommon(ServiceError):
    def __init__(self) -> None:
        super().__init__("This password is too common; choose another")


class InvalidField(ServiceError):
    """A value the service refuses, named by its field (a 422 naming it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
