"""Configuration: clear one-line failures, production refusals, the development secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"MONGODB_URL": "http://x"}, "MONGODB_URL"),
        ({"REDIS_URL": "tcp://x"}, "REDIS_URL"),
        ({"ACCESS_TOKEN_TTL_SECONDS": "-5"}, "ACCESS_TOKEN_TTL_SECONDS"),
        ({"APP_ENV": "production"}, "JWT_SECRET"),
        ({"APP_ENV": "production", "JWT_SECRET": "changeme"}, "JWT_SECRET"),
    ],
)
def test_bad_value_stops_start_up_with_one_line(
    env: dict[str, str], variable: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from app import app"],  # what `uvicorn app:app` does
        cwd=ROOT,
        env={**os.environ, "DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_production_accepts_a_strong_secret(tmp_path: Path) -> None:
    settings = load_settings(app_env="production", jwt_secret="s" * 40, data_dir=tmp_path)
    assert settings.is_production
    assert settings.jwt_key() == "s" * 40
    assert not (tmp_path / "jwt_secret").exists()


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path).jwt_key()
    second = load_settings(data_dir=tmp_path).jwt_key()
    assert first == second and len(first) >= 32
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0


def test_plain_postgres_urls_get_the_async_driver() -> None:
    settings = load_settings(database_url="postgresql://u:p@db:5432/agora")
    assert settings.sqlalchemy_url == "postgresql+asyncpg://u:p@db:5432/agora"


def test_origins_are_a_comma_separated_list() -> None:
    settings = load_settings(allowed_origins="https://a.example, https://b.example/")
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]


def test_config_error_is_raised_not_printed() -> None:
    with pytest.raises(ConfigError, match="PORT"):
        load_settings(port=0)


def test_importing_the_app_module_does_nothing(tmp_path: Path) -> None:
    """Settings are read and the data folder made when the app is built, not on import."""
    data_dir = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT,
        env={**os.environ, "DATA_DIR": str(data_dir), "PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert not data_dir.exists()
