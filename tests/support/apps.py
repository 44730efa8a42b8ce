"""Agora apps served by a real uvicorn inside the test's event loop, on either backend.

Two backends run every datasource and API test:
- "embedded": SQLite file, the embedded document server, the in-process event bus;
- "real": PostgreSQL and Redis started from the machine's binaries, SecantusDB from PyPI
  (the session's servers, from the `real_servers` fixture).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from datasources.relational import open_relational_store
from datasources.relational.migrate import upgrade
from settings import Settings, load_settings
from support.servers import RedisHandle, create_database

BACKENDS = ["embedded", "real"]

UNLIMITED = {
    "rate_limit_per_address": 10_000_000,
    "rate_limit_per_account": 10_000_000,
    "auth_rate_limit_per_address": 10_000_000,
    "auth_rate_limit_per_account": 10_000_000,
    "cost_budget_points": 1_000_000_000,
    "ws_connections_per_minute_per_address": 10_000_000,
    "ws_max_anonymous_connections_per_address": 100_000,
    "ws_max_anonymous_subscriptions_per_address": 1_000_000,
    # The outbox sweeps at start-up, then every OUTBOX_SWEEP_SECONDS: not in the middle
    # of a test that counts statements, commands, spans or pool checkouts.
    "outbox_sweep_seconds": 3600,
}


@dataclass(frozen=True)
class RealServers:
    """The session's PostgreSQL, SecantusDB and Redis: what the "real" backend runs on."""

    postgres_url: str
    mongodb_url: str
    redis: RedisHandle


def empty_relational_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty relational database: an SQLite file ("sqlite") or PostgreSQL."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'agora.db'}"
    return str(request.getfixturevalue("fresh_postgres"))


def backend_settings(
    backend: str,
    data_dir: Path,
    request: pytest.FixtureRequest,
    *,
    isolated_db: bool = False,
    **overrides: Any,
) -> Settings:
    """Settings for an app on the given backend; real servers are started on demand."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "app_env": "development",
        # The suite's many clients all come from 127.0.0.1: the limits get their own
        # apps and tests (test_protection*.py, test_auth_rate_limits.py).
        **UNLIMITED,
        **overrides,
    }
    if backend == "real":
        servers: RealServers = request.getfixturevalue("real_servers")
        postgres = servers.postgres_url
        values.setdefault(
            "database_url",
            create_database(postgres, f"app_{uuid.uuid4().hex[:12]}") if isolated_db else postgres,
        )
        values.setdefault("mongodb_url", servers.mongodb_url)
        values.setdefault("mongodb_database", f"agora_{uuid.uuid4().hex[:8]}")
        values.setdefault("redis_url", servers.redis.url)
    return load_settings(**values)


class Endpoints:
    """Where an app answers: its base `url`, and /graphql over HTTP and WebSocket."""

    url: str

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    @property
    def ws_url(self) -> str:
        return self.graphql_url.replace("http://", "ws://")


def http_client(app: Endpoints) -> httpx.AsyncClient:
    """An HTTP client of the app, for `async with`."""
    return httpx.AsyncClient(base_url=app.url, timeout=30)


@dataclass
class RunningApp(Endpoints):
    url: str
    settings: Settings
    server: uvicorn.Server
    task: asyncio.Task[None]
    app: Starlette

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


async def migrate(settings: Settings) -> None:
    """What `agora migrate` does: production does not migrate at start-up."""
    store = open_relational_store(settings.sqlalchemy_url)
    try:
        await upgrade(store)
    finally:
        await store.close()


async def start_app(settings: Settings) -> RunningApp:
    """Agora served by a real uvicorn on a free loopback port, inside the test's loop."""
    from app import create_app

    # Bound here and handed to uvicorn, which binds only after the app's start-up: a
    # port merely chosen could meanwhile be chosen again, by the embedded document
    # server's own free-port pick during that start-up.
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", 0))
    port = int(listening.getsockname()[1])
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="on",
        log_level="warning",
        proxy_headers=False,  # as `agora serve` runs it: the app reads X-Forwarded-For
        ws_max_size=settings.ws_max_message_bytes,
        ws_per_message_deflate=settings.ws_per_message_deflate,
    )
    server = uvicorn.Server(config)
    # The test runner owns SIGINT; uvicorn must not swallow it.
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        if task.done():
            listening.close()
            task.result()
            raise RuntimeError("uvicorn exited during start-up")
        await asyncio.sleep(0.02)
    return RunningApp(f"http://127.0.0.1:{port}", settings, server, task, app)


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[RunningApp]:
    """The app of these settings, running for the block."""
    running = await start_app(settings)
    try:
        yield running
    finally:
        await running.stop()


@contextlib.asynccontextmanager
async def own_app(
    request: pytest.FixtureRequest, data_dir: Path, backend: str = "embedded", **overrides: Any
) -> AsyncIterator[RunningApp]:
    """An app of the test's own, with its own settings (production ones are migrated
    first: production does not migrate at start-up)."""
    settings = backend_settings(backend, data_dir, request, **overrides)
    if settings.is_production:
        await migrate(settings)
    async with serving(settings) as running:
        yield running


@contextlib.asynccontextmanager
async def app_with(
    request: pytest.FixtureRequest, data_dir: Path, backend: str = "embedded", **overrides: Any
) -> AsyncIterator[tuple[RunningApp, httpx.AsyncClient]]:
    """`own_app`, and an HTTP client of it."""
    async with (
        own_app(request, data_dir, backend, **overrides) as running,
        http_client(running) as http,
    ):
        yield running, http
