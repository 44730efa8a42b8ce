"""Notifications: each user's own feed of what others did to them."""

from __future__ import annotations

import asyncio

from datasources.documents.notifications import NotificationRecord
from resolvers import comments as comment_rules
from resolvers import posts as post_rules
from resolvers.context import Context
from resolvers.pagination import Connection, page_request

MAX_MARK = 100


async def _still_relevant(ctx: Context, note: NotificationRecord) -> bool:
    """A notification about a post or comment that is gone (or being deleted) is hidden."""
    if note.post_id is not None and await post_rules.visible(ctx, note.post_id) is None:
        return False
    return note.comment_id is None or await comment_rules.visible(ctx, note.comment_id) is not None


async def list_own(
    ctx: Context, first: int | None, after: str | None, unread_only: bool
) -> Connection[NotificationRecord]:
    viewer = ctx.require_viewer()
    request = page_request("notifications", first, after)
    store = ctx.stores.documents.notifications
    page = await store.list_for_user(viewer.user_id, request, unread_only=unread_only)
    connection = Connection.of(
        "notifications",
        page,
        lambda: store.count_for_user(viewer.user_id, unread_only=unread_only),
    )
    keep = await asyncio.gather(*(_still_relevant(ctx, note) for note in page.items))
    return connection.replaced([n if k else None for n, k in zip(page.items, keep, strict=True)])


async def visible(ctx: Context, notification_id: str) -> NotificationRecord | None:
    reader = ctx.reader()
    if reader is None:
        return None
    note = await ctx.loaders.notification_by_id.load(notification_id)
    if note is None or note.user_id != reader.user_id or not await _still_relevant(ctx, note):
        return None
    return note


async def mark_read(ctx: Context, notification_ids: list[str] | None) -> int:
    viewer = ctx.require_viewer()
    return await ctx.stores.documents.notifications.mark_read(viewer.user_id, notification_ids)
