"""What every document repository shares: one collection, and the bulk insert, delete,
look-up by id and count per group that differ between collections only in names."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from typing import ClassVar, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from datasources.documents.client import Document
from datasources.documents.object_ids import object_id_or_none, valid_object_ids
from datasources.paging import PageRequest

R = TypeVar("R")
G = TypeVar("G", bound=Hashable)


def whole_batch(most_rows: int) -> int:
    """A first-batch size that holds every possible row plus one, so the server sees the
    end of the results and closes the cursor: one round trip, no getMore."""
    return most_rows + 1


def check_page(page: PageRequest) -> None:
    if page.first < 0:
        raise ValueError("first must not be negative")


class DocumentRepository(ABC):
    COLLECTION: ClassVar[str]

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db[self.COLLECTION]

    @abstractmethod
    async def ensure_indexes(self) -> None: ...

    async def _insert_all(
        self, documents: list[Document], session: AsyncClientSession | None
    ) -> int:
        """One unordered `insert_many` (none when there is nothing to insert); returns
        how many documents were written."""
        if documents:
            await self.collection.insert_many(documents, ordered=False, session=session)
        return len(documents)

    async def _delete(self, query: Document) -> int:
        result = await self.collection.delete_many(query)
        return result.deleted_count

    async def _get_many(
        self, ids: Sequence[str], record: Callable[[Document], R]
    ) -> list[R | None]:
        """Records in the order asked, None where missing or not a valid id (one query)."""
        object_ids = valid_object_ids(ids)
        if not object_ids:
            return [None for _ in ids]
        found = {
            str(doc["_id"]): record(doc)
            async for doc in self.collection.find(
                {"_id": {"$in": sorted(object_ids)}}, batch_size=whole_batch(len(object_ids))
            )
        }
        return [
            found.get(str(object_id)) if (object_id := object_id_or_none(i)) else None for i in ids
        ]

    async def _count_per(
        self, match: Document, group_field: str, groups: Sequence[G]
    ) -> dict[G, int]:
        """How many documents match, per value of `group_field`; 0 for each group of
        `groups` with none (one aggregation)."""
        if not groups:
            return {}
        cursor = await self.collection.aggregate(
            [{"$match": match}, {"$group": {"_id": f"${group_field}", "count": {"$sum": 1}}}]
        )
        counts = {doc["_id"]: int(doc["count"]) async for doc in cursor}
        return {group: counts.get(group, 0) for group in groups}
