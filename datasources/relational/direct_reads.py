"""The hottest reads, run on the pooled driver connection itself.

A loader's batch or the first page of a listing is one SELECT built once at import.
Through SQLAlchemy's execution (a Connection, an execution context, three greenlet
hops, a Result) a page of 101 posts took about 740 µs of CPU, and the driver's own
work was under 300 of it. A `DirectRead` is compiled once per dialect with
SQLAlchemy's compiler, and each run checks a connection out of the engine's pool,
sends the compiled text with the driver (sqlite3 on the event loop, asyncpg), and
gives each column SQLAlchemy's own result processor: the same rows as
`Sessions.rows` would give, as plain tuples.

A direct read fires the engine's cursor events as SQLAlchemy does (see `fetch`), so
the safeguards every statement passes hold for it too: NUL characters refused and
SQLite's time limit (`engine.py`), the statement counted
(`datasources.instrumentation`). A failure that says the connection is dead marks
the pool's older connections invalid, as SQLAlchemy does; `Sessions` then tries once
more. While tracing is on, `Sessions` runs these reads through SQLAlchemy: the
tracer's listeners need a whole `Connection`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVarTuple

from sqlalchemy import Select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import await_, is_exit_exception

from datasources.failures import Failure, classify
from datasources.relational.engine import end_deadline, is_indexed_read

Ts = TypeVarTuple("Ts")

# SQLAlchemy's marker for an expanding IN parameter, rendered once its length is known.
_EXPANDING = "__[POSTCOMPILE_{}]"
# Texts of an expanding read kept per list length (a loader's batches vary in length).
_MAX_RENDERED = 512


class Disconnected(Exception):
    """The pooled connection was dead (the server restarted or went away)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class DirectRead(Generic[*Ts]):
    """One SELECT, built once; `statement` is what runs through SQLAlchemy instead."""

    def __init__(self, statement: Select[*Ts]) -> None:
        self.statement = statement
        # Per engine's dialect: its processors follow the engine's settings.
        self._forms: dict[Dialect, _Form] = {}

    def form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect)
        if form is None:
            form = self._forms[dialect] = _compile(self.statement, dialect)
        return form


