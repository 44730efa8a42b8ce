"""The document store: one AsyncMongoClient per process, its collections and indexes."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.monitoring import CommandListener

from datasources.documents.embedded_server import EmbeddedDocumentServer


class DocumentStore:
    def __init__(
        self,
        client: AsyncMongoClient,
        database: str,
        embedded: EmbeddedDocumentServer | None = None,
    ) -> None:
        from datasources.documents.comments import CommentRepository
        from datasources.documents.notifications import NotificationRepository
        from datasources.documents.profiles import ProfileRepository
        from datasources.documents.reactions import ReactionRepository

        self.client = client
        self.db: AsyncDatabase = client[database]
        self._embedded = embedded
        self.profiles = ProfileRepository(self.db)
        self.comments = CommentRepository(self.db)
        self.reactions = ReactionRepository(self.db)
        self.notifications = NotificationRepository(self.db)

    @property
    def repositories(self) -> list[object]:
        return [self.profiles, self.comments, self.reactions, self.notifications]

    async def ensure_indexes(self) -> None:
        for repository in self.repositories:
            await repository.ensure_indexes()  # type: ignore[attr-defined]

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
) -> DocumentStore:
    """Connect to `url`, or start `embedded` and connect to it when no URL is given.
    `event_listeners` are PyMongo command listeners (the tests count round trips)."""
    if url is None:
        if embedded is None:
            raise ValueError("no MongoDB URL and no embedded server")
        url = await embedded.start()
    client: AsyncMongoClient = AsyncMongoClient(
        url,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=5000,
        tz_aware=True,
        appname="agora",
        event_listeners=list(event_listeners),
    )
    return DocumentStore(client, database, embedded if embedded and embedded.port else None)
