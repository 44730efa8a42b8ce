"""The document store: one client per process, and a repository per collection, which
is what resolvers reach the document data through."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.monitoring import CommandListener

from datasources.documents.client import (
    DEFAULT_UNAVAILABLE_COOLDOWN_SECONDS,
    CircuitBreaker,
    Document,
    connect,
)
from datasources.documents.comments import CommentRepository
from datasources.documents.embedded_server import EmbeddedDocumentServer
from datasources.documents.notifications import NotificationRepository
from datasources.documents.outbox import DocumentOutbox
from datasources.documents.post_counts import PostCountRepository
from datasources.documents.profiles import ProfileRepository
from datasources.documents.reactions import ReactionRepository
from datasources.documents.repository import DocumentRepository


class DocumentStore:
    def __init__(
        self,
        client: AsyncMongoClient[Document],
        database: str,
        embedded: EmbeddedDocumentServer | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.client = client
        self.db: AsyncDatabase[Document] = client[database]
        self._embedded = embedded
        self.breaker = breaker
        self.profiles = ProfileRepository(self.db)
        self.post_counts = PostCountRepository(self.db)
        self.comments = CommentRepository(self.db, self.post_counts)
        self.reactions = ReactionRepository(self.db, self.post_counts)
        self.notifications = NotificationRepository(self.db)
        self.outbox = DocumentOutbox(
            [self.comments.collection, self.notifications.collection, self.post_counts.collection]
        )

    @property
    def repositories(self) -> list[DocumentRepository]:
        return [
            self.profiles,
            self.comments,
            self.reactions,
            self.notifications,
            self.post_counts,
        ]

    async def ensure_indexes(self) -> None:
        for repository in self.repositories:
            await repository.ensure_indexes()

    async def ping(self) -> None:
        await self.client.admin.command("ping")

    async def close(self) -> None:
        await self.client.close()
        if self._embedded is not None:
            await self._embedded.stop()


async def open_document_store(
    url: str | None,
    database: str,
    *,
    embedded: EmbeddedDocumentServer | None = None,
    event_listeners: Sequence[CommandListener] = (),
    timeout_ms: int | None = None,
    server_selection_timeout_ms: int | None = None,
    unavailable_cooldown_seconds: float = DEFAULT_UNAVAILABLE_COOLDOWN_SECONDS,
) -> DocumentStore:
    """Connect to `url`, or start `embedded` and connect to it when no URL is given.
    `event_listeners` are PyMongo command listeners (the tests count round trips).

    `timeout_ms` limits every operation (None: no limit); `server_selection_timeout_ms`
    limits waiting for a server (and, at least 1 s, connecting). After the server is
    seen unavailable, operations fail at once for `unavailable_cooldown_seconds`."""
    if url is None:
        if embedded is None:
            raise ValueError("no MongoDB URL and no embedded server")
        url = await embedded.start()
    breaker = CircuitBreaker(unavailable_cooldown_seconds)
    client = connect(
        url,
        breaker,
        event_listeners=event_listeners,
        timeout_ms=timeout_ms,
        server_selection_timeout_ms=server_selection_timeout_ms,
    )
    return DocumentStore(
        client, database, embedded if embedded and embedded.port else None, breaker
    )
