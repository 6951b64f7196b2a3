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
    def __init__(self, detail: str = "The token is invalid or expired") -> None:
        super().__init__(detail)


class UserNotFound(ServiceError):
    def __init__(self) -> None:
        super().__init__("The user no longer exists")
