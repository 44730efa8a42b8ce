"""Post, its status, reaction kinds and counts, and the post mutations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

import resolvers.comments
import resolvers.posts
import resolvers.reactions
from datasources.relational.posts import PostRecord
from resolvers.context import Context
from schema.batches import batched, each
from schema.connections import Connection, connection, connections_of
from schema.enums import PostStatus, ReactionKind
from schema.global_ids import int_key
from schema.info import Info
from schema.instances import made
from schema.node import Node, global_id
from schema.payloads import DeletePayload, UserError, payload
from schema.users import User, user_of, users_of

if TYPE_CHECKING:
    from schema.comments import Comment

CommentType = Annotated["Comment", strawberry.lazy("schema.comments")]


@strawberry.type
class ReactionCount:
    kind: ReactionKind
    count: int


def _presented(counts: list[tuple[ReactionKind, int]]) -> list[ReactionCount]:
    return [ReactionCount(kind=kind, count=n) for kind, n in counts]


async def reaction_counts(ctx: Context, post_id: int) -> list[ReactionCount]:
    return _presented(await resolvers.reactions.counts(ctx, post_id))


async def _reactions_of(context: Context, posts: Sequence[Post]) -> list[object]:
    found = await resolvers.reactions.counts_of(context, [p.record.id for p in posts])
    return each(found, lambda counts: _presented(resolvers.reactions.kinds_counted(counts)))


async def _viewer_reactions(context: Context, posts: Sequence[Post]) -> list[object]:
    return list(await resolvers.reactions.of_viewer_each(context, [p.record.id for p in posts]))


async def _comment_counts(context: Context, posts: Sequence[Post]) -> list[object]:
    found = await context.loaders.comment_count.load_each([p.record.id for p in posts])
    return each(found, int)


# By value: an Enum called with its value takes ten times as long (a page builds 100).
_STATUSES = {status.value: status for status in PostStatus}


@strawberry.type(description="Something a user wrote. Drafts are visible to their author only.")
class Post(Node):
    record: strawberry.Private[PostRecord]
    title: str
    body: str
    tags: list[str]
    status: PostStatus
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @classmethod
    def from_record(cls, record: PostRecord) -> Post:
        return made(
            cls,
            {
                "id": global_id("Post", record.id),
                "record": record,
                "title": record.title,
                "body": record.body,
                "tags": list(record.tags),
                "status": _STATUSES[record.status],
                "created_at": record.created_at,
                "updated_at": record.updated_at,
                "published_at": record.published_at,
            },
        )

    @strawberry.field
    @batched(lambda context, posts: users_of(context, *_authors(posts)))
    async def author(self, info: Info) -> User:
        return await user_of(info, self.record.author_id, f"post {self.record.id}")

    @strawberry.field(description="Top-level comments, oldest first.")
    @batched(connections_of(resolvers.comments.of_posts, lambda: _comment_type().from_record))
    async def comments(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[CommentType]:
        from schema.comments import Comment

        listing = await resolvers.comments.of_post(info.context, self.record.id, first, after)
        return connection(listing, Comment.from_record)

    @strawberry.field(description="All comments, replies included.")
    @batched(_comment_counts)
    async def comment_count(self, info: Info) -> int:
        return int(await info.context.loaders.comment_count.load(self.record.id))

    @strawberry.field(description="How many reactions of each kind (kinds with none omitted).")
    @batched(_reactions_of)
    async def reactions(self, info: Info) -> list[ReactionCount]:
        return await reaction_counts(info.context, self.record.id)

    @strawberry.field(description="The kinds the signed-in user reacted with.")
    @batched(_viewer_reactions)
    async def viewer_reactions(self, info: Info) -> list[ReactionKind]:
        return await resolvers.reactions.of_viewer(info.context, self.record.id)


def _comment_type() -> type[Comment]:
    from schema.comments import Comment

    return Comment


def _authors(posts: Sequence[Post]) -> tuple[list[int], list[str]]:
    return [p.record.author_id for p in posts], [f"post {p.record.id}" for p in posts]


def post_or_none(record: PostRecord | None) -> Post | None:
    return Post.from_record(record) if record is not None else None


# The fields are `resolvers.posts.create`'s keyword arguments (passed as `**vars(input)`).
@strawberry.input
class CreatePostInput:
    title: str
    body: str
    tags: list[str] = strawberry.field(default_factory=list)
    publish: bool = strawberry.field(default=False, description="Publish now, or keep a draft.")


@strawberry.input
class UpdatePostInput:
    id: strawberry.ID
    title: str | None = None
    body: str | None = None
    tags: list[str] | None = None


@strawberry.type
class PostPayload:
    post: Post | None
    errors: list[UserError]


@strawberry.type
class PostMutations:
    @strawberry.mutation(description="Write a post, as a draft or published at once.")
    async def create_post(self, info: Info, input: CreatePostInput) -> PostPayload:
        outcome = await resolvers.posts.create(info.context, **vars(input))
        return payload(PostPayload, outcome, post=Post.from_record)

    @strawberry.mutation(description="Change a post's title, body or tags (author only).")
    async def update_post(self, info: Info, input: UpdatePostInput) -> PostPayload:
        outcome = await resolvers.posts.update(
            info.context,
            int_key(input.id, "Post"),
            title=input.title,
            body=input.body,
            tags=input.tags,
        )
        return payload(PostPayload, outcome, post=Post.from_record)

    @strawberry.mutation(description="Publish a draft (author only).")
    async def publish_post(self, info: Info, id: strawberry.ID) -> PostPayload:
        outcome = await resolvers.posts.publish(info.context, int_key(id, "Post"))
        return payload(PostPayload, outcome, post=Post.from_record)

    @strawberry.mutation(
        description="Delete a post with its comments, reactions and notifications "
        "(the author, moderators and admins)."
    )
    async def delete_post(self, info: Info, id: strawberry.ID) -> DeletePayload:
        outcome = await resolvers.posts.delete(info.context, int_key(id, "Post"))
        return payload(DeletePayload, outcome, deleted_id=lambda _: id)
