"""Notification and markNotificationsRead."""

from __future__ import annotations

from datetime import datetime

import strawberry

import resolvers.notifications
from datasources.documents.notifications import NotificationRecord
from resolvers.errors import BadUserInput
from resolvers.visibility import visible_comment, visible_post
from schema.batches import batched
from schema.comments import Comment
from schema.enums import NotificationKind
from schema.global_ids import object_key
from schema.info import Info
from schema.node import Node, global_id
from schema.payloads import UserError
from schema.posts import Post, post_or_none
from schema.users import User, user_of, users_of


@strawberry.type(description="Something another user did that concerns the viewer.")
class Notification(Node):
    record: strawberry.Private[NotificationRecord]
    kind: NotificationKind
    read: bool
    created_at: datetime

    @classmethod
    def from_record(cls, record: NotificationRecord) -> Notification:
        return cls(
            id=global_id("Notification", record.id),
            record=record,
            read=record.read,
            created_at=record.created_at,
            kind=NotificationKind(record.kind),
        )

    @strawberry.field
    @batched(
        lambda context, notifications: users_of(
            context,
            [n.record.actor_id for n in notifications],
            [f"notification {n.record.id}" for n in notifications],
        )
    )
    async def actor(self, info: Info) -> User:
        return await user_of(info, self.record.actor_id, f"notification {self.record.id}")

    @strawberry.field
    async def post(self, info: Info) -> Post | None:
        if self.record.post_id is None:
            return None
        return post_or_none(await visible_post(info.context, self.record.post_id))

    @strawberry.field
    async def comment(self, info: Info) -> Comment | None:
        if self.record.comment_id is None:
            return None
        found = await visible_comment(info.context, self.record.comment_id)
        return Comment.from_record(found) if found else None


@strawberry.type
class MarkReadPayload:
    count: int = strawberry.field(description="How many notifications changed to read.")
    errors: list[UserError]


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(description="Mark the viewer's notifications read; no ids: all of them.")
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID] | None = None
    ) -> MarkReadPayload:
        if ids is not None and len(ids) > resolvers.notifications.MAX_MARK:
            raise BadUserInput(
                f"at most {resolvers.notifications.MAX_MARK} ids per call", argument="ids"
            )
        keys = [object_key(i, "Notification") for i in ids] if ids is not None else None
        return MarkReadPayload(
            count=await resolvers.notifications.mark_read(info.context, keys), errors=[]
        )
