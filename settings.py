"""Configuration from the environment, validated once at start-up."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from logs import report_failure

# Secrets shorter than this, or well-known placeholders, are refused in production.
MIN_JWT_SECRET_LENGTH = 32
WEAK_SECRETS = {"secret", "changeme", "change-me", "jwt-secret", "password", "development"}

JWT_SECRET_FILE = "jwt_secret"  # noqa: S105 - a file name


class ConfigError(Exception):
    """A configuration problem, phrased as one line that names the variable."""


class StartupFailure(Exception):
    """Why the server (or a command) cannot start, in one line that says what to do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    app_env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    database_url: str | None = None
    mongodb_url: str | None = None
    mongodb_database: str = Field(default="agora", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    redis_url: str | None = None
    jwt_secret: SecretStr | None = None
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=300, le=365 * 86_400)
    # Comma-separated list; same-origin requests are always allowed.
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    # Subscriptions
    event_retention: int = Field(default=10_000, ge=10, le=10_000_000)
    event_subscriber_buffer: int = Field(default=1000, ge=1, le=1_000_000)
    ws_max_subscriptions_per_connection: int = Field(default=20, ge=1, le=1000)
    ws_max_connections_per_user: int = Field(default=10, ge=1, le=1000)
    ws_legacy_protocol: bool = False
    # WebSocket messages larger than this close the connection (1009).
    ws_max_message_bytes: int = Field(default=65_536, ge=1_024, le=16_777_216)
    # permessage-deflate: off, so a frame shared by many subscribers is not compressed
    # again for each of them (README, "Subscriptions at scale").
    ws_per_message_deflate: bool = False
    # How often each process's outbox relay looks for recorded events nobody published
    # (a process died between a commit and its publish); datasources/outbox_relay.py.
    outbox_sweep_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Fault injection, for tests only (refused in production): `exit_after_commit` ends
    # the process right after a write that records an event, before it is published.
    test_fault: Literal["", "exit_after_commit"] = ""
    # Anonymous clients: concurrent WebSocket connections and subscriptions per address.
    ws_max_anonymous_connections_per_address: int = Field(default=20, ge=1, le=100_000)
    ws_max_anonymous_subscriptions_per_address: int = Field(default=100, ge=1, le=1_000_000)
    # New WebSocket connections per address per minute, signed in or not.
    ws_connections_per_minute_per_address: int = Field(default=120, ge=1)
    # Time limits
    body_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    execution_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    sql_statement_timeout_seconds: float = Field(default=5.0, gt=0, le=600)
    mongodb_timeout_ms: int = Field(default=5_000, ge=10, le=600_000)
    mongodb_server_selection_timeout_ms: int = Field(default=1_000, ge=10, le=60_000)
    # Rate limits: requests per minute, per client address and per signed-in account.
    rate_limit_per_address: int = Field(default=600, ge=1)
    rate_limit_per_account: int = Field(default=1_200, ge=1)
    # login / register / refreshToken attempts per 15 minutes, per address and per account.
    auth_rate_limit_per_address: int = Field(default=30, ge=1)
    auth_rate_limit_per_account: int = Field(default=10, ge=1)
    max_mutations_per_operation: int = Field(default=10, ge=1, le=1_000)
    # Cost budget: points per client (viewer, or address when anonymous) per window.
    cost_budget_points: int = Field(default=2_000_000, ge=1)
    cost_budget_window_seconds: int = Field(default=3_600, ge=1, le=86_400)
    max_operation_cost: int = Field(default=20_000, ge=1)
    # Addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Persisted documents
    persisted_queries_max_entries: int = Field(default=10_000, ge=0)
    # A JSON manifest {hash: document} (GraphQL Codegen's persisted-documents.json);
    # with trusted_documents_only, only those documents run.
    trusted_documents_file: Path | None = None
    trusted_documents_only: bool = False
    # /metrics: open in development; in production only with this bearer token set.
    metrics_token: SecretStr | None = None

    _jwt_key: str | None = PrivateAttr(default=None)

    @field_validator("app_env", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator(
        "database_url", "mongodb_url", "redis_url", "jwt_secret", "metrics_token", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _database_driver(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, sep, rest = value.partition("://")
        if not sep:
            raise ValueError("must be a URL such as postgresql://user:pass@host:5432/db")
        # Plain PostgreSQL URLs get the async driver, so the usual URL form just works.
        if scheme in {"postgres", "postgresql", "postgresql+asyncpg"}:
            return f"postgresql+asyncpg://{rest}"
        if scheme in {"sqlite", "sqlite+aiosqlite"}:
            return f"sqlite+aiosqlite://{rest}"
        raise ValueError("only postgresql:// and sqlite:// URLs are supported")

    @field_validator("mongodb_url")
    @classmethod
    def _mongodb_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("must start with mongodb:// or mongodb+srv://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("trusted_proxies", "allowed_origins", mode="before")
    @classmethod
    def _split_lists(cls, value: object, info: ValidationInfo) -> object:
        """Comma-separated in the environment; origins never end with a slash."""
        if not isinstance(value, str):
            return value
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if info.field_name == "allowed_origins":
            return [part.rstrip("/") for part in parts]
        return parts

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an address or network: {entry!r}") from None
        return value

    @field_validator("trusted_documents_file", mode="before")
    @classmethod
    def _empty_path_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _trusted_documents(self) -> Settings:
        if self.trusted_documents_only and self.trusted_documents_file is None:
            raise ValueError("TRUSTED_DOCUMENTS_ONLY: needs TRUSTED_DOCUMENTS_FILE")
        return self

    @model_validator(mode="after")
    def _production_secret(self) -> Settings:
        if self.is_production and self.test_fault:
            raise ValueError("TEST_FAULT: for tests only, refused when APP_ENV=production")
        if self.is_production:
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if not secret:
                raise ValueError("JWT_SECRET: required when APP_ENV=production")
            if len(secret) < MIN_JWT_SECRET_LENGTH or secret.lower() in WEAK_SECRETS:
                raise ValueError(
                    f"JWT_SECRET: too weak for production "
                    f"(use at least {MIN_JWT_SECRET_LENGTH} random characters)"
                )
        return self

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'agora.db').resolve()}"

    def jwt_key(self) -> str:
        """The signing key; in development one is generated once and kept in DATA_DIR."""
        if self._jwt_key is None:
            self._jwt_key = self._load_jwt_key()
        return self._jwt_key

    def _load_jwt_key(self) -> str:
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / JWT_SECRET_FILE
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # O_EXCL: two processes starting together must not each write their own key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["loc"]:
        variable = str(first["loc"][0]).upper()
        return f"{variable}: {message}"
    return message


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; raises ConfigError with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(f"invalid configuration: {_describe(error)}") from None


def load_settings_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as error:
        # The settings are invalid, so whether this is production is read directly.
        production = os.environ.get("APP_ENV", "").strip().lower() == "production"
        report_failure(f"agora: {error}", json=production)
        raise SystemExit(2) from None
