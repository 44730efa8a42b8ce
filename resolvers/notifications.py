"""Notifications: written when others act on a user (who gets which is `domain.notices`),
announced to the recipient's subscriptions, and read back as each user's own feed."""

from __future__ import annotations

import asyncio

from datasources.documents.notifications import NotificationRecord
from datasources.documents.object_ids import new_object_id
from domain import Action, notices
from resolvers.context import Context
from resolvers.events import NotificationCreated, announce
from resolvers.pagination import Listing, page_request
from resolvers.visibility import still_relevant

MAX_MARK = 100


async def notify(
    ctx: Context, action: Action, post_id: int | None = None, comment_id: str | None = None
) -> None:
    """Writes and announces the notifications `action` causes (none for one's own)."""
    notifications = ctx.stores.documents.notifications
    for notice in notices(action):
        event = NotificationCreated(new_object_id())
        topic = NotificationCreated.topic(notice.recipient_id)
        entry = event.recorded(topic, notifications.COLLECTION)
        note = await notifications.create(
            notice.recipient_id,
            notice.kind.value,
            action.actor_id,
            post_id,
            comment_id,
            notification_id=event.notification_id,
            event=entry,
        )
        if note is not None:
            await announce(ctx, event, entry)


async def list_own(
    ctx: Context, first: int | None, after: str | None, unread_only: bool
) -> Listing[NotificationRecord]:
    viewer = ctx.require_viewer()
    request = page_request("notifications", first, after)
    store = ctx.stores.documents.notifications
    page = await store.list_for_user(viewer.user_id, request, unread_only=unread_only)
    listing = Listing.of(
        "notifications",
        page,
        lambda: store.count_for_user(viewer.user_id, unread_only=unread_only),
    )
    keep = await asyncio.gather(*(still_relevant(ctx, note) for note in page.items))
    return listing.replaced([n if k else None for n, k in zip(page.items, keep, strict=True)])


async def mark_read(ctx: Context, notification_ids: list[str] | None) -> int:
    viewer = ctx.require_viewer()
    return await ctx.stores.documents.notifications.mark_read(viewer.user_id, notification_ids)
