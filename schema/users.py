"""User, Profile and Role."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

import resolvers.follows
import resolvers.posts
import resolvers.users
from datasources.documents.profiles import ProfileRecord
from datasources.relational.records import UserRecord
from loaders.base import single
from resolvers.context import Context
from schema.batches import batched, each
from schema.connections import Connection, connection, connections_of
from schema.enums import Role
from schema.info import Info
from schema.instances import made
from schema.node import Node, global_id

if TYPE_CHECKING:
    from schema.posts import Post

PostType = Annotated["Post", strawberry.lazy("schema.posts")]


@strawberry.type(description="A user's public profile.")
class Profile:
    bio: str
    avatar_url: str | None
    location: str | None
    links: list[str]

    @classmethod
    def from_record(cls, record: ProfileRecord) -> Profile:
        return cls(
            bio=record.bio,
            avatar_url=record.avatar_url,
            location=record.location,
            links=list(record.links),
        )


async def _profiles(context: Context, users: Sequence[User]) -> list[object]:
    found = await resolvers.users.profiles(context, [u.record for u in users])
    return each(found, Profile.from_record)


async def _follower_counts(context: Context, users: Sequence[User]) -> list[object]:
    found = await resolvers.follows.follow_counts(context, [u.record.id for u in users])
    return each(found, lambda counts: counts[0])


async def _following_counts(context: Context, users: Sequence[User]) -> list[object]:
    found = await resolvers.follows.follow_counts(context, [u.record.id for u in users])
    return each(found, lambda counts: counts[1])


async def _viewer_follows(context: Context, users: Sequence[User]) -> list[object]:
    return list(await resolvers.follows.viewer_follows_each(context, [u.record.id for u in users]))


# By value, as schema.posts reads statuses.
_ROLES = {role.value: role for role in Role}


@strawberry.type(description="A person with an account.")
class User(Node):
    record: strawberry.Private[UserRecord]
    handle: str
    display_name: str
    role: Role
    created_at: datetime

    @classmethod
    def from_record(cls, record: UserRecord) -> User:
        return made(
            cls,
            {
                "id": global_id("User", record.id),
                "record": record,
                "handle": record.handle,
                "display_name": record.display_name,
                "created_at": record.created_at,
                "role": _ROLES[record.role],
            },
        )

    @strawberry.field(description="Visible to the user themself and to admins; null otherwise.")
    def email(self, info: Info) -> str | None:
        return resolvers.users.visible_email(info.context, self.record)

    @strawberry.field
    @batched(_profiles)
    async def profile(self, info: Info) -> Profile:
        return Profile.from_record(await resolvers.users.profile(info.context, self.record))

    @strawberry.field(description="Newest first: published posts, and drafts for the author.")
    @batched(connections_of(resolvers.posts.by_authors, lambda: _post_type().from_record))
    async def posts(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PostType]:
        from schema.posts import Post

        listing = await resolvers.posts.by_author(info.context, self.record.id, first, after)
        return connection(listing, Post.from_record)

    @strawberry.field(description="Newest follower first.")
    @batched(connections_of(resolvers.follows.followers_of, lambda: User.from_record))
    async def followers(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[User]:
        listing = await resolvers.follows.followers(info.context, self.record.id, first, after)
        return connection(listing, User.from_record)

    @strawberry.field(description="Most recently followed first.")
    @batched(connections_of(resolvers.follows.following_of, lambda: User.from_record))
    async def following(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[User]:
        listing = await resolvers.follows.following(info.context, self.record.id, first, after)
        return connection(listing, User.from_record)

    @strawberry.field
    @batched(_follower_counts)
    async def follower_count(self, info: Info) -> int:
        return await resolvers.follows.follower_count(info.context, self.record.id)

    @strawberry.field
    @batched(_following_counts)
    async def following_count(self, info: Info) -> int:
        return await resolvers.follows.following_count(info.context, self.record.id)

    @strawberry.field(description="Whether the signed-in user follows this user.")
    @batched(_viewer_follows)
    async def viewer_follows(self, info: Info) -> bool:
        return await resolvers.follows.viewer_follows(info.context, self.record.id)


def _post_type() -> type[Post]:
    from schema.posts import Post

    return Post


def user_or_none(record: UserRecord | None) -> User | None:
    return User.from_record(record) if record is not None else None


async def users_of(
    context: Context, user_ids: Sequence[int], owners: Sequence[str]
) -> list[User | BaseException]:
    """`user_of` for many records at once."""
    found = await context.loaders.user_by_id.load_each(user_ids)
    return [
        _user_or_error(record, user_id, owner)
        for record, user_id, owner in zip(found, user_ids, owners, strict=True)
    ]


def _user_or_error(
    record: UserRecord | BaseException | None, user_id: int, owner: str
) -> User | BaseException:
    if isinstance(record, BaseException):
        return record  # the load failed: this object's error
    if record is None:
        return LookupError(f"{owner} refers to missing user {user_id}")
    return User.from_record(record)


async def user_of(info: Info, user_id: int, owner: str) -> User:
    """The user a record points at (an author, an actor); a dangling reference is a
    bug, not something to hide."""
    return single(await users_of(info.context, [user_id], [owner]))
