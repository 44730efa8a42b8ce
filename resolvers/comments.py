"""Comments: threads under posts; visible exactly when their post is."""

from __future__ import annotations

from datasources.documents.comments import CommentRecord
from datasources.documents.object_ids import new_object_id
from domain import MAX_COMMENT, Commented, PostStatus
from loaders.base import single
from resolvers import posts
from resolvers.context import Context
from resolvers.errors import FieldError, Forbidden, Outcome, UserErrorCode
from resolvers.events import CommentAdded, announce
from resolvers.notifications import notify
from resolvers.pagination import Listing, load_listings
from resolvers.validation import check_text
from resolvers.visibility import visible_comment, visible_post


async def of_post(
    ctx: Context, post_id: int, first: int | None, after: str | None
) -> Listing[CommentRecord]:
    """Top-level comments, oldest first (the post itself was already checked)."""
    return single(await of_posts(ctx, [post_id], first, after))


async def of_posts(
    ctx: Context, post_ids: list[int], first: int | None, after: str | None
) -> list[Listing[CommentRecord] | BaseException]:
    """`of_post` for many posts at once."""
    pages = ctx.loaders.comments
    return await load_listings("comments", [(pages, p) for p in post_ids], first, after)


async def replies(
    ctx: Context, comment_id: str, first: int | None, after: str | None
) -> Listing[CommentRecord]:
    return single(await replies_of(ctx, [comment_id], first, after))


async def replies_of(
    ctx: Context, comment_ids: list[str], first: int | None, after: str | None
) -> list[Listing[CommentRecord] | BaseException]:
    """`replies` for many comments at once."""
    pages = ctx.loaders.replies
    return await load_listings("replies", [(pages, c) for c in comment_ids], first, after)


async def parent(ctx: Context, comment: CommentRecord) -> CommentRecord | None:
    if comment.parent_id is None:
        return None
    return await ctx.loaders.comment_by_id.load(comment.parent_id)


def _check_body(body: str, field_path: tuple[str, ...]) -> FieldError | None:
    return check_text(body, MAX_COMMENT, UserErrorCode.INVALID_BODY, "Comment", field_path)


_error = Outcome[CommentRecord].refused


async def add(
    ctx: Context, post_id: int, body: str, parent_id: str | None
) -> Outcome[CommentRecord]:
    viewer = ctx.require_viewer()
    if error := _check_body(body, ("input", "body")):
        return Outcome(errors=[error])
    post = await visible_post(ctx, post_id)
    if post is None:
        return _error(UserErrorCode.NOT_FOUND, "No such post.", "input", "postId")
    if post.status != PostStatus.PUBLISHED:
        return _error(
            UserErrorCode.NOT_PUBLISHED, "Drafts cannot be commented on.", "input", "postId"
        )
    parent_comment = None
    if parent_id is not None:
        parent_comment = await ctx.loaders.comment_by_id.load(parent_id)
        if parent_comment is None or parent_comment.post_id != post_id:
            return _error(
                UserErrorCode.INVALID_PARENT,
                "The comment replied to does not belong to this post.",
                "input",
                "parentId",
            )
    documents = ctx.stores.documents
    event = CommentAdded(new_object_id())
    entry = event.recorded(CommentAdded.topic(post_id), documents.comments.COLLECTION)
    comment = await documents.comments.add(
        post_id, viewer.user_id, body, parent_id, comment_id=event.comment_id, event=entry
    )
    if not await posts.still_there(ctx, post_id):
        # The post was deleted while we wrote: take the comment back (see delete_everywhere).
        await documents.comments.delete_subtree(comment.id)
        return _error(UserErrorCode.NOT_FOUND, "No such post.", "input", "postId")
    _remember(ctx, comment)
    await announce(ctx, event, entry)
    parent_author_id = parent_comment.author_id if parent_comment is not None else None
    action = Commented(viewer.user_id, post.author_id, parent_author_id)
    await notify(ctx, action, post_id, comment.id)
    return Outcome(comment)


async def edit(ctx: Context, comment_id: str, body: str) -> Outcome[CommentRecord]:
    viewer = ctx.require_viewer()
    comment = await visible_comment(ctx, comment_id)
    if comment is None:
        return _error(UserErrorCode.NOT_FOUND, "No such comment.", "input", "id")
    if comment.author_id != viewer.user_id:
        raise Forbidden("only the author may edit this comment")
    if error := _check_body(body, ("input", "body")):
        return Outcome(errors=[error])
    edited = await ctx.stores.documents.comments.edit(comment_id, body)
    if edited is None:
        return _error(UserErrorCode.NOT_FOUND, "No such comment.", "input", "id")
    _remember(ctx, edited)
    return Outcome(edited)


async def delete(ctx: Context, comment_id: str) -> Outcome[str]:
    """The author, a moderator or an admin removes a comment and its replies."""
    viewer = ctx.require_viewer()
    comment = await visible_comment(ctx, comment_id)
    if comment is None:
        return Outcome.refused(UserErrorCode.NOT_FOUND, "No such comment.", "id")
    if comment.author_id != viewer.user_id and not viewer.is_staff:
        raise Forbidden("only the author, a moderator or an admin may delete this comment")
    documents = ctx.stores.documents
    removed = await documents.comments.delete_subtree(comment_id)
    await documents.notifications.delete_for_comments(removed)
    for removed_id in removed:
        ctx.loaders.comment_by_id.clear(removed_id)
    _forget_counts(ctx, comment)
    return Outcome(comment_id)


def _remember(ctx: Context, comment: CommentRecord) -> None:
    ctx.loaders.comment_by_id.clear(comment.id).prime(comment.id, comment)
    _forget_counts(ctx, comment)


def _forget_counts(ctx: Context, comment: CommentRecord) -> None:
    """Counts and first pages cached earlier in this request are stale after a write."""
    loaders = ctx.loaders
    loaders.post_counts.clear(comment.post_id)
    loaders.comment_count.clear(comment.post_id)
    loaders.top_level_comment_count.clear(comment.post_id)
    if comment.parent_id is not None:
        loaders.reply_count.clear(comment.parent_id)
    loaders.comments.clear_all()
    loaders.replies.clear_all()
