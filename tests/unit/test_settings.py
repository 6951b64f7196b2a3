"""Settings validation without starting anything: each production refusal at its exact
boundary, list parsing, the derived webhook secret, and what counts as a secret to redact.
(The process-level refusals and the dev secret file are in tests/e2e/test_config.py.)"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from config import ConfigError, Settings, load_settings
from config.settings import MIN_SECRET_BYTES, _dev_jwt_secret, _split_csv

STRONG = "s" * MIN_SECRET_BYTES
ENV_NAMES = {name.upper() for name in Settings.model_fields}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The tester's environment (MONGODB_URI, JWT_SECRET…) must not decide these tests."""
    for name in ENV_NAMES & os.environ.keys():
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # and no .env of the developer's


def dev(**overrides: Any) -> Settings:
    return load_settings(_env_file=None, jwt_secret=STRONG, **overrides)


def prod(**overrides: Any) -> Settings:
    values = {"env": "production", "jwt_secret": STRONG, "mongodb_uri": "mongodb://db.example/"}
    values.update(overrides)
    return load_settings(_env_file=None, **{k: v for k, v in values.items() if v is not None})


BOT = {"telegram_bot_token": "1:abc", "public_url": "https://x.example",
       "telegram_webhook_secret": "w" * MIN_SECRET_BYTES}  # fmt: skip


def test_a_complete_production_configuration_loads() -> None:
    settings = prod(**BOT, bot_api_tokens=STRONG, jwt_previous_secrets=STRONG)

    assert settings.is_production
    assert settings.bot_mode == "webhook"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"jwt_secret": "s" * (MIN_SECRET_BYTES - 1)}, "JWT_SECRET must be at least 32 bytes"),
        ({"jwt_previous_secrets": f"{STRONG},{'p' * 31}"}, "JWT_PREVIOUS_SECRETS"),
        ({"bot_api_tokens": f"{STRONG},{'b' * 31}"}, "BOT_API_TOKENS"),
        ({**BOT, "telegram_webhook_secret": "w" * 31}, "TELEGRAM_WEBHOOK_SECRET must be"),
        ({**BOT, "telegram_webhook_secret": None}, "TELEGRAM_WEBHOOK_SECRET is required"),
        ({**BOT, "public_url": None}, "PUBLIC_URL is required"),
        ({"mongodb_uri": None}, "MONGODB_URI is required"),
        ({"argon2_memory_cost": 19 * 1024 - 1}, "ARGON2"),
        ({"argon2_time_cost": 1}, "ARGON2"),
    ],
)
def test_production_refuses_each_weakness_by_name(overrides: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        prod(**overrides)


def test_development_accepts_all_of_that() -> None:
    settings = dev(
        jwt_previous_secrets="short", bot_api_tokens="weak", telegram_bot_token="1:abc",
        telegram_webhook_secret="w", argon2_memory_cost=1024, argon2_time_cost=1,
    )  # fmt: skip

    assert not settings.is_production
    assert settings.bot_mode == "polling"


def test_production_minimums_are_inclusive() -> None:
    prod(argon2_memory_cost=19 * 1024, argon2_time_cost=2, jwt_previous_secrets=STRONG, **BOT)


def test_secret_strength_counts_bytes_not_characters() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        prod(jwt_secret="ж" * 15 + "x")  # 31 bytes in 16 characters
    assert prod(jwt_secret="ж" * 16).jwt_key == ("ж" * 16).encode()  # 32 bytes


def test_production_listens_on_every_interface_unless_told() -> None:
    assert prod().host == "0.0.0.0"  # noqa: S104
    assert prod(host="127.0.0.1").host == "127.0.0.1"
    assert dev().host == "127.0.0.1"


def test_production_without_a_bot_needs_no_public_url() -> None:
    assert prod().bot_mode == "off"


def test_production_without_jwt_secret_names_it() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET is required"):
        Settings(_env_file=None, env="production", mongodb_uri="mongodb://db/")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [("a,b", ["a", "b"]), (" a , b ,, ", ["a", "b"]), ("", []), (",", []), ("one", ["one"])],
)
def test_comma_separated_lists(raw: str, parsed: list[str]) -> None:
    assert _split_csv(raw) == parsed


def test_lists_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("BOT_API_TOKENS", f"{STRONG},{'t' * 40}")

    settings = dev()

    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert [t.get_secret_value() for t in settings.bot_api_tokens] == [STRONG, "t" * 40]


def test_a_list_that_is_already_a_list_is_kept() -> None:
    assert _split_csv(["x"]) == ["x"]


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "")
    monkeypatch.setenv("MONGODB_URI", "")

    settings = dev()

    assert settings.port == 8080
    assert settings.mongodb_uri is None


