"""Opens and closes every datastore of a process, in one place."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasources.data_folder import hold_data_folder, release_data_folder, uses_data_folder
from datasources.documents import DocumentStore, EmbeddedDocumentServer, open_document_store
from datasources.events import EventBus, open_event_bus
from datasources.instrumentation import MongoCommandCounter, instrument_engine
from datasources.outbox_relay import SWEEP_SECONDS, Outbox, OutboxRelay
from datasources.rate_limits import RateLimiter, open_rate_limiter
from datasources.relational import RelationalStore, open_relational_store
from datasources.relational.migrate import check_migrated, upgrade
from datasources.tracing import mongo_command_tracers, trace_engine, trace_redis
from settings import Settings


@dataclass
class Datastores:
    relational: RelationalStore
    documents: DocumentStore
    events: EventBus
    limits: RateLimiter
    relay: OutboxRelay
    # The data folder these stores hold (see datasources.data_folder), if any.
    data_dir: Path | None = None

    async def close(self) -> None:
        # Each close is attempted even if an earlier one fails.
        errors: list[BaseException] = []
        for close in (
            self.relay.close,
            self.limits.close,
            self.events.close,
            self.documents.close,
            self.relational.close,
        ):
            try:
                await close()
            except Exception as error:
                errors.append(error)
        if self.data_dir is not None:
            release_data_folder(self.data_dir)
            self.data_dir = None
        if errors:
            raise errors[0]


async def open_datastores(
    *,
    database_url: str,
    mongodb_url: str | None,
    mongodb_database: str,
    redis_url: str | None,
    data_dir: Path,
    migrate: bool,
    event_retention: int = 10_000,
    event_subscriber_buffer: int = 1000,
    statement_timeout_seconds: float | None = None,
    mongodb_timeout_ms: int | None = None,
    mongodb_server_selection_timeout_ms: int | None = None,
    outbox_sweep_seconds: float = SWEEP_SECONDS,
) -> Datastores:
    # Each part is closed again, in reverse, if a later one fails to open.
    async with AsyncExitStack() as undo:
        holds_data_folder = uses_data_folder(database_url, mongodb_url)
        if holds_data_folder:
            hold_data_folder(data_dir)
            undo.callback(release_data_folder, data_dir)
        relational = open_relational_store(
            database_url, statement_timeout_seconds=statement_timeout_seconds
        )
        undo.push_async_callback(relational.close)
        instrument_engine(relational.engine)
        trace_engine(relational.engine)  # this and the other trace_* do nothing unless tracing
        if migrate:
            await upgrade(relational)
        else:
            await check_migrated(relational)
        embedded = EmbeddedDocumentServer(data_dir) if mongodb_url is None else None
        if embedded is not None:
            undo.push_async_callback(embedded.stop)
        documents = await open_document_store(
            mongodb_url,
            mongodb_database,
            embedded=embedded,
            event_listeners=[MongoCommandCounter(), *mongo_command_tracers()],
            timeout_ms=mongodb_timeout_ms,
            server_selection_timeout_ms=mongodb_server_selection_timeout_ms,
        )
        undo.push_async_callback(documents.close)
        await documents.ensure_indexes()
        events = open_event_bus(
            redis_url, retention=event_retention, queue_size=event_subscriber_buffer
        )
        undo.push_async_callback(events.close)
        await events.start()
        limits = open_rate_limiter(redis_url)
        undo.push_async_callback(limits.close)
        # The Redis clients' pools, not the event bus's reader: its XREAD BLOCK loop is no
        # request's work (the in-process stores have no `_client`).
        trace_redis(getattr(events, "_client", None), getattr(limits, "_client", None))
        outbox = Outbox(relational.outbox, documents.outbox)
        relay = OutboxRelay(outbox, events, sweep_seconds=outbox_sweep_seconds)
        undo.push_async_callback(relay.close)
        await relay.start()
        stores = Datastores(
            relational, documents, events, limits, relay, data_dir if holds_data_folder else None
        )
        undo.pop_all()  # opened: from now on Datastores.close closes them
    return stores


async def open_datastores_for(settings: Settings, *, time_limits: bool = True) -> Datastores:
    """The datastores `settings` point at, migrated unless in production. Bulk jobs
    (the seed) pass `time_limits=False`: their large writes are not requests."""
    limits: dict[str, Any] = {}
    if time_limits:
        limits = {
            "statement_timeout_seconds": settings.sql_statement_timeout_seconds,
            "mongodb_timeout_ms": settings.mongodb_timeout_ms,
            "mongodb_server_selection_timeout_ms": settings.mongodb_server_selection_timeout_ms,
        }
    return await open_datastores(
        database_url=settings.sqlalchemy_url,
        mongodb_url=settings.mongodb_url,
        mongodb_database=settings.mongodb_database,
        redis_url=settings.redis_url,
        data_dir=settings.data_dir,
        migrate=not settings.is_production,
        event_retention=settings.event_retention,
        event_subscriber_buffer=settings.event_subscriber_buffer,
        outbox_sweep_seconds=settings.outbox_sweep_seconds,
        **limits,
    )
