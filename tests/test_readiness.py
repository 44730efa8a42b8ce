"""/readyz names the datastore that stops answering, and recovers when it is back."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from datasources.relational import open_relational_store
from support.apps import RealServers, RunningApp, backend_settings, serving
from support.servers import RedisHandle


async def readiness(app: RunningApp) -> httpx.Response:
    async with httpx.AsyncClient(base_url=app.url, timeout=10) as http:
        return await http.get("/readyz")


async def wait_ready(app: RunningApp, seconds: float = 15) -> httpx.Response:
    async with asyncio.timeout(seconds):
        while (response := await readiness(app)).status_code != 200:
            await asyncio.sleep(0.2)
    return response


@pytest.fixture
async def real_app(
    tmp_path: Path, request: pytest.FixtureRequest, real_servers: RealServers
) -> AsyncIterator[RunningApp]:
    async with serving(backend_settings("real", tmp_path, request, isolated_db=True)) as running:
        yield running


async def test_redis_down_is_reported_and_recovers(
    real_app: RunningApp, redis: RedisHandle
) -> None:
    assert (await readiness(real_app)).status_code == 200
    redis.stop()
    try:
        response = await readiness(real_app)
        assert response.status_code == 503
        assert response.json()["failing"] == ["events"]
        # Queries do not depend on Redis and keep working.
        async with httpx.AsyncClient(base_url=real_app.url) as http:
            answer = await http.post("/graphql", json={"query": "{ viewer { id } }"})
        assert answer.json()["data"] == {"viewer": None}
    finally:
        redis.start()
    assert (await wait_ready(real_app)).json()["checks"]["events"] == "ok"


async def test_postgres_database_gone_is_reported(real_app: RunningApp) -> None:
    url = real_app.settings.sqlalchemy_url
    database = url.rsplit("/", 1)[1]
    admin = open_relational_store(re.sub(r"/[^/]+$", "/postgres", url))
    try:
        async with admin.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
    finally:
        await admin.close()
    response = await readiness(real_app)
    assert response.status_code == 503
    assert response.json()["failing"] == ["relational"]


async def test_embedded_document_server_gone_is_reported(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with serving(backend_settings("embedded", tmp_path, request)) as running:
        assert (await readiness(running)).status_code == 200
        embedded = running.app.state.stores.documents._embedded
        embedded._process.kill()
        await embedded._process.wait()
        response = await readiness(running)
        assert response.status_code == 503
        assert response.json()["failing"] == ["documents"]
        assert response.json()["checks"]["relational"] == "ok"
