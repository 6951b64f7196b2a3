"""One validated settings object, read from the environment and an optional `.env`."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_SECRET_BYTES = 32
JWT_SECRET_FILE = "jwt_secret"  # noqa: S105 - a file name, not a secret
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class ConfigError(Exception):
    """A start-up configuration problem, worded for a one-line exit message."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    PLAIN = "plain"  # one readable line per record, for a person at a terminal
    JSON = "json"  # one JSON object per line, for log drains


class BotMode(StrEnum):
    """How the Telegram bot runs in this process."""

    OFF = "off"  # no TELEGRAM_BOT_TOKEN: the API runs alone
    WEBHOOK = "webhook"  # PUBLIC_URL set: Telegram posts updates to our route
    POLLING = "polling"  # local development: this process asks Telegram for updates


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # `FOO=` means unset, as on most platforms
        extra="ignore",
        frozen=True,
    )

    env: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.PLAIN

    # Metrics (Prometheus). Off unless METRICS_TOKEN (GET /metrics on the app's port, with
    # `Authorization: Bearer <token>`) or METRICS_PORT (a listener of its own) is set.
    metrics_token: SecretStr | None = None
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"

    # Database. Unset MONGODB_URI: the app starts the embedded nx-27017 server in DATA_DIR.
    mongodb_uri: SecretStr | None = None
    mongodb_db: str = Field(default="assistant", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    mongodb_timeout: float = Field(default=5.0, gt=0, le=60)
    data_dir: Path = Path("data")

    # Tokens.
    jwt_secret: SecretStr | None = None
    # Keys being rotated out: still accepted when verifying, never used to sign.
    jwt_previous_secrets: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    jwt_issuer: str = "assistant-backend"
    jwt_audience: str = "assistant-api"
    access_token_ttl: int = Field(default=15 * 60, ge=1, le=24 * 3600)
    # Seconds a process may keep using what it read about a user's or a session's revocation:
    # a revocation made by another process is seen here within this bound (0: no cache).
    revocation_cache_ttl: float = Field(default=5.0, ge=0, le=300)
    refresh_token_ttl: int = Field(default=30 * 24 * 3600, ge=60, le=365 * 24 * 3600)

    # Password hashing: argon2id. Defaults are OWASP's minimum (19 MiB, t=2, p=1);
    # production refuses anything weaker, tests may go lower to stay fast.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_cost: int = Field(default=19 * 1024, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)
    hash_workers: int = Field(default=0, ge=0, le=64)  # 0: one per CPU core

    # Bots and Telegram.
    bot_api_tokens: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    public_url: AnyHttpUrl | None = None
    telegram_api_base_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    init_data_max_age: int = Field(default=24 * 3600, ge=1)
    # How old init data may be to confirm deleting an account without a password or setting
    # its first password (other requests accept it for INIT_DATA_MAX_AGE).
    fresh_confirmation_max_age: int = Field(default=300, ge=10, le=3600)
    # The bot's @username for t.me links; unset: asked from Telegram (getMe) at start-up.
    telegram_bot_username: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{5,32}$")
    # How old a Login Widget `auth_date` may be: the page uses the widget's answer at once, so
    # minutes are plenty; a payload is also accepted only once (its hash is remembered).
    telegram_widget_max_age: int = Field(default=300, ge=1, le=24 * 3600)
    bot_concurrency: int = Field(default=8, ge=1, le=256)  # updates handled at once
    # An acknowledged update still unhandled after this many seconds (its process died) is
    # handled by another process.
    update_retry_after: float = Field(default=60, gt=0)
    # Shared lists (docs/sharing.md): members besides the owner, and how many shared lists
    # one user may share or join.
    sharing_max_members_per_list: int = Field(default=20, ge=1, le=200)
    sharing_max_lists_per_user: int = Field(default=20, ge=1, le=200)
    # Change notifications (docs/sharing.md): a member's changes within this many seconds of
    # the first are one message; an idle process looks for due ones at least this often.
    sharing_notify_window: float = Field(default=60, ge=0.05, le=3600)
    sharing_notify_poll: float = Field(default=5, gt=0, le=60)
    # Reminder delivery (all processes together share the send budget through MongoDB).
    reminder_send_rate: int = Field(default=25, ge=1, le=1000)  # messages/s, Telegram: ~30
    reminder_chat_interval: float = Field(default=1.0, ge=0.05, le=60)  # s between two per chat
    reminder_lease: float = Field(default=30, ge=2, le=600)  # s a claim holds
    reminder_workers: int = Field(default=8, ge=1, le=256)  # sends in flight per process
    reminder_poll: float = Field(default=1.0, gt=0, le=5)  # s between looks when idle
    reminder_late_after: float = Field(default=60, ge=0)  # s after which a send is "late"

    # Per-user quotas (docs/quotas-and-repeats.md): over one, a creation is refused with 409
    # (429 + Retry-After for the rate) and the bot answers politely. Sizes of a title (500
    # characters) and of notes (10,000) are the API contract, fixed in the tasks service.
    quota_tasks: int = Field(default=10_000, ge=1, le=1_000_000)  # tasks, done ones too
    quota_lists: int = Field(default=100, ge=1, le=1_000_000)  # own lists, built-ins aside
    quota_active_reminders: int = Field(default=1_000, ge=1, le=1_000_000)  # open, with a time
    quota_tasks_per_minute: int = Field(default=60, ge=1, le=1_000_000)  # creations per user
    # The smallest gap between two occurrences of a repeat rule, in seconds (issue 22: a rule
    # that fires every second floods a chat).
    repeat_min_interval: int = Field(default=300, ge=60, le=86_400)

    # Abuse limits: attempts per fixed window, counted in MongoDB across processes. The tight
    # login limit is per (username, address), so a stranger cannot lock the owner out; the
    # per-username one is loose and only catches guessing spread over many addresses.
    login_max_failures_per_username_and_address: int = Field(default=5, ge=1)
    login_max_failures_per_username: int = Field(default=100, ge=1)
    # Per address, successful logins count too (each costs a hash and makes a session).
    login_max_failures_per_address: int = Field(default=50, ge=1)
    login_window: int = Field(default=15 * 60, ge=1)
    # Live sessions per user: beyond it, signing in ends the least recently used one.
    max_sessions_per_user: int = Field(default=20, ge=1, le=1000)
    # Username changes (PATCH /api/auth/me): a taken name answers 409, so asking is limited.
    username_change_max_per_user: int = Field(default=10, ge=1)
    username_change_max_per_address: int = Field(default=30, ge=1)
    username_change_window: int = Field(default=3600, ge=1)
    register_max_per_address: int = Field(default=20, ge=1)
    register_window: int = Field(default=3600, ge=1)
    telegram_sign_in_max_per_address: int = Field(default=60, ge=1)
    telegram_sign_in_window: int = Field(default=15 * 60, ge=1)
    # Password reset through the bot: codes sent per username (beyond: 202, nothing sent) and
    # forgot/reset requests per client address (beyond: 429), per window.
    password_forgot_max_per_username: int = Field(default=3, ge=1)
    password_reset_max_per_address: int = Field(default=20, ge=1)
    password_reset_window: int = Field(default=15 * 60, ge=1)
    # How many X-Forwarded-For hops to trust for the client address (Heroku's router: 1).
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)

    # HTTP.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # POST /api/import only: an export of ~10,000 tasks is ~3 MB (docs/data.md).
    import_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Seconds a request body may take to arrive in full (then 408 and the connection closes).
    body_read_timeout: float = Field(default=10.0, gt=0, le=300)
    shutdown_timeout: float = Field(default=10.0, ge=0)

    @field_validator("bot_api_tokens", "cors_origins", "jwt_previous_secrets", mode="before")
    @classmethod
    def _list_from_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_accepts_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's own rule for secret_token; anything else makes setWebhook fail later.
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _metrics_never_public_by_accident(self) -> Settings:
        if (
            self.metrics_port is not None
            and self.metrics_token is None
            and self.metrics_host not in LOOPBACK_HOSTS
        ):
            raise ValueError("METRICS_TOKEN is required with METRICS_PORT on a non-loopback host")
        return self

    @model_validator(mode="after")
    def _production_is_strict(self) -> Settings:
        if self.env is not Environment.PRODUCTION:
            return self
        if "host" not in self.model_fields_set:
            # A platform's router reaches the process from outside; loopback would be dead.
            object.__setattr__(self, "host", "0.0.0.0")  # noqa: S104
        if self.jwt_secret is None:
            raise ValueError("JWT_SECRET is required in production")
        _require_strong("JWT_SECRET", self.jwt_secret)
        for token in self.bot_api_tokens:
            _require_strong("BOT_API_TOKENS (each token)", token)
        for key in self.jwt_previous_secrets:  # still verifies tokens: as strong as the current
            _require_strong("JWT_PREVIOUS_SECRETS (each key)", key)
        if self.mongodb_uri is None:
            raise ValueError("MONGODB_URI is required in production (the embedded DB is for dev)")
        if self.telegram_bot_token is not None:
            if self.public_url is None:
                # Polling from several web processes makes Telegram answer 409 Conflict.
                raise ValueError("PUBLIC_URL is required with TELEGRAM_BOT_TOKEN in production")
            if self.telegram_webhook_secret is None:
                raise ValueError(
                    "TELEGRAM_WEBHOOK_SECRET is required for webhook mode in production"
                )
            _require_strong("TELEGRAM_WEBHOOK_SECRET", self.telegram_webhook_secret)
        if self.metrics_token is not None:
            _require_strong("METRICS_TOKEN", self.metrics_token)
        if self.argon2_memory_cost < 19 * 1024 or self.argon2_time_cost < 2:
            raise ValueError("ARGON2_* below OWASP's minimum (19 MiB, t=2) in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def jwt_key(self) -> bytes:
        if self.jwt_secret is None:
            raise ConfigError("JWT_SECRET is not resolved; use load_settings()")
        return self.jwt_secret.get_secret_value().encode()

    @property
    def webhook_secret(self) -> str:
        """TELEGRAM_WEBHOOK_SECRET, or in development one derived from JWT_SECRET: the webhook
        is never open, and every process of one deployment derives the same value."""
        if self.telegram_webhook_secret is not None:
            return self.telegram_webhook_secret.get_secret_value()
        return hmac.new(self.jwt_key, b"telegram-webhook-secret", hashlib.sha256).hexdigest()

    def secret_values(self) -> list[str]:
        """Every configured secret value, for log redaction."""
        values = [
            secret.get_secret_value()
            for secret in (
                self.jwt_secret,
                self.telegram_bot_token,
                self.telegram_webhook_secret,
                *self.bot_api_tokens,
                *self.jwt_previous_secrets,
                self.metrics_token,
            )
            if secret is not None
        ]
        if self.jwt_secret is not None:
            values.append(self.webhook_secret)  # the derived one, in development
        if self.mongodb_uri is not None:
            password = urlsplit(self.mongodb_uri.get_secret_value()).password
            if password:
                values.append(password)
        return values

    @property
    def bot_api_root(self) -> str:
        return str(self.telegram_api_base_url).rstrip("/")

    @property
    def bot_mode(self) -> BotMode:
        if self.telegram_bot_token is None:
            return BotMode.OFF
        return BotMode.WEBHOOK if self.public_url is not None else BotMode.POLLING


def _require_strong(name: str, secret: SecretStr) -> None:
    if len(secret.get_secret_value().encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"{name} must be at least {MIN_SECRET_BYTES} bytes in production")


def _dev_jwt_secret(data_dir: Path) -> SecretStr:
    """Generate once and keep in DATA_DIR, so a restart does not log everyone out."""
    path = data_dir / JWT_SECRET_FILE
    present = path.exists()
    existing = path.read_text().strip() if present else ""
    if len(existing.encode()) >= MIN_SECRET_BYTES:
        return SecretStr(existing)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # private, like the database in it
    # Written whole to a private (0600) temporary file, then put in place in one step: a
    # reader never sees a partial key, and of two processes starting at once the first wins.
    temporary = data_dir / f".{JWT_SECRET_FILE}.{os.getpid()}"
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        fh.write(secrets.token_urlsafe(48))
    try:
        if present:  # too short to be ours (truncated or hand-edited): replace it
            temporary.replace(path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return SecretStr(path.read_text().strip())


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings once at start-up; raise ConfigError with a one-line reason."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    if settings.jwt_secret is None:
        settings = settings.model_copy(update={"jwt_secret": _dev_jwt_secret(settings.data_dir)})
    return settings


def _one_line(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    return "invalid configuration: " + "; ".join(parts)
