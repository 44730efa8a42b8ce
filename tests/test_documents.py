"""The document datastore against the embedded server (NX-27017) and SecantusDB."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymongo.errors import DuplicateKeyError

from datasources.documents import DocumentStore, EmbeddedDocumentServer, open_document_store


async def test_ping(documents: DocumentStore) -> None:
    await documents.ping()


async def test_profiles_default_and_order(documents: DocumentStore) -> None:
    await documents.profiles.collection.insert_one(
        {"user_id": 2, "bio": "hello", "links": ["https://a.example"], "location": "Oslo"}
    )
    profiles = await documents.profiles.get_many([3, 2, 3])
    assert [p.user_id for p in profiles] == [3, 2, 3]
    assert profiles[0].bio == "" and profiles[0].links == []
    assert profiles[1].bio == "hello" and profiles[1].location == "Oslo"


async def test_profile_index_is_unique(documents: DocumentStore) -> None:
    await documents.profiles.create_empty(7)
    await documents.profiles.create_empty(7)  # idempotent upsert
    assert await documents.profiles.collection.count_documents({"user_id": 7}) == 1
    with pytest.raises(DuplicateKeyError):
        await documents.profiles.collection.insert_one({"user_id": 7})


async def test_embedded_server_keeps_data_across_restarts(tmp_path: Path) -> None:
    first = await open_document_store(None, "agora", embedded=EmbeddedDocumentServer(tmp_path))
    await first.ensure_indexes()
    await first.profiles.collection.insert_one({"user_id": 1, "bio": "persisted"})
    await first.close()

    second = await open_document_store(None, "agora", embedded=EmbeddedDocumentServer(tmp_path))
    try:
        [profile] = await second.profiles.get_many([1])
        assert profile.bio == "persisted"
    finally:
        await second.close()


async def test_embedded_server_stops_with_the_store(tmp_path: Path) -> None:
    embedded = EmbeddedDocumentServer(tmp_path)
    store = await open_document_store(None, "agora", embedded=embedded)
    process = embedded._process
    assert process is not None and process.returncode is None
    await store.close()
    assert process.returncode is not None
