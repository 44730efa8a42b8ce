"""Writes a data set through the repositories' bulk methods, in chunks, with progress.

Relational rows go in chunks of one transaction each, documents with unordered `insert_many`
in chunks, so documents and rows have exactly the shape the app writes. The embedded document
server (NX-27017) inserts and commits one document at a time; a transaction around each chunk
makes that one commit per chunk, about twice as fast. Real MongoDB only allows transactions
on replica sets, so chunks sent to MONGODB_URL are plain.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from rich.progress import Progress

from datasources.documents.post_counts import counted
from datasources.stores import Datastores
from seed.dataset import DemoData

T = TypeVar("T")

RELATIONAL_CHUNK = 5000  # rows per transaction
DOCUMENT_CHUNK = 2000  # documents per insert_many (chunk sizes 500-20,000 measured alike)


class Writer:
    def __init__(self, stores: Datastores, progress: Progress, *, transactions: bool) -> None:
        self.stores = stores
        self.progress = progress
        self.transactions = transactions

    async def relational(self, data: DemoData, password_hash: str) -> None:
        relational = self.stores.relational
        await self._run(
            "users",
            data.users,
            RELATIONAL_CHUNK,
            lambda chunk: relational.users.insert_many(chunk, password_hash=password_hash),
        )
        await self._run("follows", data.follows, RELATIONAL_CHUNK, relational.follows.insert_many)
        await self._run("posts", data.posts, RELATIONAL_CHUNK // 5, relational.posts.insert_many)

    async def documents(self, data: DemoData) -> None:
        documents = self.stores.documents
        for name, items, insert in (
            ("profiles", data.profiles, documents.profiles.insert_many),
            ("comments", data.comments, documents.comments.insert_many),
            ("reactions", data.reactions, documents.reactions.insert_many),
            ("notifications", data.notifications, documents.notifications.insert_many),
        ):
            await self._run(name, items, DOCUMENT_CHUNK, self._in_session(insert))
        # The counts that adding comments and reactions one by one keeps.
        await documents.post_counts.replace_all(
            counted(
                ((comment.post_id, comment.parent_id is None) for comment in data.comments),
                ((post_id, kind) for post_id, _, kind, _ in data.reactions),
            )
        )

    def _in_session(self, insert: Callable[..., Awaitable[int]]) -> Callable[..., Awaitable[int]]:
        """`insert` of one chunk, in a transaction of its own on the embedded server."""

        async def one_chunk(chunk: Sequence[Any]) -> int:
            async with self._document_session() as session:
                return await insert(chunk, session=session)

        return one_chunk

    async def _run(
        self,
        name: str,
        items: Sequence[T],
        size: int,
        insert: Callable[[Sequence[T]], Awaitable[int]],
    ) -> None:
        task = self.progress.add_task(name, total=len(items))
        for chunk in _chunks(items, size):
            written = await insert(chunk)
            if written != len(chunk):
                raise RuntimeError(f"{name}: wrote {written} of {len(chunk)}")
            self.progress.advance(task, len(chunk))

    @contextlib.asynccontextmanager
    async def _document_session(self) -> AsyncIterator[Any]:
        if not self.transactions:
            yield None
            return
        client = self.stores.documents.client
        async with client.start_session() as session, await session.start_transaction():
            yield session


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
