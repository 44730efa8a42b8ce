"""Profiles: one document per user, keyed by the relational user id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from datasources.documents.client import Document
from datasources.documents.repository import DocumentRepository


@dataclass(frozen=True)
class ProfileRecord:
    user_id: int
    bio: str = ""
    avatar_url: str | None = None
    location: str | None = None
    links: list[str] = field(default_factory=list)

    @classmethod
    def from_document(cls, doc: Document) -> ProfileRecord:
        return cls(
            user_id=int(doc["user_id"]),
            bio=doc.get("bio") or "",
            avatar_url=doc.get("avatar_url"),
            location=doc.get("location"),
            links=list(doc.get("links") or []),
        )


class ProfileRepository(DocumentRepository):
    COLLECTION = "profiles"

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("user_id", ASCENDING)], unique=True, name="user_id_1")

    async def get_many(self, user_ids: Sequence[int]) -> list[ProfileRecord]:
        """Profiles in the order asked; a user without a document gets an empty profile."""
        found = {
            doc["user_id"]: ProfileRecord.from_document(doc)
            async for doc in self.collection.find({"user_id": {"$in": list(set(user_ids))}})
        }
        return [found.get(user_id) or ProfileRecord(user_id=user_id) for user_id in user_ids]

    async def create_empty(self, user_id: int) -> None:
        await self.collection.update_one(
            {"user_id": user_id},
            {"$setOnInsert": {"user_id": user_id, "bio": "", "links": []}},
            upsert=True,
        )

    async def insert_many(
        self, profiles: Sequence[ProfileRecord], *, session: AsyncClientSession | None = None
    ) -> int:
        """Bulk insert (seeding): one document per profile, with every field `update`
        writes (an absent avatar URL or location stored as null, as `update` clears them).
        One unordered `insert_many`; a second profile for a user is an error. Returns how
        many documents were written."""
        documents = [
            {
                "user_id": profile.user_id,
                "bio": profile.bio,
                "avatar_url": profile.avatar_url or None,
                "location": profile.location or None,
                "links": list(profile.links),
            }
            for profile in profiles
        ]
        return await self._insert_all(documents, session)

    async def update(
        self,
        user_id: int,
        *,
        bio: str | None = None,
        avatar_url: str | None = None,
        location: str | None = None,
        links: Sequence[str] | None = None,
    ) -> ProfileRecord:
        """Changes the given fields (None leaves a field as it is; "" clears `avatar_url`
        or `location`), creating the profile if needed; returns the stored profile."""
        changes: Document = {"user_id": user_id}
        if bio is not None:
            changes["bio"] = bio
        if avatar_url is not None:
            changes["avatar_url"] = avatar_url or None
        if location is not None:
            changes["location"] = location or None
        if links is not None:
            changes["links"] = list(links)
        # Only `$set`: the embedded server ignores `$setOnInsert` next to `$set`, so
        # fields never set are left out and ProfileRecord supplies their defaults.
        doc = await self.collection.find_one_and_update(
            {"user_id": user_id},
            {"$set": changes},
            projection={"_id": False},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # an upsert that returns the document after it always has one
            raise LookupError(f"the profile of user {user_id} was not upserted")
        return ProfileRecord.from_document(doc)
