"""Creating a notification and announcing it to its recipient's subscriptions."""

from __future__ import annotations

from resolvers.context import Context
from resolvers.events import announce, notifications_topic


async def notify(
    ctx: Context,
    user_id: int,
    kind: str,
    actor_id: int,
    post_id: int | None = None,
    comment_id: str | None = None,
) -> None:
    """Nothing happens for one's own actions (the store refuses those)."""
    note = await ctx.stores.documents.notifications.create(
        user_id, kind, actor_id, post_id, comment_id
    )
    if note is not None:
        await announce(ctx.stores, notifications_topic(user_id), {"notification_id": note.id})