@pytest.mark.parametrize(("given", "level"), [("debug", "DEBUG"), ("Warning", "WARNING")])
def test_log_level_is_case_insensitive(given: str, level: str) -> None:
    assert dev(log_level=given).log_level == level


def test_an_unknown_log_level_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="LOG_LEVEL: must be DEBUG, INFO"):
        dev(log_level="verbose")


@pytest.mark.parametrize("secret", ["a", "A-z_0-9", "x" * 256])
def test_webhook_secrets_telegram_accepts(secret: str) -> None:
    assert dev(telegram_webhook_secret=secret).webhook_secret == secret


@pytest.mark.parametrize("secret", ["x" * 257, "has space", "dot.ted", "ключ", "a+b"])
def test_webhook_secrets_telegram_refuses(secret: str) -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        dev(telegram_webhook_secret=secret)


def test_without_a_webhook_secret_one_is_derived_from_the_jwt_secret() -> None:
    expected = hmac.new(STRONG.encode(), b"telegram-webhook-secret", hashlib.sha256).hexdigest()

    assert dev().webhook_secret == expected
    assert load_settings(_env_file=None, jwt_secret="t" * 32).webhook_secret != expected


def test_several_errors_are_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        dev(port=70000, log_level="loud")

    message = str(caught.value)
    assert message.startswith("invalid configuration: ")
    assert "PORT: " in message
    assert "; LOG_LEVEL: must be" in message
    assert "Value error" not in message
    assert "\n" not in message


def test_a_model_level_error_is_worded_without_a_field() -> None:
    with pytest.raises(ConfigError) as caught:
        prod(mongodb_uri=None)

    assert str(caught.value) == (
        "invalid configuration: MONGODB_URI is required in production (the embedded DB is for dev)"
    )


def test_jwt_key_needs_a_resolved_secret() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]  # not through load_settings

    with pytest.raises(ConfigError, match="load_settings"):
        _ = settings.jwt_key


def test_secrets_lists_every_configured_secret() -> None:
    settings = dev(
        telegram_bot_token="1:bot-token", telegram_webhook_secret="hook-secret",
        bot_api_tokens="service-one,service-two", jwt_previous_secrets="old-key",
        mongodb_uri="mongodb://app:db-password@db.example:27017/",
    )  # fmt: skip

    assert sorted(settings.secret_values()) == sorted([
        STRONG, "1:bot-token", "hook-secret", "service-one", "service-two", "old-key",
        "hook-secret",  # webhook_secret: the configured one
        "db-password",
    ])  # fmt: skip


def test_secrets_include_the_derived_webhook_secret() -> None:
    settings = dev()

    assert settings.secret_values() == [STRONG, settings.webhook_secret]


def test_a_database_uri_without_password_adds_no_secret() -> None:
    assert dev(mongodb_uri="mongodb://db.example/").secret_values() == [
        STRONG,
        dev().webhook_secret,
    ]


@pytest.mark.parametrize(
    ("overrides", "mode"),
    [({}, "off"), ({"telegram_bot_token": "1:a"}, "polling"),
     ({"telegram_bot_token": "1:a", "public_url": "https://x.example"}, "webhook")],
)  # fmt: skip
def test_bot_mode(overrides: dict[str, str], mode: str) -> None:
    assert dev(**overrides).bot_mode == mode


def test_the_bot_api_root_has_no_trailing_slash() -> None:
    assert dev().bot_api_root == "https://api.telegram.org"
    assert dev(telegram_api_base_url="http://127.0.0.1:8081/").bot_api_root == (
        "http://127.0.0.1:8081"
    )


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        dev().port = 1  # type: ignore[misc]


# --- the development JWT secret file ---------------------------------------------------------


def test_a_strong_dev_secret_file_is_kept(tmp_path: Path) -> None:
    (tmp_path / "jwt_secret").write_text("k" * 32 + "\n")

    assert _dev_jwt_secret(tmp_path) == SecretStr("k" * 32)


def test_a_short_dev_secret_file_is_replaced_privately(tmp_path: Path) -> None:
    (tmp_path / "jwt_secret").write_text("k" * 31)

    secret = _dev_jwt_secret(tmp_path).get_secret_value()

    assert len(secret) >= 48
    assert (tmp_path / "jwt_secret").read_text().strip() == secret
    assert stat.S_IMODE((tmp_path / "jwt_secret").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["jwt_secret"]


def test_the_dev_secret_directory_is_created(tmp_path: Path) -> None:
    secret = _dev_jwt_secret(tmp_path / "a" / "b").get_secret_value()

    assert (tmp_path / "a" / "b" / "jwt_secret").read_text() == secret


def test_a_given_jwt_secret_writes_no_file(tmp_path: Path) -> None:
    load_settings(_env_file=None, jwt_secret=STRONG, data_dir=tmp_path / "data")

    assert not (tmp_path / "data").exists()
