"""The document side of the event outbox. A document write and the event it causes are
one atomic write: the event rides in the written document's `event` field (a comment,
a notification, a post's counts) until it is published, then the field is removed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from datasources.events.outbox import OutboxEntry

FIELD = "event"
# `$gt ""` rather than `$exists`: the embedded server answers this one from the index.
PENDING = {f"{FIELD}.id": {"$gt": ""}}


async def ensure_index(collection: AsyncCollection[Any]) -> None:
    await collection.create_index([(f"{FIELD}.id", ASCENDING)], name="event_id_1", sparse=True)


class DocumentOutbox:
    """The pending events of the collections that carry them, by collection name."""

    def __init__(self, collections: Sequence[AsyncCollection[Any]]) -> None:
        self._collections = {collection.name: collection for collection in collections}

    async def pending(self, limit: int) -> list[OutboxEntry]:
        found: list[OutboxEntry] = []
        for name, collection in self._collections.items():
            oldest = collection.find(PENDING, {FIELD: 1}).sort(f"{FIELD}.id", ASCENDING)
            async for document in oldest.limit(limit):
                entry = OutboxEntry.from_document(document.get(FIELD), name)
                if entry is not None:
                    found.append(entry)
        return found

    async def done(self, entries: Sequence[OutboxEntry]) -> None:
        """One write per collection. Only these events: a later write may have put
        another in the same document."""
        by_collection: dict[str, list[str]] = {}
        for entry in entries:
            by_collection.setdefault(entry.where, []).append(entry.id)
        for name, event_ids in by_collection.items():
            await self._collections[name].update_many(
                {f"{FIELD}.id": {"$in": event_ids}}, {"$unset": {FIELD: ""}}
            )
