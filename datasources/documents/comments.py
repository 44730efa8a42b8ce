"""Comments: threaded (a reply names its parent comment), listed oldest first by
`sort_key` (see time_keys.py).

Per-parent pages for many posts (or comments) at once use `$setWindowFields` with
`$documentNumber`: it is the one per-group-limit shape that the embedded server runs
as SQL; the `$group`/`$push`/`$slice` alternative falls back to a Python pass over the
whole collection there, and answers wrongly when `$match` tests for null.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from datasources.documents import outbox
from datasources.documents.client import Document
from datasources.documents.object_ids import normalized_ids, normalized_reference, object_id_or_none
from datasources.documents.post_counts import PostCountRepository
from datasources.documents.repository import DocumentRepository, check_page, whole_batch
from datasources.documents.time_keys import (
    listing_key,
    ms_precision,
    now_ms,
    sort_key,
    sort_key_after,
)
from datasources.events.outbox import OutboxEntry
from datasources.paging import Key, Page, PageRequest, key_of, page_from_rows

# A record from values already in field order, without NamedTuple's argument parsing.
_new = tuple.__new__


class CommentRecord(NamedTuple):
    """A tuple, as PostRecord is, for the time it takes to build one."""

    id: str
    post_id: int
    author_id: int
    parent_id: str | None
    body: str
    created_at: datetime
    edited_at: datetime | None

    @property
    def key(self) -> Key:
        return listing_key(self.created_at, self.id)

    @classmethod
    def from_document(cls, doc: Document) -> CommentRecord:
        get = doc.get
        return _new(
            cls,
            (
                str(doc["_id"]),
                int(doc["post_id"]),
                int(doc["author_id"]),
                get("parent_id"),
                doc["body"],
                doc["created_at"],
                get("edited_at"),
            ),
        )


def _document(record: CommentRecord) -> Document:
    """The one shape comments are stored in (see time_keys.py for why `sort_key` exists)."""
    parent_id = normalized_reference(record.parent_id, "parent comment id")
    object_id = ObjectId(record.id)
    created_at = ms_precision(record.created_at)
    edited_at = ms_precision(record.edited_at) if record.edited_at is not None else None
    return {
        "_id": object_id,
        "post_id": record.post_id,
        "author_id": record.author_id,
        "parent_id": parent_id,
        "body": record.body,
        "created_at": created_at,
        "edited_at": edited_at,
        "sort_key": sort_key(created_at, object_id),
    }


class CommentRepository(DocumentRepository):
    """Keeps each post's comment counts in `counts` as it adds and deletes comments."""

    COLLECTION = "comments"

    def __init__(self, db: AsyncDatabase[Document], counts: PostCountRepository) -> None:
        super().__init__(db)
        self._counts = counts

    async def ensure_indexes(self) -> None:
        await self.collection.create_index(
            [("post_id", ASCENDING), ("parent_id", ASCENDING), ("sort_key", ASCENDING)],
            name="post_id_1_parent_id_1_sort_key_1",
        )
        await self.collection.create_index(
            [("parent_id", ASCENDING), ("sort_key", ASCENDING)], name="parent_id_1_sort_key_1"
        )
        await outbox.ensure_index(self.collection)

    async def add(
        self,
        post_id: int,
        author_id: int,
        body: str,
        parent_id: str | None,
        *,
        comment_id: str | None = None,
        event: OutboxEntry | None = None,
    ) -> CommentRecord:
        """A new comment (with `event` recorded in it, written together); the caller has
        checked that the parent exists on the same post."""
        record = CommentRecord(
            id=comment_id or str(ObjectId()),
            post_id=post_id,
            author_id=author_id,
            parent_id=parent_id,
            body=body,
            created_at=now_ms(),
            edited_at=None,
        )
        document = _document(record)
        if event is not None:
            document[outbox.FIELD] = event.document()
        await self.collection.insert_one(document)
        await self._counts.add_comments(post_id, 1, 1 if parent_id is None else 0)
        return CommentRecord.from_document(document)

    async def insert_many(
        self, comments: Sequence[CommentRecord], *, session: AsyncClientSession | None = None
    ) -> int:
        """Bulk insert (seeding): the comments exactly as given, ids included, as documents
        of the shape `add` writes (timestamps cut to milliseconds, `sort_key` computed).
        One unordered `insert_many`; the caller has checked that parents exist on the same
        post. Returns how many documents were written."""
        return await self._insert_all([_document(comment) for comment in comments], session)

    async def edit(self, comment_id: str, body: str) -> CommentRecord | None:
        """Replaces the body and stamps `edited_at`; None if there is no such comment."""
        object_id = object_id_or_none(comment_id)
        if object_id is None:
            return None
        # `$currentDate`, not `$set` of a datetime: the embedded server stores a
        # `$set` datetime as a string. The server's clock stamps it (ms precision).
        doc = await self.collection.find_one_and_update(
            {"_id": object_id},
            {"$set": {"body": body}, "$currentDate": {"edited_at": True}},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else CommentRecord.from_document(doc)

    async def get_many(self, ids: Sequence[str]) -> list[CommentRecord | None]:
        """Comments in the order asked, None where missing or not a valid id (one query)."""
        return await self._get_many(ids, CommentRecord.from_document)

    async def top_level(
        self, post_ids: Sequence[int], page: PageRequest
    ) -> dict[int, Page[CommentRecord]]:
        """For each post, a page of its top-level comments, oldest first (one aggregation)."""
        wanted = sorted(set(post_ids))
        rows = await self._first_per_group("post_id", wanted, page, {"parent_id": None})
        return {
            post_id: page_from_rows(rows.get(post_id, []), page, key_of) for post_id in post_ids
        }

    async def replies(
        self, comment_ids: Sequence[str], page: PageRequest
    ) -> dict[str, Page[CommentRecord]]:
        """For each comment, a page of its direct replies, oldest first (one aggregation)."""
        parents = normalized_ids(comment_ids)
        rows = await self._first_per_group("parent_id", sorted(set(parents.values())), page)
        return {
            comment_id: page_from_rows(rows.get(parents.get(comment_id), []), page, key_of)
            for comment_id in comment_ids
        }

    async def _first_per_group(
        self,
        group_field: str,
        groups: Sequence[Any],
        page: PageRequest,
        also: Document | None = None,
    ) -> dict[Any, list[CommentRecord]]:
        """Up to `first + 1` comments per value of `group_field` among `groups` that also
        match `also`, after `page.after`."""
        check_page(page)
        also = dict(also or {})
        if page.after is not None:
            also["sort_key"] = {"$gt": sort_key_after(page.after)}
        if not groups:
            return {}
        limit = page.first + 1
        # The `$in` alone in the first stage: SecantusDB plans a `$in` beside another
        # condition as a collection scan (MongoDB merges the two stages into one).
        narrowing = [{"$match": also}] if also else []
        cursor = await self.collection.aggregate(
            [
                {"$match": {group_field: {"$in": list(groups)}}},
                *narrowing,
                {
                    "$setWindowFields": {
                        "partitionBy": f"${group_field}",
                        "sortBy": {"sort_key": 1},
                        "output": {"row_number": {"$documentNumber": {}}},
                    }
                },
                {"$match": {"row_number": {"$lte": limit}}},
            ],
            batchSize=whole_batch(len(groups) * limit),
        )
        documents: dict[Any, list[Document]] = defaultdict(list)
        async for doc in cursor:
            documents[doc[group_field]].append(doc)
        return {
            group: [
                CommentRecord.from_document(doc)
                for doc in sorted(docs, key=lambda doc: doc["sort_key"])
            ]
            for group, docs in documents.items()
        }

    async def count_for_posts(self, post_ids: Sequence[int]) -> dict[int, int]:
        """All comments of each post, replies included (one query, of the kept counts)."""
        counts = await self._counts.get_many(post_ids)
        return {post_id: counts[post_id].comments for post_id in post_ids}

    async def count_top_level(self, post_ids: Sequence[int]) -> dict[int, int]:
        counts = await self._counts.get_many(post_ids)
        return {post_id: counts[post_id].top_level for post_id in post_ids}

    async def count_replies(self, comment_ids: Sequence[str]) -> dict[str, int]:
        """Direct replies of each comment (one aggregation)."""
        parents = normalized_ids(comment_ids)
        wanted = sorted(set(parents.values()))
        counts = await self._count_per({"parent_id": {"$in": wanted}}, "parent_id", wanted)
        return {
            comment_id: counts[parents[comment_id]] if comment_id in parents else 0
            for comment_id in comment_ids
        }

    async def delete_subtree(self, comment_id: str) -> list[str]:
        """Deletes the comment and its replies at any depth; returns the deleted ids.

        One query per level of the thread, then one delete for the comment and one for
        its replies. A reply added to the subtree while this runs can survive as an
        orphan (it is still counted, as it still exists).
        """
        object_id = object_id_or_none(comment_id)
        root = (
            None
            if object_id is None
            else await self.collection.find_one({"_id": object_id}, {"post_id": 1, "parent_id": 1})
        )
        if root is None:
            return []
        deleted = [str(object_id)]
        level = deleted
        while level:
            level = [
                str(doc["_id"])
                async for doc in self.collection.find(
                    {"parent_id": {"$in": level}}, {"_id": 1}, batch_size=1000
                )
            ]
            deleted.extend(level)
        # The root apart, so that the counts subtract what this call deleted, even when
        # a concurrent deletion of the same thread deleted some of it first.
        root_deleted = (await self.collection.delete_one({"_id": object_id})).deleted_count
        replies_deleted = await self._delete({"_id": {"$in": [ObjectId(i) for i in deleted[1:]]}})
        top_level = root_deleted if root.get("parent_id") is None else 0
        await self._counts.add_comments(
            int(root["post_id"]), -(root_deleted + replies_deleted), -top_level
        )
        return deleted

    async def delete_for_post(self, post_id: int) -> int:
        """Deletes every comment of the post (and zeroes its kept counts)."""
        deleted = await self._delete({"post_id": post_id})
        await self._counts.forget_comments(post_id)
        return deleted
