"""Start-up configuration: production refuses weak or missing secrets with a one-line
reason; development keeps a generated JWT secret; the argon2 defaults meet OWASP."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, Settings, load_settings
from server.services.accounts.passwords import Passwords

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "s" * 32
ENV_NAMES = {name.upper() for name in Settings.model_fields}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """The tester's environment (MONGODB_URI, JWT_SECRET…) must not decide these tests."""
    for name in ENV_NAMES & os.environ.keys():
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def production(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "_env_file": None,
        "env": "production",
        "data_dir": tmp_path / "data",
        "mongodb_uri": "mongodb://db.example:27017/",
    }
    values.update(overrides)
    return load_settings(**{k: v for k, v in values.items() if v is not None})


def test_production_without_jwt_secret_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        production(tmp_path)
    assert not (tmp_path / "data" / "jwt_secret").exists()  # nothing generated in production


def test_production_with_a_10_byte_jwt_secret_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"JWT_SECRET.*32 bytes"):
        production(tmp_path, jwt_secret="0123456789")


def test_production_with_a_strong_secret_and_a_database_loads(tmp_path):
    settings = production(tmp_path, jwt_secret=STRONG_SECRET)

    assert settings.is_production
    assert settings.jwt_key == STRONG_SECRET.encode()


def test_production_without_mongodb_uri_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="MONGODB_URI"):
        production(tmp_path, jwt_secret=STRONG_SECRET, mongodb_uri=None)


def test_production_refuses_argon2_below_owasp(tmp_path):
    with pytest.raises(ConfigError, match="ARGON2"):
        production(tmp_path, jwt_secret=STRONG_SECRET, argon2_time_cost=1)


def test_settings_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example:27017/")
    monkeypatch.setenv("ACCESS_TOKEN_TTL", "60")

    settings = load_settings(_env_file=None)

    assert settings.is_production
    assert settings.access_token_ttl == 60


def test_invalid_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("PORT", "not-a-port")

    with pytest.raises(ConfigError, match="PORT"):
        load_settings(_env_file=None, jwt_secret=STRONG_SECRET)


def test_development_generates_a_private_jwt_secret_once(tmp_path):
    data_dir = tmp_path / "data"

    first = load_settings(_env_file=None, data_dir=data_dir)
    second = load_settings(_env_file=None, data_dir=data_dir)

    path = data_dir / "jwt_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.jwt_key) >= 32
    assert path.read_text().strip().encode() == first.jwt_key
    assert second.jwt_key == first.jwt_key
    other = load_settings(_env_file=None, data_dir=tmp_path / "other")
    assert other.jwt_key != first.jwt_key


def test_argon2_defaults_meet_owasp_minimum():
    settings = load_settings(_env_file=None, jwt_secret=STRONG_SECRET)

    assert settings.argon2_memory_cost >= 19456
    assert settings.argon2_time_cost >= 2
    assert settings.argon2_parallelism >= 1


async def test_default_settings_hash_with_owasp_parameters():
    settings = load_settings(_env_file=None, jwt_secret=STRONG_SECRET)
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
        workers=1,
    )
    try:
        hashed = await passwords.hash("a password")
    finally:
        passwords.close()

    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def run_server(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    return subprocess.run(
        [sys.executable, "-m", "server"],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ENV": "production", "JWT_SECRET": "short"}, "JWT_SECRET"),
        ({"ENV": "production"}, "JWT_SECRET"),
        ({"ENV": "production", "JWT_SECRET": STRONG_SECRET}, "MONGODB_URI"),
    ],
    ids=["weak-secret", "no-secret", "no-database"],
)
def test_python_m_server_refuses_bad_production_config_in_one_line(env, named):
    result = run_server(**env)

    assert result.returncode != 0
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert STRONG_SECRET not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"jwt_previous_secrets": "short"}, "JWT_PREVIOUS_SECRETS"),
        ({"bot_api_tokens": f"{STRONG_SECRET},weak"}, "BOT_API_TOKENS"),
        ({"telegram_bot_token": "1:abc"}, "PUBLIC_URL"),
        (
            {"telegram_bot_token": "1:abc", "public_url": "https://x.example"},
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        (
            {
                "telegram_bot_token": "1:abc",
                "public_url": "https://x.example",
                "telegram_webhook_secret": "short",
            },
            "TELEGRAM_WEBHOOK_SECRET",
        ),
    ],
)
def test_production_refuses_weak_or_missing_bot_settings(tmp_path, overrides, named):
    with pytest.raises(ConfigError, match=named):
        production(tmp_path, jwt_secret=STRONG_SECRET, **overrides)


def test_a_truncated_dev_secret_file_is_replaced(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "jwt_secret").write_text("")  # e.g. the disk filled up while it was written
    settings = load_settings(_env_file=None, data_dir=data)
    assert len(settings.jwt_key) >= 32
    assert load_settings(_env_file=None, data_dir=data).jwt_key == settings.jwt_key
    assert stat.S_IMODE((data / "jwt_secret").stat().st_mode) == 0o600
    assert [p.name for p in data.iterdir()] == ["jwt_secret"]  # no temporary file left
