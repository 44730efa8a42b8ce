"""Who may see what: drafts are their author's, a comment is visible exactly when its
post is, and a notification is its recipient's while what it is about still exists.

A refused token reads as anonymous here (`Context.lenient_viewer`): visibility never
fails a read, it only hides."""

from __future__ import annotations

from datasources.documents.comments import CommentRecord
from datasources.documents.notifications import NotificationRecord
from datasources.relational.posts import PostRecord
from domain import PostStatus
from resolvers.context import Context, Viewer


def can_read(viewer: Viewer | None, post: PostRecord) -> bool:
    """Drafts are for their author alone."""
    return post.status == PostStatus.PUBLISHED or (
        viewer is not None and viewer.user_id == post.author_id
    )


async def visible_post(ctx: Context, post_id: int) -> PostRecord | None:
    post = await ctx.loaders.post_by_id.load(post_id)
    return post if post is not None and can_read(ctx.lenient_viewer(), post) else None


async def visible_comment(ctx: Context, comment_id: str) -> CommentRecord | None:
    comment = await ctx.loaders.comment_by_id.load(comment_id)
    if comment is None or await visible_post(ctx, comment.post_id) is None:
        return None
    return comment


async def still_relevant(ctx: Context, note: NotificationRecord) -> bool:
    """A notification about a post or comment that is gone (or being deleted) is hidden."""
    if note.post_id is not None and await visible_post(ctx, note.post_id) is None:
        return False
    return note.comment_id is None or await visible_comment(ctx, note.comment_id) is not None


async def visible_notification(ctx: Context, notification_id: str) -> NotificationRecord | None:
    reader = ctx.lenient_viewer()
    if reader is None:
        return None
    note = await ctx.loaders.notification_by_id.load(notification_id)
    if note is None or note.user_id != reader.user_id or not await still_relevant(ctx, note):
        return None
    return note
