"""The SQLAlchemy engine for PostgreSQL (asyncpg) or SQLite (aiosqlite), with the
safeguards every statement passes: NUL characters refused, a time limit enforced.

Every statement runs under a time limit when one is configured
(`statement_timeout_seconds`): PostgreSQL enforces it server-side
(`statement_timeout`, SQLSTATE 57014, with asyncpg's `command_timeout` a little
above it as a client-side safety net); SQLite (whose reads run on the event loop and
whose writes run in aiosqlite's worker thread: see `_ReadsOnTheLoop`) is interrupted
by a progress handler once the statement's deadline has passed (SQLITE_INTERRUPT).
Either way the session gets an exception that `datasources.failures.classify` names
TIMEOUT, and the connection stays usable.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from datasources.relational.models import utc_from_text


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


# asyncpg's own client-side limit sits this far above the server's statement_timeout,
# so the server's cancel (a clean SQLSTATE 57014) normally wins; the client-side one
# covers a server that stopped answering altogether.
CLIENT_TIMEOUT_MARGIN_SECONDS = 1.0

# SQLite calls the progress handler every this many virtual-machine instructions
# (a few hundred microseconds of work): often enough to stop within milliseconds of
# the deadline, rarely enough to cost nothing measurable.
SQLITE_PROGRESS_INSTRUCTIONS = 10_000


# The `sqlite_begin` execution option of a connection that must not begin a transaction.
SQLITE_NO_BEGIN = "none"


def create_engine(url: str, *, statement_timeout_seconds: float | None = None) -> AsyncEngine:
    """An engine for `url`; with `statement_timeout_seconds`, no statement runs longer."""
    if statement_timeout_seconds is not None and statement_timeout_seconds <= 0:
        raise ValueError("statement_timeout_seconds must be positive")
    engine = _create_engine(url, statement_timeout_seconds)
    _refuse_nul(engine)
    return engine


def _postgres_connect_args(seconds: float | None) -> dict[str, Any]:
    # Per session, so they also hold inside transactions and for the connection's
    # whole life in the pool. Timestamps are read as ISO text (see _timestamps_as_text).
    settings = {"DateStyle": "ISO"}
    if seconds is None:
        return {"server_settings": settings}
    settings["statement_timeout"] = str(max(1, round(seconds * 1000)))
    return {"server_settings": settings, "command_timeout": seconds + CLIENT_TIMEOUT_MARGIN_SECONDS}


def _timestamp_text(value: Any) -> str:
    if isinstance(value, datetime):
        # A naive value is UTC, as every value Agora stores.
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()
    return str(value)


def _timestamps_as_text(engine: AsyncEngine) -> None:
    """PostgreSQL sends `timestamptz` values as ISO text, read through a bounded cache
    into UTC datetimes (the values asyncpg's binary codec gives). asyncpg decodes a
    binary timestamp in about 1 µs, half of the CPU of reading a page of posts (four
    timestamps a row); the same rows are read again and again, and a cached text
    costs a fifth of that."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.run_async(
            lambda connection: connection.set_type_codec(
                "timestamptz",
                schema="pg_catalog",
                encoder=_timestamp_text,
                decoder=utc_from_text,
                format="text",
            )
        )


