"""Sessions over one engine, which the repositories run their statements in, and the
statement helpers they share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVarTuple, cast

from sqlalchemy import CursorResult, Executable, Row, Select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.util import greenlet_spawn

from datasources.failures import StoreUnavailable
from datasources.relational.direct_reads import DirectRead, Disconnected, fetch
from datasources.relational.engine import SQLITE_NO_BEGIN
from telemetry.tracing import tracing_enabled

Ts = TypeVarTuple("Ts")


class Sessions:
    """Owns the engine; hands out one short-lived session per unit of work.

    Sessions are never shared: concurrently running resolvers each get their own.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLAlchemy's events make the spans of statements: direct reads make none.
        self._traced = tracing_enabled()
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        # One statement reads one consistent snapshot by itself: no BEGIN and ROLLBACK
        # around it (on PostgreSQL two round trips fewer).
        self._reader = engine.execution_options(
            **(
                {"sqlite_begin": SQLITE_NO_BEGIN}
                if self.is_sqlite
                else {"isolation_level": "AUTOCOMMIT"}
            )
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    async def rows(
        self, statement: Select[*Ts], parameters: Mapping[str, Any] | None = None
    ) -> Sequence[Row[*Ts]]:
        """The rows of one read statement, run on its own, outside any transaction.
        `parameters` are the values of its `bindparam`s: a hot read is built once (at
        import), not per call, which saves about 0.4 ms of SQLAlchemy work a statement."""
        for attempt in _ONCE_AGAIN_IF_DISCONNECTED:
            try:
                async with self._reader.connect() as connection:
                    return (await connection.execute(statement, parameters)).all()
            except DBAPIError as error:
                attempt.check(error)
        raise AssertionError("unreachable")

    async def direct_rows(
        self, read: DirectRead[*Ts], parameters: Mapping[str, Any]
    ) -> Sequence[tuple[*Ts]]:
        """The rows `rows(read.statement, parameters)` gives, read on the driver's
        connection (see direct_reads.py); through SQLAlchemy while tracing is on."""
        form = read.form(self.engine.dialect)
        bound = None if self._traced else form.bind(parameters)
        if bound is None:
            rows: Any = await self.rows(read.statement, parameters)
            return [tuple(row) for row in rows]
        sql, values = bound
        for attempt in _ONCE_AGAIN_IF_DISCONNECTED:
            try:
                fetched = await greenlet_spawn(fetch, self.engine.sync_engine, sql, values)
            except Disconnected as dead:
                if attempt.last:
                    # Judged dead as SQLAlchemy judges it, whatever the driver's error says.
                    raise StoreUnavailable() from dead.error
                continue
            return cast(Sequence[tuple[*Ts]], form.rows(fetched))
        raise AssertionError("unreachable")

    async def scalar(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> Any:
        """The first column of the first row of one read statement (None: no row)."""
        for attempt in _ONCE_AGAIN_IF_DISCONNECTED:
            try:
                async with self._reader.connect() as connection:
                    return await connection.scalar(statement, parameters)
            except DBAPIError as error:
                attempt.check(error)
        raise AssertionError("unreachable")

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


class _Attempt:
    def __init__(self, last: bool) -> None:
        self.last = last

    def check(self, error: DBAPIError) -> None:
        """Re-raises `error` unless it says the pooled connection was dead and another
        attempt follows. (Pools hold no pre-pinged connections: see engine.py.)"""
        if self.last or not error.connection_invalidated:
            raise error


# A read is retried once on a fresh connection when its pooled one turned out dead.
_ONCE_AGAIN_IF_DISCONNECTED = (_Attempt(last=False), _Attempt(last=True))


async def rowcount(session: AsyncSession, statement: UpdateBase) -> int:
    """Runs an UPDATE or DELETE; returns how many rows it matched."""
    result = await session.execute(statement)
    # A DML statement always yields a CursorResult; the session is typed for any statement.
    return cast(CursorResult[Any], result).rowcount


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
