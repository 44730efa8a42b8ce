"""What PostgreSQL itself receives for a read-only query: one statement per loader batch,
nothing around them (no pool pre-ping, no BEGIN/ROLLBACK), counted in the server's own
statement log."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from support.apps import RealServers, own_app
from support.servers import create_database
from support.tracing import README_QUERY

# What a statement looks like in the log with log_statement = 'all': simple-protocol
# statements (BEGIN, ROLLBACK, ...) as "statement:", asyncpg's prepared ones as "execute".
LOGGED = ("LOG:  statement: ", "LOG:  execute ")


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def logged_database(servers: RealServers) -> tuple[str, Path]:
    """A new database whose every statement the server logs, and the server's log."""
    url = create_database(servers.postgres_url, f"log_{uuid.uuid4().hex[:10]}")
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        name = await connection.fetchval("SELECT current_database()")
        await connection.execute(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")
        data_directory = await connection.fetchval("SHOW data_directory")
    finally:
        await connection.close()
    # tests/support/servers.py starts PostgreSQL with `pg_ctl -l <root>/server.log`.
    return url, Path(data_directory).parent / "server.log"


def statements_since(log: Path, offset: int) -> list[str]:
    """The statements logged after `offset`, each whole (a statement's later lines are
    logged as lines that start with a tab)."""
    with log.open("rb") as file:
        file.seek(offset)
        text = file.read().decode(errors="replace")
    statements: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if current is not None and line.startswith("\t"):
            current.append(line.strip())
            continue
        current = None
        if any(marker in line for marker in LOGGED):
            current = [line.split("LOG:  ", 1)[1]]
            statements.append(current)
    return [" ".join(parts) for parts in statements]


async def test_a_read_only_query_sends_one_statement_per_loader_batch(
    request: pytest.FixtureRequest, tmp_path: Path, real_servers: RealServers
) -> None:
    url, log = await logged_database(real_servers)
    async with own_app(request, tmp_path, "real", database_url=url) as app:
        stores = app.app.state.stores
        users = [
            await stores.relational.users.create(
                handle=f"writer{i}",
                email=f"w{i}@example.com",
                display_name=f"W {i}",
                password_hash="x",
            )
            for i in range(3)
        ]
        await stores.relational.follows.follow(users[1].id, users[0].id)
        for i in range(6):
            post = await stores.relational.posts.create(users[i % 3].id, f"post {i}", "b", [], True)
            top = await stores.documents.comments.add(post.id, users[1].id, "top", None)
            await stores.documents.comments.add(post.id, users[2].id, "reply", top.id)
            await stores.documents.reactions.add(post.id, users[2].id, "LIKE")

        async def ask() -> tuple[dict[str, int], list[str]]:
            offset = log.stat().st_size
            response = await app_client.post(app.graphql_url, json={"query": README_QUERY})
            body = response.json()
            assert "errors" not in body, body["errors"]
            assert body["data"]["posts"]["edges"][0]["node"]["commentCount"] == 2
            return body["extensions"]["queryStats"], statements_since(log, offset)

        async with httpx.AsyncClient(timeout=30) as app_client:
            await ask()  # the pool connects, asyncpg prepares
            stats, statements = await ask()

    assert statements, "the server logged no statement: is log_statement on?"
    # Exactly the statements the loaders sent (the app counts those it sends), and no
    # transaction or liveness check around them.
    assert len(statements) == stats["sql"], statements
    assert not [s for s in statements if "BEGIN" in s or "ROLLBACK" in s or "COMMIT" in s]
    assert all(s.startswith("execute") and "SELECT" in s for s in statements), statements
    # The users shown beside posts and comments (the posts' authors read with the posts)
    # are read without their password hash.
    assert any("FROM users" in s or "JOIN users" in s for s in statements), statements
    assert not [s for s in statements if "password_hash" in s]


async def test_a_read_on_a_dead_pooled_connection_is_retried_on_a_new_one(
    request: pytest.FixtureRequest, tmp_path: Path, real_servers: RealServers
) -> None:
    """Without a pre-ping, a pooled connection the server has closed (a restart, a
    failover, an idle timeout) is found dead by the read itself, which then runs again."""
    url, _ = await logged_database(real_servers)
    query = {"query": "{ posts(first: 3) { totalCount edges { node { title } } } }"}
    async with (
        own_app(request, tmp_path, "real", database_url=url) as app,
        httpx.AsyncClient(timeout=30) as client,
    ):
        await app.app.state.stores.relational.posts.create(
            (
                await app.app.state.stores.relational.users.create(
                    handle="a", email="a@example.com", display_name="A", password_hash="x"
                )
            ).id,
            "kept",
            "b",
            [],
            True,
        )
        assert "errors" not in (await client.post(app.graphql_url, json=query)).json()
        admin = await asyncpg.connect(asyncpg_dsn(url))
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        assert ended >= 1  # the app's pooled connections

        body = (await client.post(app.graphql_url, json=query)).json()
    assert "errors" not in body, body["errors"]
    assert body["data"]["posts"]["totalCount"] == 1
    assert body["data"]["posts"]["edges"][0]["node"]["title"] == "kept"
