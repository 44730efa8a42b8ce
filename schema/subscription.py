"""The root Subscription type: live events over WebSocket (graphql-transport-ws)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from resolvers.subscriptions import (
    comments_added,
    notifications_received,
    posts_published,
    reactions_changed,
)
from schema.comments import Comment
from schema.global_ids import int_key
from schema.info import Info
from schema.notifications import Notification
from schema.posts import Post, ReactionCount, reaction_counts

Since = Annotated[
    str | None,
    strawberry.argument(
        description="Resume after this event cursor: events missed since then arrive first, "
        "in order."
    ),
]


@strawberry.type
class PostEvent:
    cursor: str
    post: Post


@strawberry.type
class CommentEvent:
    cursor: str
    comment: Comment


@strawberry.type
class ReactionsEvent:
    cursor: str
    post: Post

    @strawberry.field(description="The post's reaction counts as of this event.")
    async def reactions(self, info: Info) -> list[ReactionCount]:
        return await reaction_counts(info.context, self.post.record.id)


@strawberry.type
class NotificationEvent:
    cursor: str
    notification: Notification


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Posts as they are published (optionally by one author).")
    async def post_published(
        self,
        info: Info,
        author_id: strawberry.ID | None = None,
        since: Since = None,
    ) -> AsyncGenerator[PostEvent, None]:
        author = int_key(author_id, "User") if author_id is not None else None
        async for cursor, post in posts_published(info.context, author, since):
            yield PostEvent(cursor=cursor, post=Post.from_record(post))

    @strawberry.subscription(description="New comments and replies on a post.")
    async def comment_added(
        self,
        info: Info,
        post_id: strawberry.ID,
        since: Since = None,
    ) -> AsyncGenerator[CommentEvent, None]:
        post = int_key(post_id, "Post")
        async for cursor, comment in comments_added(info.context, post, since):
            yield CommentEvent(cursor=cursor, comment=Comment.from_record(comment))

    @strawberry.subscription(description="A post's reaction counts, whenever they change.")
    async def reactions_changed(
        self,
        info: Info,
        post_id: strawberry.ID,
        since: Since = None,
    ) -> AsyncGenerator[ReactionsEvent, None]:
        post_key = int_key(post_id, "Post")
        async for cursor, post in reactions_changed(info.context, post_key, since):
            yield ReactionsEvent(cursor=cursor, post=Post.from_record(post))

    @strawberry.subscription(description="The viewer's own new notifications; needs auth.")
    async def notification_received(
        self,
        info: Info,
        since: Since = None,
    ) -> AsyncGenerator[NotificationEvent, None]:
        async for cursor, note in notifications_received(info.context, since):
            yield NotificationEvent(cursor=cursor, notification=Notification.from_record(note))
