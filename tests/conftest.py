"""Shared fixtures: real servers (PostgreSQL, Redis, SecantusDB), Node.js and running
Agora apps. The helpers the test modules share live in tests/support/.

Two backends run every datasource and API test:
- "embedded": SQLite file, the embedded document server, the in-process event bus;
- "real": PostgreSQL and Redis started from the machine's binaries, SecantusDB from PyPI.
With CI=true a server that cannot be started fails the run instead of skipping.

Every test that needs one of those servers or Node.js is marked `servers` (see
`pytest_collection_modifyitems`): `pytest -m "not servers"` runs on a machine that has
none of them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from datasources.documents import DocumentStore, EmbeddedDocumentServer, open_document_store
from datasources.relational import RelationalStore, open_relational_store
from datasources.relational.migrate import upgrade
from support.apps import (
    BACKENDS,
    RealServers,
    RunningApp,
    backend_settings,
    empty_relational_url,
    http_client,
    serving,
)
from support.browser import find_chromium
from support.cluster import Cluster, running_cluster
from support.graphql import GraphQLClient
from support.node import find_node
from support.servers import (
    RedisHandle,
    Starter,
    available,
    create_database,
    find_postgres,
    find_redis,
    find_secantus,
    postgres_server,
    redis_server,
    secantus_server,
    started,
)
from support.time_travel import TimeTravel

# Fixtures that start PostgreSQL, Redis or SecantusDB, or need Node.js or Chromium: a test that
# uses one of them, directly or through another fixture, needs servers.
SERVER_FIXTURES = frozenset(
    {
        "postgres_url",
        "redis",
        "secantus_url",
        "own_redis",
        "start_postgres",
        "start_redis",
        "start_secantus",
        "node",
        "chromium_binary",
    }
)
# Parameters that pick the real-servers variant of a fixture or a test: the "real"
# backend (BACKENDS), PostgreSQL next to SQLite, Redis next to the in-process
# implementation, SecantusDB next to the embedded document server.
SERVER_VARIANTS = frozenset({"real", "postgresql", "redis", "secantus"})


def needs_servers(item: pytest.Item) -> bool:
    if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    return any(isinstance(value, str) and value in SERVER_VARIANTS for value in params)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if needs_servers(item):
            item.add_marker(pytest.mark.servers)


# ---------------------------------------------------------------------------
# Real servers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from started(postgres_server, tmp_path_factory.mktemp("pg"))


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisHandle]:
    yield from started(redis_server, tmp_path_factory.mktemp("redis"))


@pytest.fixture(scope="session")
def secantus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from started(secantus_server, tmp_path_factory.mktemp("secantus"))


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    """Debian's Chromium, for the tests that drive a real browser."""
    return available(find_chromium)


@pytest.fixture(scope="session")
def real_servers(postgres_url: str, secantus_url: str, redis: RedisHandle) -> RealServers:
    return RealServers(postgres_url, secantus_url, redis)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisHandle]:
    """A redis-server of this test's own, to stop and start without disturbing others."""
    yield from started(redis_server, tmp_path)


_database_counter = iter(range(1, 10_000))


@pytest.fixture
def fresh_postgres(postgres_url: str) -> str:
    """An empty PostgreSQL database of its own."""
    return create_database(postgres_url, f"t{next(_database_counter)}_{uuid.uuid4().hex[:8]}")


@pytest.fixture(params=["embedded", "secantus"])
async def documents(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DocumentStore]:
    """An empty document store of its own: the embedded server, then SecantusDB."""
    database = f"t_{uuid.uuid4().hex[:8]}"
    if request.param == "embedded":
        store = await open_document_store(None, database, embedded=EmbeddedDocumentServer(tmp_path))
    else:
        store = await open_document_store(request.getfixturevalue("secantus_url"), database)
    await store.ensure_indexes()
    yield store
    await store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def relational_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RelationalStore]:
    """A migrated, empty relational store: the embedded SQLite file, then PostgreSQL."""
    relational = open_relational_store(empty_relational_url(request.param, tmp_path, request))
    await upgrade(relational)
    yield relational
    await relational.close()


@pytest.fixture
def start_postgres() -> Starter:
    """`postgres_server`, once PostgreSQL's binaries are found (for tests of starting it)."""
    available(find_postgres)
    return postgres_server


@pytest.fixture
def start_redis() -> Starter:
    """`redis_server`, once redis-server is found (for tests of starting it)."""
    available(find_redis)
    return redis_server


@pytest.fixture
def start_secantus() -> Starter:
    """`secantus_server`, once SecantusDB is installed (for tests of starting it)."""
    available(find_secantus)
    return secantus_server


@pytest.fixture(scope="session")
def node() -> str:
    """The Node.js binary, once tests/js has its npm packages."""
    return available(find_node)


@pytest.fixture(scope="module")
def cluster(
    real_servers: RealServers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two server processes sharing the real servers, for the tests of one module."""
    with running_cluster(real_servers, tmp_path_factory.mktemp("multiprocess")) as running:
        yield running


# ---------------------------------------------------------------------------
# Running apps
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session", params=BACKENDS)
async def app_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningApp]:
    """One running app per backend, shared by the API tests (they use unique handles)."""
    settings = backend_settings(request.param, tmp_path_factory.mktemp("app"), request)
    async with serving(settings) as running:
        yield running


@pytest.fixture
async def http(app_server: RunningApp) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app_server) as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def time_travel(monkeypatch: pytest.MonkeyPatch) -> TimeTravel:
    """Waiting periods pass at once for the modules the test installs it in."""
    return TimeTravel(monkeypatch)
