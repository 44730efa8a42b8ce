"""Notifications: a per-user feed, newest first: the listing walks `sort_key` (see
time_keys.py) backwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession

from datasources.documents import outbox
from datasources.documents.client import Document
from datasources.documents.object_ids import normalized_ids, normalized_reference, valid_object_ids
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
from domain import NotificationKind

NOTIFICATION_KINDS = tuple(kind.value for kind in NotificationKind)


@dataclass(frozen=True)
class NotificationRecord:
    id: str
    user_id: int
    kind: str
    actor_id: int
    post_id: int | None
    comment_id: str | None
    read: bool
    created_at: datetime

    @property
    def key(self) -> Key:
        return listing_key(self.created_at, self.id)

    @classmethod
    def from_document(cls, doc: Document) -> NotificationRecord:
        return cls(
            id=str(doc["_id"]),
            user_id=int(doc["user_id"]),
            kind=doc["kind"],
            actor_id=int(doc["actor_id"]),
            post_id=doc.get("post_id"),
            comment_id=doc.get("comment_id"),
            read=bool(doc.get("read")),
            created_at=doc["created_at"],
        )


def _document(record: NotificationRecord) -> Document:
    """The one shape notifications are stored in (see time_keys.py for why `sort_key` exists)."""
    comment_id = normalized_reference(record.comment_id, "comment id")
    object_id = ObjectId(record.id)
    created_at = ms_precision(record.created_at)
    return {
        "_id": object_id,
        "user_id": record.user_id,
        "kind": record.kind,
        "actor_id": record.actor_id,
        "post_id": record.post_id,
        "comment_id": comment_id,
        "read": record.read,
        "created_at": created_at,
        "sort_key": sort_key(created_at, object_id),
    }


class NotificationRepository(DocumentRepository):
    COLLECTION = "notifications"

    async def ensure_indexes(self) -> None:
        await self.collection.create_index(
            [("user_id", ASCENDING), ("sort_key", ASCENDING)], name="user_id_1_sort_key_1"
        )
        await self.collection.create_index(
            [("user_id", ASCENDING), ("read", ASCENDING), ("sort_key", ASCENDING)],
            name="user_id_1_read_1_sort_key_1",
        )
        await self.collection.create_index([("post_id", ASCENDING)], name="post_id_1")
        await self.collection.create_index([("comment_id", ASCENDING)], name="comment_id_1")
        await outbox.ensure_index(self.collection)

    async def create(
        self,
        user_id: int,
        kind: str,
        actor_id: int,
        post_id: int | None = None,
        comment_id: str | None = None,
        *,
        notification_id: str | None = None,
        event: OutboxEntry | None = None,
    ) -> NotificationRecord | None:
        """A new unread notification (with `event` recorded in it, written together);
        None, and nothing written, when the user is the actor."""
        if kind not in NOTIFICATION_KINDS:
            raise ValueError(f"unknown notification kind {kind!r}")
        if user_id == actor_id:
            return None
        record = NotificationRecord(
            id=notification_id or str(ObjectId()),
            user_id=user_id,
            kind=kind,
            actor_id=actor_id,
            post_id=post_id,
            comment_id=comment_id,
            read=False,
            created_at=now_ms(),
        )
        document = _document(record)
        if event is not None:
            document[outbox.FIELD] = event.document()
        await self.collection.insert_one(document)
        return NotificationRecord.from_document(document)

    async def insert_many(
        self,
        notifications: Sequence[NotificationRecord],
        *,
        session: AsyncClientSession | None = None,
    ) -> int:
        """Bulk insert (seeding): the notifications as given, ids and `read` included, as
        documents of the shape `create` writes (timestamps cut to milliseconds, `sort_key`
        computed). As in `create`, one whose user is its actor is not written. One unordered
        `insert_many`; returns how many documents were written."""
        for notification in notifications:
            if notification.kind not in NOTIFICATION_KINDS:
                raise ValueError(f"unknown notification kind {notification.kind!r}")
        return await self._insert_all(
            [_document(n) for n in notifications if n.user_id != n.actor_id], session
        )

    async def list_for_user(
        self, user_id: int, page: PageRequest, *, unread_only: bool
    ) -> Page[NotificationRecord]:
        """The user's notifications, newest first (one query)."""
        check_page(page)
        query: Document = {"user_id": user_id}
        if unread_only:
            query["read"] = False
        if page.after is not None:
            query["sort_key"] = {"$lt": sort_key_after(page.after)}
        rows = [
            NotificationRecord.from_document(doc)
            async for doc in self.collection.find(query)
            .sort("sort_key", DESCENDING)
            .limit(page.first + 1)
            .batch_size(whole_batch(page.first + 1))
        ]
        return page_from_rows(rows, page, key_of)

    async def count_for_user(self, user_id: int, *, unread_only: bool) -> int:
        query: Document = {"user_id": user_id}
        if unread_only:
            query["read"] = False
        # Not count_documents(): its `$group: {_id: 1}` stage makes the embedded
        # server fall back to a slow path that mishandles some filters.
        counts = await self._count_per(query, "user_id", [user_id])
        return counts[user_id]

    async def get_many(self, ids: Sequence[str]) -> list[NotificationRecord | None]:
        """Notifications in the order asked, None where missing or not a valid id (one query)."""
        return await self._get_many(ids, NotificationRecord.from_document)

    async def mark_read(self, user_id: int, ids: Sequence[str] | None) -> int:
        """Marks the user's own notifications read (all of them when `ids` is None);
        returns how many were unread before."""
        query: Document = {"user_id": user_id, "read": False}
        if ids is not None:
            object_ids = valid_object_ids(ids)
            if not object_ids:
                return 0
            query["_id"] = {"$in": sorted(object_ids)}
        result = await self.collection.update_many(query, {"$set": {"read": True}})
        return result.modified_count

    async def delete_for_post(self, post_id: int) -> int:
        return await self._delete({"post_id": post_id})

    async def delete_for_comments(self, comment_ids: Sequence[str]) -> int:
        wanted = sorted(set(normalized_ids(comment_ids).values()))
        if not wanted:
            return 0
        return await self._delete({"comment_id": {"$in": wanted}})