def _create_engine(url: str, statement_timeout_seconds: float | None) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping: it costs a round trip per checkout (BEGIN, an empty query and
        # ROLLBACK on the wire). A dead connection (a restarted or failed-over server)
        # fails its statement instead; SQLAlchemy then replaces every pooled connection
        # opened before the failure, and Sessions retries a read once (sessions.py).
        postgres = create_async_engine(
            url,
            pool_size=10,
            max_overflow=10,
            pool_recycle=1800,
            hide_parameters=True,  # errors and logs must not carry emails or hashes
            connect_args=_postgres_connect_args(statement_timeout_seconds),
            json_deserializer=orjson.loads,  # a tenth of json.loads's time for tags
        )
        _timestamps_as_text(postgres)
        return postgres
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # No ROLLBACK when a connection goes back to the pool (a thread hop per read):
    # sqlite3 opens no transaction of its own here (isolation_level None), and every
    # transaction SQLAlchemy begins it also ends, committed or rolled back.
    database = parsed.database or ":memory:"
    engine = create_async_engine(
        url,
        async_creator=lambda: _ReadsOnTheLoop.open(database, timeout=30),
        hide_parameters=True,
        pool_reset_on_return=None,
        json_deserializer=orjson.loads,
    )
    _configure_sqlite(engine)
    if statement_timeout_seconds is not None:
        _limit_sqlite_statements(engine, statement_timeout_seconds)
    return engine


# A statement that only reads and is served by an index (see tests/test_index_plans.py):
# every SELECT but a substring search, which may read a whole table.
_INDEXED_READ = re.compile(r"\s*SELECT\b(?!.*\bLIKE\b)", re.IGNORECASE | re.DOTALL)


@functools.lru_cache(maxsize=1024)
def is_indexed_read(sql: str) -> bool:
    # Cached: the statements are SQLAlchemy's compiled ones, the same few texts again.
    return _INDEXED_READ.match(sql) is not None


class _ReadsOnTheLoop(aiosqlite.Connection):
    """An aiosqlite connection that runs its reads on the event loop, and the rest on
    its worker thread as aiosqlite does.

    A read hops to the worker thread and back four times (cursor, execute, fetch,
    close): about 0.5 ms of wake-ups for a statement that SQLite answers from an index
    in tens of microseconds. In WAL mode a read never waits for a lock (readers see
    the last commit; writers do not block them), so running it on the loop costs the
    loop no more than the read itself. Writes, which may wait for another writer's
    lock (busy_timeout), COMMIT and ROLLBACK of a transaction, and substring searches
    stay on the thread. SQLAlchemy awaits every call on a connection before the next,
    so the sqlite3 connection is never used by both threads at once."""

    @classmethod
    async def open(cls, database: str, **kwargs: Any) -> _ReadsOnTheLoop:
        def connector() -> sqlite3.Connection:
            # Used by this thread and the worker thread, one call at a time.
            return sqlite3.connect(database, check_same_thread=False, **kwargs)

        connection = cls(connector, iter_chunk_size=64)
        connection._thread.daemon = True
        await connection  # starts the worker thread, which connects
        return connection

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is not None and _cheap(fn, args):
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)


def _cheap(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    """Whether a call on a sqlite3 connection or cursor can neither wait for a lock nor
    read more than an index's worth of rows."""
    owner = getattr(fn, "__self__", None)
    name = getattr(fn, "__name__", "")
    if isinstance(owner, sqlite3.Cursor):
        if name == "execute":
            return bool(args) and isinstance(args[0], str) and is_indexed_read(args[0])
        return name in ("fetchone", "fetchmany", "fetchall", "close")
    if isinstance(owner, sqlite3.Connection):
        # COMMIT or ROLLBACK outside a transaction does nothing.
        return name == "cursor" or (name in ("commit", "rollback") and not owner.in_transaction)
    return False


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
        if mode == SQLITE_NO_BEGIN:  # a lone read (Sessions.rows): SQLite runs it atomically
            return
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


class _Deadline:
    """When the statement running on one SQLite connection must stop (None: no statement
    is running). Set and cleared on the event loop, read by the thread that steps the
    statement (the loop's for a read, aiosqlite's worker for the rest); a float
    assignment is atomic, and a stale read costs at most one handler call."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at: float | None = None

    def passed(self) -> bool:
        """The progress handler: a true result makes SQLite interrupt the statement."""
        at = self.at
        return at is not None and time.monotonic() > at


_DEADLINE_KEY = "agora_statement_deadline"


def _limit_sqlite_statements(engine: AsyncEngine, seconds: float) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _install(dbapi_connection: Any, record: Any) -> None:
        deadline = _Deadline()
        record.info[_DEADLINE_KEY] = deadline
        # The sqlite3 connection belongs to aiosqlite's thread: install the handler there.
        dbapi_connection.run_async(
            lambda driver: driver.set_progress_handler(
                deadline.passed, SQLITE_PROGRESS_INSTRUCTIONS
            )
        )

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        deadline = conn.info.get(_DEADLINE_KEY)
        if deadline is not None:
            deadline.at = time.monotonic() + seconds

    def _clear(conn: Any) -> None:
        # A connection being invalidated may refuse even this: then it is discarded anyway.
        with contextlib.suppress(Exception):
            if conn is not None:
                end_deadline(conn.info)

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _finish(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        # The aiosqlite adapter has fetched every row by now (no server-side cursors),
        # so the limit covered the whole statement; COMMIT and ROLLBACK run unlimited.
        _clear(conn)

    @event.listens_for(engine.sync_engine, "handle_error")
    def _failed(context: Any) -> None:
        _clear(context.connection)


def end_deadline(info: dict[Any, Any]) -> None:
    """Clears the time limit of the SQLite connection whose pooled record has `info`
    (its statement ended, or failed; nothing for a connection without one)."""
    deadline = info.get(_DEADLINE_KEY)
    if deadline is not None:
        deadline.at = None