@dataclass
class _Form:
    """A read compiled for one dialect."""

    sql: str
    names: tuple[str, ...]  # the parameters, in the order the text takes them
    fixed: dict[str, Any]  # values the statement itself binds ('PUBLISHED', say)
    processors: dict[str, Callable[[Any], Any]]  # parameter name: SQLAlchemy's bind processor
    expanding: str | None  # the one parameter that is a list (SQLite's IN)
    convert: Callable[[Sequence[Any]], tuple[Any, ...]] | None  # a row's result processors
    rendered: dict[int, str] = field(default_factory=dict)  # `sql` per list length

    def bind(self, parameters: Mapping[str, Any]) -> tuple[str, list[Any]] | None:
        """The text and positional values; None for an empty list (SQLAlchemy renders
        a query of its own for that)."""
        values: list[Any] = []
        sql = self.sql
        for name in self.names:
            if name in parameters:
                value = parameters[name]
            elif name in self.fixed:
                value = self.fixed[name]
            else:
                raise KeyError(f"the read needs a value for its parameter {name!r}")
            process = self.processors.get(name)
            if name == self.expanding:
                if not value:
                    return None
                items = [process(v) for v in value] if process else list(value)
                values.extend(items)
                sql = self._expanded(len(items))
                continue
            values.append(process(value) if process else value)
        return sql, values

    def _expanded(self, length: int) -> str:
        sql = self.rendered.get(length)
        if sql is None:
            assert self.expanding is not None
            sql = self.sql.replace(_EXPANDING.format(self.expanding), ", ".join("?" * length))
            if len(self.rendered) < _MAX_RENDERED:
                self.rendered[length] = sql
        return sql

    def rows(self, fetched: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        convert = self.convert
        if convert is None:
            return [tuple(row) for row in fetched]
        return [convert(row) for row in fetched]


def _compile(statement: Select[*tuple[Any, ...]], dialect: Dialect) -> _Form:
    compiled = statement.compile(dialect=dialect)
    sql = compiled.string
    if dialect.name == "sqlite" and not is_indexed_read(sql):
        # It runs on the event loop (see engine._ReadsOnTheLoop): an index's worth of rows.
        raise ValueError("a direct read on SQLite must be an indexed SELECT")
    names = tuple(compiled.positiontup or ())
    # The compiled names (an anonymous bind is also listed under its own key).
    expanding = sorted({name for name in names if compiled.binds[name].expanding})
    if len(expanding) > 1:
        raise ValueError("a direct read takes at most one list parameter")
    if expanding and dialect.paramstyle != "qmark":
        # Rendered as `?, ?, …` below; PostgreSQL binds a list as one array instead.
        raise ValueError("a direct read takes a list parameter on SQLite only")
    required = {name for name, bind in compiled.binds.items() if bind.required}
    fixed = {
        name: value
        for name, value in compiled.construct_params(_check=False).items()
        if name not in required
    }
    processors = {
        name: process for name, process in compiled._bind_processors.items() if name in names
    }
    columns = [
        entry.type._cached_result_processor(dialect, None) for entry in compiled._result_columns
    ]
    return _Form(
        sql=sql,
        names=names,
        fixed=fixed,
        processors=processors,  # type: ignore[arg-type]
        expanding=expanding[0] if expanding else None,
        convert=_converter(columns),
    )


def _converter(
    processors: Sequence[Callable[[Any], Any] | None],
) -> Callable[[Sequence[Any]], tuple[Any, ...]] | None:
    """A function giving a row with each column through its processor (None: none has
    one). Written out per read, as SQLAlchemy's own row processing is: a loop over the
    columns of every row cost more than the processing itself."""
    if not any(processors):
        return None
    namespace: dict[str, Any] = {
        f"p{i}": process for i, process in enumerate(processors) if process is not None
    }
    items = ", ".join(
        f"p{i}(row[{i}])" if f"p{i}" in namespace else f"row[{i}]" for i in range(len(processors))
    )
    exec(f"def convert(row):\n    return ({items},)", namespace)  # noqa: S102
    convert: Callable[[Sequence[Any]], tuple[Any, ...]] = namespace["convert"]
    return convert


def fetch(engine: Engine, sql: str, values: list[Any]) -> list[Any]:
    """Runs one read on a connection of `engine`'s pool. Inside `greenlet_spawn`: the
    pool may open a connection, and closing one may wait.

    The engine's cursor events fire as SQLAlchemy fires them, with the pooled
    connection in place of a `Connection` (a Connection's `info` is its pooled
    connection's): the listeners that refuse NUL characters, start and end SQLite's
    time limit and count the statement (and the tests' recorders) see this read too."""
    connection = engine.raw_connection()
    parameters: Any = tuple(values)
    try:
        for before in engine.dispatch.before_cursor_execute:
            sql, parameters = before(connection, None, sql, parameters, None, False)
        rows = _run(connection, engine.dialect.name, sql, parameters)
        for after in engine.dispatch.after_cursor_execute:
            after(connection, None, sql, parameters, None, False)
        return rows
    except Exception as error:
        # SQLite's time limit, started by an event, however the read ended (a listener
        # after the one that starts it may refuse the read).
        end_deadline(connection.info)
        if is_exit_exception(error):  # asyncpg's client-side time limit: state unknown
            connection.invalidate(error)
            raise
        if _dead(engine, connection, error):
            # As SQLAlchemy does on a disconnect: this connection and every older one go.
            engine.pool._invalidate(connection, error)
            raise Disconnected(error) from error
        raise
    except BaseException as error:  # cancelled mid-statement: the connection's state is unknown
        connection.invalidate(error)
        raise
    finally:
        connection.close()


def _dead(engine: Engine, connection: PoolProxiedConnection, error: Exception) -> bool:
    """Whether `error` says the connection is gone, as SQLAlchemy would judge it."""
    if classify(error) is Failure.UNAVAILABLE:
        return True
    dbapi = connection.dbapi_connection
    return dbapi is not None and engine.dialect.is_disconnect(error, dbapi, None)  # type: ignore[arg-type]


def _run(connection: PoolProxiedConnection, dialect: str, sql: str, values: Any) -> Any:
    driver: Any = connection.driver_connection
    if dialect != "sqlite":
        return await_(driver.fetch(sql, *values))
    # aiosqlite's connection: its sqlite3 connection, used on the loop for reads.
    cursor = driver._connection.execute(sql, values)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()
