"""Faults reach the client as INTERNAL_SERVER_ERROR with a request id, and nothing else."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from datasources.relational import open_relational_store
from support.apps import BACKENDS, app_with, backend_settings, migrate, start_app
from support.graphql import GraphQLClient


async def break_users_table(database_url: str) -> None:
    store = open_relational_store(database_url)
    try:
        async with store.engine.begin() as connection:
            await connection.execute(text("ALTER TABLE users RENAME TO users_gone"))
    finally:
        await store.close()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("app_env", ["development", "production"])
async def test_database_fault_is_masked_and_logged(
    backend: str,
    app_env: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = backend_settings(
        backend, tmp_path, request, isolated_db=True, app_env=app_env, jwt_secret="k" * 40
    )
    if app_env == "production":
        await migrate(settings)  # production does not migrate at start-up
    running = await start_app(settings)
    try:
        await break_users_table(settings.sqlalchemy_url)
        async with httpx.AsyncClient(base_url=running.url) as http:
            response = await GraphQLClient(http).raw('{ user(handle: "alice") { id } }')
        assert response.status_code == 200
        body = response.json()
        [error] = body["errors"]
        assert error["message"] == "Internal server error"
        assert error["extensions"] == {
            "code": "INTERNAL_SERVER_ERROR",
            "requestId": response.headers["x-request-id"],
        }
        text_sent = response.text.lower()
        for leak in ("select", "users", "sqlite", "asyncpg", "traceback", "relation"):
            assert leak not in text_sent.replace('"user"', "")
        # The log has the whole story, under the same request id.
        logged = capsys.readouterr().err
        assert response.headers["x-request-id"] in logged
        assert "unhandled error in resolver" in logged
    finally:
        await running.stop()


async def test_production_defaults(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    async with app_with(request, tmp_path, app_env="production", jwt_secret="p" * 40) as (_, http):
        ide = await http.get("/graphql", headers={"accept": "text/html"})
        assert ide.status_code == 404
        introspection = await GraphQLClient(http)("{ __schema { types { name } } }")
        assert introspection["errors"][0]["extensions"]["code"] == ("GRAPHQL_VALIDATION_FAILED")
        assert "data" not in introspection or introspection["data"] is None
        # Ordinary queries still work.
        ordinary = await GraphQLClient(http)("{ viewer { id } }")
        assert ordinary["data"] == {"viewer": None}
        assert "queryStats" not in ordinary.get("extensions", {})  # not in production
