"""The counts that triggers keep (migration 0003), counted again from the rows: the
repair for a database whose counts were changed by hand or restored partially."""

from __future__ import annotations

from sqlalchemy import func, select, update

from datasources.relational.models import PUBLISHED_POSTS, USERS, Counter, Follow, Post, User
from datasources.relational.sessions import Sessions


async def recount(store: Sessions) -> None:
    """Sets every kept count to a fresh count, in one transaction (on PostgreSQL,
    concurrent follows and posts wait for it; their triggers then add to the fresh
    counts)."""
    followers = select(func.count()).where(Follow.followee_id == User.id).scalar_subquery()
    following = select(func.count()).where(Follow.follower_id == User.id).scalar_subquery()
    published = (
        select(func.count())
        .select_from(Post)
        .where(Post.status == "PUBLISHED", Post.deleted_at.is_(None))
        .scalar_subquery()
    )
    async with store.write() as session:
        await session.execute(
            update(User).values(follower_count=followers, following_count=following)
        )
        await session.execute(
            update(Counter).where(Counter.name == PUBLISHED_POSTS).values(value=published)
        )
        await session.execute(
            update(Counter)
            .where(Counter.name == USERS)
            .values(value=select(func.count()).select_from(User).scalar_subquery())
        )
