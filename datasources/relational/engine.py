"""Engine, sessions and the store object that resolvers reach the relational data through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


class UnstorableText(ValueError):
    """Text with a NUL character: PostgreSQL cannot store it (SQLite could), so
    neither store accepts it and the two behave alike."""

    def __init__(self) -> None:
        super().__init__("text must not contain NUL characters")


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _check(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> tuple[str, Any]:
        if _has_nul(parameters):
            raise UnstorableText()
        return statement, parameters


def create_engine(url: str) -> AsyncEngine:
    engine = _create_engine(url)
    _refuse_nul(engine)
    return engine


def _create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(
            url,
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,
            pool_recycle=1800,
            hide_parameters=True,  # errors and logs must not carry emails or hashes
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        # We emit BEGIN ourselves (below), so the driver must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA foreign_keys=ON",
            "PRAGMA journal_mode=WAL",
            "PRAGMA busy_timeout=30000",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that reads
        # and then writes fails at once with SQLITE_BUSY when another writer won.
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


async def advance_id_sequence(session: AsyncSession, table: str) -> None:
    """After inserting rows with explicit ids: PostgreSQL's sequence must move past
    them, or the next ordinary insert collides (SQLite needs nothing)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) "  # noqa: S608
                f"FROM {table} HAVING max(id) IS NOT NULL"
            )
        )


class RelationalStore:
    """Owns the engine; hands out one short-lived session per unit of work.

    Sessions are never shared: concurrently running resolvers each get their own.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        from datasources.relational.follows import FollowRepository
        from datasources.relational.posts import PostRepository
        from datasources.relational.refresh_tokens import RefreshTokenRepository
        from datasources.relational.users import UserRepository

        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self.users = UserRepository(self)
        self.posts = PostRepository(self)
        self.follows = FollowRepository(self)
        self.refresh_tokens = RefreshTokenRepository(self)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits on success and rolls back on any error."""
        async with self._sessions() as session, session.begin():
            if self.is_sqlite:
                await session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def open_relational_store(
    url: str, *, statement_timeout_seconds: float | None = None
) -> RelationalStore:
    return RelationalStore(create_engine(url))
