"""Shared fixtures: real servers (PostgreSQL, Redis, SecantusDB) and running Agora apps.

Two backends run every datasource and API test:
- "embedded": SQLite file, the embedded document server, the in-process event bus;
- "real": PostgreSQL and Redis started from the machine's binaries, SecantusDB from PyPI.
With CI=true a server that cannot be started fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from servers import (
    RedisHandle,
    ServerUnavailable,
    create_database,
    postgres_server,
    redis_server,
    secantus_server,
)
from starlette.applications import Starlette

from datasources.relational import RelationalStore, open_relational_store
from datasources.relational.migrate import upgrade
from schema.global_ids import from_global_id
from settings import Settings, load_settings

IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["embedded", "real"]


def unavailable(error: ServerUnavailable) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and a required server is unavailable: {error}")
    pytest.skip(str(error))


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with postgres_server(tmp_path_factory.mktemp("pg")) as url:
            yield url
    except ServerUnavailable as error:
        unavailable(error)


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisHandle]:
    try:
        with redis_server(tmp_path_factory.mktemp("redis")) as handle:
            yield handle
    except ServerUnavailable as error:
        unavailable(error)


@pytest.fixture(scope="session")
def secantus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with secantus_server(tmp_path_factory.mktemp("secantus")) as url:
            yield url
    except ServerUnavailable as error:
        unavailable(error)


_database_counter = iter(range(1, 10_000))

UNLIMITED = {
    "rate_limit_per_address": 10_000_000,
    "rate_limit_per_account": 10_000_000,
    "auth_rate_limit_per_address": 10_000_000,
    "auth_rate_limit_per_account": 10_000_000,
    "cost_budget_points": 1_000_000_000,
    "ws_connections_per_minute_per_address": 10_000_000,
    "ws_max_anonymous_connections_per_address": 100_000,
    "ws_max_anonymous_subscriptions_per_address": 1_000_000,
}


@pytest.fixture
def fresh_postgres(postgres_url: str) -> str:
    """An empty PostgreSQL database of its own."""
    return create_database(postgres_url, f"t{next(_database_counter)}_{uuid.uuid4().hex[:8]}")


def empty_relational_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty relational database: an SQLite file ("sqlite") or PostgreSQL."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'agora.db'}"
    return str(request.getfixturevalue("fresh_postgres"))


@pytest.fixture(params=["sqlite", "postgresql"])
async def relational_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RelationalStore]:
    """A migrated, empty relational store: the embedded SQLite file, then PostgreSQL."""
    relational = open_relational_store(empty_relational_url(request.param, tmp_path, request))
    await upgrade(relational)
    yield relational
    await relational.close()


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
        postgres = request.getfixturevalue("postgres_url")
        values.setdefault(
            "database_url",
            create_database(postgres, f"app_{uuid.uuid4().hex[:12]}") if isolated_db else postgres,
        )
        values.setdefault("mongodb_url", request.getfixturevalue("secantus_url"))
        values.setdefault("mongodb_database", f"agora_{uuid.uuid4().hex[:8]}")
        values.setdefault("redis_url", request.getfixturevalue("redis").url)
    return load_settings(**values)


@dataclass
class RunningApp:
    url: str
    settings: Settings
    server: uvicorn.Server
    task: asyncio.Task[None]
    app: Starlette

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    @property
    def ws_url(self) -> str:
        return self.graphql_url.replace("http://", "ws://")

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


def free_port() -> int:
    from datasources.documents.embedded_server import free_port as pick

    return pick()


async def start_app(settings: Settings) -> RunningApp:
    """Agora served by a real uvicorn on a free loopback port, inside the test's loop."""
    from app import create_app

    port = free_port()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="on",
        log_level="warning",
        proxy_headers=False,  # as `agora serve` runs it: the app reads X-Forwarded-For
        ws_max_size=settings.ws_max_message_bytes,
    )
    server = uvicorn.Server(config)
    # The test runner owns SIGINT; uvicorn must not swallow it.
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn exited during start-up")
        await asyncio.sleep(0.02)
    return RunningApp(f"http://127.0.0.1:{port}", settings, server, task, app)


@contextlib.asynccontextmanager
async def own_app(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str = "embedded", **overrides: Any
) -> AsyncIterator[RunningApp]:
    """An app of the test's own, with its own settings (production ones are migrated
    first: production does not migrate at start-up)."""
    settings = backend_settings(backend, tmp_path, request, **overrides)
    if settings.is_production:
        store = open_relational_store(settings.sqlalchemy_url)
        await upgrade(store)
        await store.close()
    running = await start_app(settings)
    try:
        yield running
    finally:
        await running.stop()


REGISTER_OVER_HTTP = (
    "mutation($i: RegisterInput!) { register(input: $i) "
    "{ user { id handle } accessToken refreshToken errors { code } } }"
)


async def register_over_http(http: httpx.AsyncClient, prefix: str = "u") -> dict[str, Any]:
    """Registers a fresh user; the `register` payload (user, tokens, errors)."""
    handle = unique_handle(prefix)
    response = await http.post(
        "/graphql",
        json={
            "query": REGISTER_OVER_HTTP,
            "variables": {
                "i": {
                    "handle": handle,
                    "email": f"{handle}@example.com",
                    "password": "correct horse battery",
                    "displayName": handle,
                }
            },
        },
    )
    return dict(response.json()["data"]["register"])


@pytest.fixture(scope="session", params=BACKENDS)
async def app_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningApp]:
    """One running app per backend, shared by the API tests (they use unique handles)."""
    settings = backend_settings(request.param, tmp_path_factory.mktemp("app"), request)
    running = await start_app(settings)
    yield running
    await running.stop()


@pytest.fixture
async def http(app_server: RunningApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app_server.url, timeout=30) as client:
        yield client


class GraphQLClient:
    """Posts GraphQL over HTTP the way a frontend does."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.raw(query, variables, token)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


def key_of(global_id: str) -> str:
    """The database key inside a Relay global ID."""
    return from_global_id(global_id)[1]


def unique_handle(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
