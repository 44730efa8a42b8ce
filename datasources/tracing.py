"""Spans for the datastores' calls, installed when the stores open (and only while
tracing is on, see `telemetry.tracing`): a client span per SQL statement, MongoDB
command and Redis call, a child of whatever span is current in the task that makes
it (the operation's, the request's).

Each instrumentation is installed on the object it traces (this engine, this Mongo
client, these Redis clients), never by patching a library for the whole process.
OpenTelemetry's instrumentation packages come from `telemetry.tracing.instrumentations`,
which imports them on first use: with tracing off they are never imported.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio
from opentelemetry.metrics import NoOpUpDownCounter
from pymongo.monitoring import CommandListener
from sqlalchemy.ext.asyncio import AsyncEngine

from telemetry.tracing import instrumentations, tracer, tracer_provider, tracing_enabled


def trace_engine(engine: AsyncEngine) -> None:
    """A span per SQL statement `engine` runs (nothing while tracing is off).

    The instrumentation's EngineTracer on this engine only: its instrumentor would
    patch SQLAlchemy for the whole process, and refuses SQLAlchemy 2.1 anyway."""
    if not tracing_enabled():
        return
    found = instrumentations()
    found.engine_tracer(
        tracer("opentelemetry.instrumentation.sqlalchemy", found.sqlalchemy_version),
        engine.sync_engine,
        NoOpUpDownCounter("db.client.connections.usage"),
    )


def mongo_command_tracers() -> list[CommandListener]:
    """PyMongo command listeners to give a client (none while tracing is off): a span
    per command, a child of whatever span is current in the task that sends it."""
    if not tracing_enabled():
        return []
    found = instrumentations()
    return [
        found.command_tracer(
            tracer("opentelemetry.instrumentation.pymongo", found.pymongo_version),
            semconv_opt_in_mode=found.database_semconv,
        )
    ]


def trace_redis(*clients: Any) -> None:
    """A span per command of these redis-py asyncio clients; anything else is skipped
    (nothing while tracing is off)."""
    if not tracing_enabled():
        return
    instrumentor = instrumentations().redis_instrumentor
    for client in clients:
        if isinstance(client, redis.asyncio.Redis):
            instrumentor.instrument_client(client, tracer_provider=tracer_provider())
