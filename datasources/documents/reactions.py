"""Reactions: one document per (post, user, kind), made unique by an index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from datasources.documents.client import Document
from datasources.documents.post_counts import REACTION_KINDS, PostCountRepository
from datasources.documents.repository import DocumentRepository, whole_batch
from datasources.documents.time_keys import ms_precision, now_ms
from datasources.events.outbox import OutboxEntry


def _check_kind(kind: str) -> None:
    if kind not in REACTION_KINDS:
        raise ValueError(f"unknown reaction kind {kind!r}")


class ReactionRepository(DocumentRepository):
    """Keeps each post's reaction counts in `counts` as reactions come and go."""

    COLLECTION = "reactions"

    def __init__(self, db: AsyncDatabase[Document], counts: PostCountRepository) -> None:
        super().__init__(db)
        self._counts = counts

    async def ensure_indexes(self) -> None:
        # Also serves the lookups by post_id and by (post_id, user_id).
        await self.collection.create_index(
            [("post_id", ASCENDING), ("user_id", ASCENDING), ("kind", ASCENDING)],
            unique=True,
            name="post_id_1_user_id_1_kind_1",
        )

    async def add(
        self, post_id: int, user_id: int, kind: str, event: OutboxEntry | None = None
    ) -> bool:
        """True if the reaction is new, False if the user had already reacted so."""
        _check_kind(kind)
        try:
            await self.collection.insert_one(
                {"post_id": post_id, "user_id": user_id, "kind": kind, "created_at": now_ms()}
            )
        except DuplicateKeyError:
            return False
        await self._counts.add_reaction(post_id, kind, 1, event)
        return True

    async def insert_many(
        self,
        reactions: Sequence[tuple[int, int, str, datetime]],
        *,
        session: AsyncClientSession | None = None,
    ) -> int:
        """Bulk insert (seeding) of `(post_id, user_id, kind, created_at)` reactions, as
        documents of the shape `add` writes (`created_at` cut to milliseconds). One
        unordered `insert_many`; a duplicate is an error (BulkWriteError), not skipped.
        Returns how many documents were written."""
        documents: list[Document] = []
        for post_id, user_id, kind, created_at in reactions:
            _check_kind(kind)
            documents.append(
                {
                    "post_id": post_id,
                    "user_id": user_id,
                    "kind": kind,
                    "created_at": ms_precision(created_at),
                }
            )
        return await self._insert_all(documents, session)

    async def remove(
        self, post_id: int, user_id: int, kind: str, event: OutboxEntry | None = None
    ) -> bool:
        """True if there was such a reaction."""
        result = await self.collection.delete_one(
            {"post_id": post_id, "user_id": user_id, "kind": kind}
        )
        if result.deleted_count == 0:
            return False
        await self._counts.add_reaction(post_id, kind, -1, event)
        return True

    async def counts(self, post_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Reactions per kind for each post, kinds without reactions left out (one query,
        of the kept counts)."""
        counts = await self._counts.get_many(post_ids)
        return {post_id: dict(counts[post_id].reactions) for post_id in post_ids}

    async def kinds_by_user(self, post_ids: Sequence[int], user_id: int) -> dict[int, list[str]]:
        """The kinds `user_id` reacted with on each post, in REACTION_KINDS order (one query)."""
        if not post_ids:
            return {}
        wanted = sorted(set(post_ids))
        # The `$in` alone in the first stage: SecantusDB plans a `$in` beside another
        # condition as a collection scan (MongoDB merges the two stages into one).
        cursor = await self.collection.aggregate(
            [
                {"$match": {"post_id": {"$in": wanted}}},
                {"$match": {"user_id": user_id}},
            ],
            batchSize=whole_batch(len(wanted) * len(REACTION_KINDS)),
        )
        found: dict[int, set[str]] = {}
        async for doc in cursor:
            found.setdefault(doc["post_id"], set()).add(doc["kind"])
        return {
            post_id: [kind for kind in REACTION_KINDS if kind in found.get(post_id, ())]
            for post_id in post_ids
        }

    async def delete_for_post(self, post_id: int) -> int:
        """Deletes every reaction to the post (and zeroes its kept counts)."""
        deleted = await self._delete({"post_id": post_id})
        await self._counts.forget_reactions(post_id)
        return deleted
