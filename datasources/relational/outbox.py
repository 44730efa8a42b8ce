"""The SQL side of the event outbox: events written in the transaction of the write
that causes them (table `event_outbox`), until they are published."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from datasources.events.outbox import RELATIONAL, OutboxEntry
from datasources.relational.models import OutboxRow
from datasources.relational.sessions import Sessions


def record(session: AsyncSession, entry: OutboxEntry) -> None:
    """Adds the event to the caller's transaction: it commits, or not, with the write."""
    session.add(
        OutboxRow(
            event_id=entry.id,
            topic=entry.topic,
            data=json.dumps(entry.data, separators=(",", ":")),
            at=entry.at,
        )
    )


class OutboxRepository:
    def __init__(self, store: Sessions) -> None:
        self._store = store

    async def pending(self, limit: int) -> list[OutboxEntry]:
        """The oldest unpublished events, in the order they were written."""
        rows = await self._store.rows(
            select(OutboxRow.event_id, OutboxRow.topic, OutboxRow.data, OutboxRow.at)
            .where(OutboxRow.id > 0)  # a walk of the primary key from its start
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        return [
            OutboxEntry(event_id, topic, json.loads(data), RELATIONAL, at)
            for event_id, topic, data, at in rows
        ]

    async def done(self, event_ids: Sequence[str]) -> None:
        async with self._store.write() as session:
            await session.execute(delete(OutboxRow).where(OutboxRow.event_id.in_(event_ids)))
