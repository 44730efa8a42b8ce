"""Per-post counts of comments and reactions, one document per post (`_id` is the post's
id), so a count is read by id instead of counted from the comments and reactions.

The comment and reaction repositories add to a post's counts with `$inc` right after
each write that changes them (an atomic update of one document, so concurrent writes
never lose one another's changes). The write and its `$inc` are two operations: a
process that dies between them leaves the count one off until `agora recount`
(`recount` below) counts again. Counter fields are flat (`reactions_LIKE`, not
`reactions.LIKE`): the embedded server stores an upserted dotted `$inc` path as one
literal key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import ReplaceOne

from datasources.documents import outbox
from datasources.documents.client import Document
from datasources.documents.repository import DocumentRepository, whole_batch
from datasources.events.outbox import OutboxEntry
from domain import ReactionKind

REACTION_KINDS = tuple(kind.value for kind in ReactionKind)
_REACTION_FIELD = {kind: f"reactions_{kind}" for kind in REACTION_KINDS}


@dataclass(frozen=True)
class PostCounts:
    comments: int = 0  # replies included
    top_level: int = 0
    reactions: Mapping[str, int] = field(default_factory=dict)  # kinds with none left out

    @classmethod
    def from_document(cls, doc: Document) -> PostCounts:
        reactions = {kind: int(doc.get(name) or 0) for kind, name in _REACTION_FIELD.items()}
        return cls(
            comments=int(doc.get("comments") or 0),
            top_level=int(doc.get("top_level") or 0),
            reactions={kind: n for kind, n in reactions.items() if n},
        )

    def document(self, post_id: int) -> Document:
        return {
            "_id": post_id,
            "comments": self.comments,
            "top_level": self.top_level,
            **{_REACTION_FIELD[kind]: n for kind, n in self.reactions.items()},
        }


class PostCountRepository(DocumentRepository):
    COLLECTION = "post_counts"

    async def ensure_indexes(self) -> None:
        await outbox.ensure_index(self.collection)  # read by _id otherwise

    async def add_comments(self, post_id: int, comments: int, top_level: int) -> None:
        """Adds to a post's comment counts (negative numbers subtract)."""
        change: dict[str, int] = {}
        if comments:
            change["comments"] = comments
        if top_level:
            change["top_level"] = top_level
        if change:
            await self.collection.update_one({"_id": post_id}, {"$inc": change}, upsert=True)

    async def add_reaction(
        self, post_id: int, kind: str, change: int, event: OutboxEntry | None = None
    ) -> None:
        """Adds `change` (1 or -1) to a post's count of reactions of `kind`, and records
        `event` in the same write. An event still waiting there is replaced: it said
        the counts changed, and so does this one."""
        update: dict[str, Any] = {"$inc": {_REACTION_FIELD[kind]: change}}
        if event is not None:
            update["$set"] = {outbox.FIELD: event.document()}
        await self.collection.update_one({"_id": post_id}, update, upsert=True)

    async def get_many(self, post_ids: Sequence[int]) -> dict[int, PostCounts]:
        """The counts of each post (zeros where a post has none). One query by _id."""
        wanted = sorted(set(post_ids))
        if not wanted:
            return {}
        found = {
            doc["_id"]: PostCounts.from_document(doc)
            async for doc in self.collection.find(
                {"_id": {"$in": wanted}}, batch_size=whole_batch(len(wanted))
            )
        }
        return {post_id: found.get(post_id) or PostCounts() for post_id in post_ids}

    async def forget_comments(self, post_id: int) -> None:
        """Zero comments: the post's comments were all deleted."""
        await self.collection.update_one(
            {"_id": post_id}, {"$set": {"comments": 0, "top_level": 0}}
        )

    async def forget_reactions(self, post_id: int) -> None:
        """Zero reactions: the post's reactions were all deleted."""
        await self.collection.update_one(
            {"_id": post_id}, {"$set": dict.fromkeys(_REACTION_FIELD.values(), 0)}
        )

    async def delete_for_post(self, post_id: int) -> int:
        return await self._delete({"_id": post_id})

    async def recount(self) -> int:
        """Counts every post's comments and reactions again and stores exactly those
        counts (the repair for counts written before them, or left off by a process
        that died between a write and its count). Writes that run meanwhile may be
        counted twice or not at all: run it while the API does not take writes.
        Returns how many posts have counts."""
        database = self.collection.database
        comments = await database["comments"].aggregate(
            [
                {
                    "$group": {
                        "_id": "$post_id",
                        "comments": {"$sum": 1},
                        "top_level": {
                            "$sum": {
                                "$cond": {"if": {"$eq": ["$parent_id", None]}, "then": 1, "else": 0}
                            }
                        },
                    }
                }
            ]
        )
        # One sum per kind rather than grouping on {post_id, kind}: the embedded server
        # does not evaluate a document as a $group key.
        reactions = await database["reactions"].aggregate(
            [
                {
                    "$group": {
                        "_id": "$post_id",
                        **{
                            name: {
                                "$sum": {
                                    "$cond": {"if": {"$eq": ["$kind", kind]}, "then": 1, "else": 0}
                                }
                            }
                            for kind, name in _REACTION_FIELD.items()
                        },
                    }
                }
            ]
        )
        found: dict[int, Document] = {}
        async for doc in comments:
            found.setdefault(int(doc["_id"]), {}).update(doc)
        async for doc in reactions:
            found.setdefault(int(doc["_id"]), {}).update(doc)
        counts = {post_id: PostCounts.from_document(doc) for post_id, doc in found.items()}
        await self.replace_all(counts)
        return len(counts)

    async def replace_all(self, counts: Mapping[int, PostCounts]) -> None:
        """Makes the stored counts exactly `counts`: writes each post's document and
        removes the documents of posts not in `counts` (recount and seeding)."""
        if counts:
            await self.collection.bulk_write(
                [
                    ReplaceOne({"_id": post_id}, value.document(post_id), upsert=True)
                    for post_id, value in counts.items()
                ],
                ordered=False,
            )
        stale = [
            doc["_id"]
            async for doc in self.collection.find({}, {"_id": 1})
            if doc["_id"] not in counts
        ]
        if stale:
            await self.collection.delete_many({"_id": {"$in": stale}})


def counted(
    comments: Iterable[tuple[int, bool]], reactions: Iterable[tuple[int, str]]
) -> dict[int, PostCounts]:
    """The counts of these comments (post id, is top level) and reactions (post id,
    kind), per post."""
    totals: dict[int, list[int]] = {}
    kinds: dict[int, dict[str, int]] = {}
    for post_id, top_level in comments:
        entry = totals.setdefault(post_id, [0, 0])
        entry[0] += 1
        entry[1] += top_level
    for post_id, kind in reactions:
        per_kind = kinds.setdefault(post_id, {})
        per_kind[kind] = per_kind.get(kind, 0) + 1
    return {
        post_id: PostCounts(
            comments=totals.get(post_id, [0, 0])[0],
            top_level=totals.get(post_id, [0, 0])[1],
            reactions=kinds.get(post_id, {}),
        )
        for post_id in totals.keys() | kinds.keys()
    }
