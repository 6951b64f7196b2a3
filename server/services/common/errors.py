"""What the services can refuse. The adapters turn these into HTTP problems or bot replies."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models import Task


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

    field_prefix = "init_data."  # where `field` lives in the request body


class InvalidLoginData(InvalidInitData):
    """Telegram Login Widget fields that are unsigned, forged, stale or incomplete."""

    field_prefix = ""


class NotConfigured(ServiceError):
    """A feature whose settings are missing (e.g. Mini App sign-in without a bot token)."""


class TooManyAttempts(ServiceError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after} seconds")
        self.retry_after = retry_after


class PasswordTooCommon(ServiceError):
    def __init__(self, field: str = "password") -> None:
        super().__init__("This password is too common; choose another")
        self.field = field


class AccountDeactivated(ServiceError):
    """An admin deactivated the account: it signs in by no scheme and its tokens stop working."""

    def __init__(self) -> None:
        super().__init__("This account is deactivated; contact the administrator")


class WrongPassword(ServiceError):
    """A password confirmation (current password, password before deleting) that is missing
    or wrong; `field` names the request field."""

    def __init__(self, field: str, missing: bool = False) -> None:
        super().__init__(f"{field} is required" if missing else f"{field} is wrong")
        self.field = field
        self.missing = missing


class StaleConfirmation(ServiceError):
    """An account without a password confirms deleting itself or setting its first password
    with fresh Telegram init data (`init_data`): missing, not its own, or too old."""

    field = "init_data"

    def __init__(self, max_age: int, missing: bool = False) -> None:
        what = "is required" if missing else "is not this account's, or is too old"
        super().__init__(
            f"init_data {what}: confirm with Telegram init data signed in the last "
            f"{max(1, max_age // 60)} minutes (reopen the Mini App)"
        )
        self.missing = missing


class InvalidResetCode(ServiceError):
    def __init__(self) -> None:
        # One message for unknown user, no code, expired, used up and wrong: never tell which.
        super().__init__("The code is wrong, expired or used up; ask for a new one")


class NotFound(ServiceError):
    """Something the caller names (a session, a user) that does not exist, or is not theirs."""


class Forbidden(ServiceError):
    """The caller may not do this (e.g. a non-admin on an admin route)."""


class Conflict(ServiceError):
    """The request contradicts the current state (e.g. linking an already linked account)."""


class Unavailable(ServiceError):
    """A collaborator the request needs is temporarily missing (e.g. the bot's username before
    Telegram answered)."""


class InvalidInput(ServiceError):
    """A value the service refuses (the adapters' schemas check shapes; rules live here).
    `field` names the input, for a 422 that says which."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


class ListNotFound(ServiceError):
    """No such list for this user (another user's list is "not found" too)."""

    def __init__(self) -> None:
        super().__init__("No such list")


class TaskNotFound(ServiceError):
    """No such task for this user (another user's task is "not found" too)."""

    def __init__(self) -> None:
        super().__init__("No such task")


class ListNameTaken(ServiceError):
    def __init__(self) -> None:
        super().__init__("You already have a list with this name")


class BuiltinList(ServiceError):
    def __init__(self) -> None:
        super().__init__("Built-in lists cannot be renamed or deleted")


class ConcurrentChange(ServiceError):
    """The document kept changing under us (retries exhausted); the client may retry."""

    def __init__(self) -> None:
        super().__init__("The task was changed by another request at the same time; try again")


class TaskChanged(ServiceError):
    """A write that named the version it was based on (REST: `If-Match`) found another: someone
    changed the task since. `current` is the task as it is now, for the 409 to show."""

    def __init__(self, current: Task) -> None:
        super().__init__("Someone else changed this task; here it is as it is now")
        self.current = current


class QuotaExceeded(ServiceError):
    """A per-user quota (`kind`: "tasks", "lists" or "reminders") is full: 409."""

    def __init__(self, kind: str, limit: int) -> None:
        what = {"reminders": "active reminders"}.get(kind, kind)
        super().__init__(f"You have reached the limit of {limit} {what}; delete some to make room")
        self.kind = kind
        self.limit = limit


class CreationRateExceeded(TooManyAttempts):
    """More tasks created in a minute than the quota allows: 429 with Retry-After."""

    def __init__(self, per_minute: int, retry_after: int) -> None:
        super().__init__(retry_after)
        self.args = (f"At most {per_minute} tasks a minute; try again in {retry_after} s",)
        self.per_minute = per_minute
