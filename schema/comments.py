"""Comment and the comment mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry

import resolvers.comments
from datasources.documents.comments import CommentRecord
from resolvers.visibility import visible_post
from schema.batches import batched
from schema.connections import Connection, connection, connections_of
from schema.global_ids import int_key, object_key
from schema.info import Info
from schema.instances import made
from schema.node import Node, global_id
from schema.payloads import DeletePayload, UserError, payload
from schema.posts import Post
from schema.users import User, user_of, users_of


@strawberry.type(description="A comment on a post, or a reply to another comment.")
class Comment(Node):
    record: strawberry.Private[CommentRecord]
    body: str
    created_at: datetime
    edited_at: datetime | None

    @classmethod
    def from_record(cls, record: CommentRecord) -> Comment:
        return made(
            cls,
            {
                "id": global_id("Comment", record.id),
                "record": record,
                "body": record.body,
                "created_at": record.created_at,
                "edited_at": record.edited_at,
            },
        )

    @strawberry.field
    @batched(
        lambda context, comments: users_of(
            context,
            [c.record.author_id for c in comments],
            [f"comment {c.record.id}" for c in comments],
        )
    )
    async def author(self, info: Info) -> User:
        return await user_of(info, self.record.author_id, f"comment {self.record.id}")

    @strawberry.field
    async def post(self, info: Info) -> Post:
        post = await visible_post(info.context, self.record.post_id)
        if post is None:
            raise LookupError(f"comment {self.record.id} has no visible post")
        return Post.from_record(post)

    @strawberry.field(description="The comment this one replies to; null for top-level ones.")
    async def parent(self, info: Info) -> Comment | None:
        found = await resolvers.comments.parent(info.context, self.record)
        return Comment.from_record(found) if found else None

    @strawberry.field(description="Direct replies, oldest first.")
    @batched(connections_of(resolvers.comments.replies_of, lambda: Comment.from_record))
    async def replies(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Comment]:
        listing = await resolvers.comments.replies(info.context, self.record.id, first, after)
        return connection(listing, Comment.from_record)


@strawberry.input
class AddCommentInput:
    post_id: strawberry.ID
    body: str
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="The comment replied to, of the same post."
    )


@strawberry.input
class EditCommentInput:
    id: strawberry.ID
    body: str


@strawberry.type
class CommentPayload:
    comment: Comment | None
    errors: list[UserError]


@strawberry.type
class CommentMutations:
    @strawberry.mutation(description="Comment on a published post, or reply to a comment.")
    async def add_comment(self, info: Info, input: AddCommentInput) -> CommentPayload:
        parent = object_key(input.parent_id, "Comment") if input.parent_id else None
        post_id = int_key(input.post_id, "Post")
        outcome = await resolvers.comments.add(info.context, post_id, input.body, parent)
        return payload(CommentPayload, outcome, comment=Comment.from_record)

    @strawberry.mutation(description="Change a comment's text (author only).")
    async def edit_comment(self, info: Info, input: EditCommentInput) -> CommentPayload:
        comment_id = object_key(input.id, "Comment")
        outcome = await resolvers.comments.edit(info.context, comment_id, input.body)
        return payload(CommentPayload, outcome, comment=Comment.from_record)

    @strawberry.mutation(
        description="Delete a comment and its replies (the author, moderators and admins)."
    )
    async def delete_comment(self, info: Info, id: strawberry.ID) -> DeletePayload:
        outcome = await resolvers.comments.delete(info.context, object_key(id, "Comment"))
        return payload(DeletePayload, outcome, deleted_id=lambda _: id)
