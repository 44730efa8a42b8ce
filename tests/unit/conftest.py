"""Fixtures of the fast tier: no PostgreSQL, no Redis, no Node, no network.

The embedded datastores (an SQLite file, the embedded document server on loopback,
the in-process event bus and rate limiter) are opened once per session, and the
schema is driven in-process with `schema.execute`, the way the HTTP layer does it
(`web/graphql_http.py`): a fresh context per operation, authenticated from an
`Authorization` value, and a fresh admission record (`begin_admission`).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from datasources.stores import Datastores, open_datastores_for
from schema import AgoraSchema, build_schema
from settings import Settings, load_settings

from .inprocess import UNLIMITED, InProcessGraphQL


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("agora-unit")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    # Every store named explicitly, so no DATABASE_URL/MONGODB_URL/REDIS_URL in the
    # environment can send these tests to a real server.
    return load_settings(
        app_env="development",
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'agora.db'}",
        mongodb_url=None,
        redis_url=None,
        jwt_secret=secrets.token_urlsafe(48),
        **UNLIMITED,
    )


@pytest.fixture(scope="session")
async def stores(settings: Settings) -> AsyncIterator[Datastores]:
    """The embedded datastores, opened once (about half a second) and migrated."""
    opened = await open_datastores_for(settings)
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
def schema() -> AgoraSchema:
    return build_schema(production=False)


@pytest.fixture(scope="session")
def gql(schema: AgoraSchema, settings: Settings, stores: Datastores) -> InProcessGraphQL:
    return InProcessGraphQL(schema, settings, stores)
