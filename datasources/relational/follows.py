"""Follows: who follows whom, paged both ways, with counts.

Listings are newest follow first and page by keyset (see keyset.py); the key of an
edge is `(the follow's created_at, the other user's id)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from datasources.paging import Key, Page, PageRequest, page_from_rows
from datasources.relational.keyset import newest_per_group, parse_time_key, time_key
from datasources.relational.models import Follow, User
from datasources.relational.sessions import Sessions, rowcount


class UnknownUser(LookupError):
    """A follow named a user that does not exist (or was deleted meanwhile)."""


class FollowRepository:
    def __init__(self, store: Sessions) -> None:
        self._store = store

    async def follow(self, follower_id: int, followee_id: int) -> bool:
        """True when the follow was created, False when it already existed.

        Race-safe: INSERT ... ON CONFLICT DO NOTHING, so a concurrent duplicate is
        not an error on either dialect. Raises ValueError for a self-follow and
        UnknownUser when either user does not exist.
        """
        if follower_id == followee_id:
            raise ValueError("a user cannot follow themself")
        insert = sqlite_insert if self._store.is_sqlite else postgresql_insert
        statement = (
            insert(Follow)
            .values(follower_id=follower_id, followee_id=followee_id, created_at=datetime.now(UTC))
            .on_conflict_do_nothing(index_elements=["follower_id", "followee_id"])
            .returning(Follow.follower_id)
        )
        try:
            async with self._store.write() as session:
                created = (await session.execute(statement)).first() is not None
        except IntegrityError:
            # Duplicates cannot get here (ON CONFLICT): only a missing user can.
            raise UnknownUser(f"user {follower_id} or {followee_id} does not exist") from None
        return created

    async def insert_many(self, follows: Sequence[tuple[int, int, datetime]]) -> int:
        """Bulk insert (seeding) of `(follower_id, followee_id, created_at)` edges in one
        transaction. Unlike `follow`, a duplicate edge is an error (IntegrityError), as is
        a self-follow (ValueError). Returns how many rows were written."""
        if not follows:
            return 0
        rows = []
        for follower_id, followee_id, created_at in follows:
            if follower_id == followee_id:
                raise ValueError("a user cannot follow themself")
            rows.append(
                {"follower_id": follower_id, "followee_id": followee_id, "created_at": created_at}
            )
        async with self._store.write() as session:
            await session.execute(Follow.__table__.insert(), rows)
        return len(rows)

    async def unfollow(self, follower_id: int, followee_id: int) -> bool:
        """True when a follow was removed."""
        async with self._store.write() as session:
            removed = await rowcount(
                session,
                delete(Follow).where(
                    Follow.follower_id == follower_id, Follow.followee_id == followee_id
                ),
            )
        return removed == 1

    async def followers(self, user_ids: Sequence[int], page: PageRequest) -> dict[int, Page[int]]:
        """For each user, the ids of their followers, newest follow first. One query."""
        return await self._edges(Follow.followee_id, Follow.follower_id, user_ids, page)

    async def following(self, user_ids: Sequence[int], page: PageRequest) -> dict[int, Page[int]]:
        """For each user, the ids of the users they follow, newest follow first. One query."""
        return await self._edges(Follow.follower_id, Follow.followee_id, user_ids, page)

    async def counts(self, user_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """For each user, (followers, following): the counts kept on the users' rows by
        triggers (migration 0003). One query by primary key; (0, 0) for a missing user."""
        wanted = list(dict.fromkeys(user_ids))
        if not wanted:
            return {}
        rows = await self._store.rows(
            select(User.id, User.follower_count, User.following_count).where(User.id.in_(wanted))
        )
        found = {row[0]: (int(row[1]), int(row[2])) for row in rows}
        return {i: found.get(i, (0, 0)) for i in wanted}

    async def follows_among(self, follower_id: int, followee_ids: Sequence[int]) -> set[int]:
        """Which of followee_ids the follower follows. One query."""
        if not followee_ids:
            return set()
        rows = await self._store.rows(
            select(Follow.followee_id).where(
                Follow.follower_id == follower_id, Follow.followee_id.in_(set(followee_ids))
            )
        )
        return {row[0] for row in rows}

    async def _edges(
        self,
        owner: InstrumentedAttribute[int],
        other: InstrumentedAttribute[int],
        user_ids: Sequence[int],
        page: PageRequest,
    ) -> dict[int, Page[int]]:
        after = parse_time_key(page.after)
        wanted = list(dict.fromkeys(user_ids))
        if not wanted:
            return {}
        edges = select(other.label("other"), Follow.created_at).where(owner.in_(wanted))
        query = newest_per_group(edges, owner, Follow.created_at, other, after, page.first)
        grouped: dict[int, list[tuple[datetime, int]]] = {i: [] for i in wanted}
        for row in await self._store.rows(query):
            grouped[row.owner].append((row.created_at, row.other))
        return {i: page_from_rows(rows, page, _edge_key).map(_other) for i, rows in grouped.items()}


def _edge_key(edge: tuple[datetime, int]) -> Key:
    return time_key(*edge)


def _other(edge: tuple[datetime, int]) -> int:
    return edge[1]
