"""Round-trip accounting: SQL statements and MongoDB commands per request.

A request binds a fresh `QueryStats` to a context variable; SQLAlchemy's cursor
events and PyMongo's command monitoring add to whatever stats object is bound in
the task that talks to the database. DataLoader batches run in tasks created
during the request, which inherit the binding.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from pymongo import monitoring
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from telemetry import metrics

# Driver chatter that is not a round trip made on behalf of a request.
MONGO_HOUSEKEEPING = frozenset(
    {
        "hello",
        "ismaster",
        "isMaster",
        "ping",
        "endSessions",
        "buildInfo",
        "saslStart",
        "saslContinue",
        "getnonce",
    }
)


@dataclass
class QueryStats:
    sql: int = 0
    mongo: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"sql": self.sql, "mongo": self.mongo}


_current: ContextVar[QueryStats | None] = ContextVar("query_stats", default=None)


def start_counting() -> tuple[QueryStats, Token[QueryStats | None]]:
    stats = QueryStats()
    return stats, _current.set(stats)


def stop_counting(token: Token[QueryStats | None]) -> None:
    _current.reset(token)


def current_stats() -> QueryStats | None:
    return _current.get()


def instrument_engine(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        stats = _current.get()
        # SQLite's explicit BEGIN (see relational/engine.py) is bookkeeping, not a query;
        # PostgreSQL's is not seen here at all, so skip it to count alike.
        if stats is not None and not statement.startswith("BEGIN"):
            stats.sql += 1

    _measure_pool(engine)


def _measure_pool(engine: AsyncEngine) -> None:
    """Connections checked out of the engine's pool (a detached one leaves the pool), and
    the pool's size while the engine is open."""
    pool = engine.sync_engine.pool
    size = pool.size() if hasattr(pool, "size") else 0
    overflow = max(getattr(pool, "_max_overflow", 0), 0)
    metrics.pool_opened(size, overflow)
    disposed = False

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(*_: Any) -> None:
        metrics.connection_checked_out()

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(*_: Any) -> None:
        metrics.connection_returned()

    @event.listens_for(engine.sync_engine, "detach")
    def _detached(*_: Any) -> None:
        metrics.connection_returned()

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def _disposed(*_: Any) -> None:
        nonlocal disposed
        if not disposed:
            disposed = True
            metrics.pool_closed(size, overflow)


class MongoCommandCounter(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        stats = _current.get()
        if stats is not None and event.command_name not in MONGO_HOUSEKEEPING:
            stats.mongo += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
