"""Comments: threads under posts; visible exactly when their post is."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasources.documents.comments import CommentRecord
from resolvers import posts as post_rules
from resolvers.context import Context
from resolvers.errors import FieldError, Forbidden, UserErrorCode
from resolvers.events import announce, comments_topic
from resolvers.notify import notify
from resolvers.pagination import Connection, page_request

MAX_COMMENT = 10_000


@dataclass
class CommentResult:
    comment: CommentRecord | None = None
    errors: list[FieldError] = field(default_factory=list)


async def visible(ctx: Context, comment_id: str) -> CommentRecord | None:
    comment = await ctx.loaders.comment_by_id.load(comment_id)
    if comment is None or await post_rules.visible(ctx, comment.post_id) is None:
        return None
    return comment


async def of_post(
    ctx: Context, post_id: int, first: int | None, after: str | None
) -> Connection[CommentRecord]:
    """Top-level comments, oldest first (the post itself was already checked)."""
    request = page_request("comments", first, after)
    page = await ctx.loaders.comments.load((post_id, request.first, request.after))
    return Connection.of(
        "comments", page, lambda: ctx.loaders.top_level_comment_count.load(post_id)
    )


async def replies(
    ctx: Context, comment_id: str, first: int | None, after: str | None
) -> Connection[CommentRecord]:
    request = page_request("replies", first, after)
    page = await ctx.loaders.replies.load((comment_id, request.first, request.after))
    return Connection.of("replies", page, lambda: ctx.loaders.reply_count.load(comment_id))


async def parent(ctx: Context, comment: CommentRecord) -> CommentRecord | None:
    if comment.parent_id is None:
        return None
    return await ctx.loaders.comment_by_id.load(comment.parent_id)


def _check_body(body: str, field_path: tuple[str, ...]) -> FieldError | None:
    if not body.strip() or len(body) > MAX_COMMENT:
        return FieldError(
            UserErrorCode.INVALID_BODY,
            f"Comment must be 1 to {MAX_COMMENT} characters.",
            field_path,
        )
    return None


def _error(code: UserErrorCode, message: str, *path: str) -> CommentResult:
    return CommentResult(errors=[FieldError(code, message, path)])


async def add(ctx: Context, post_id: int, body: str, parent_id: str | None) -> CommentResult:
    viewer = ctx.require_viewer()
    if error := _check_body(body, ("input", "body")):
        return CommentResult(errors=[error])
    post = await post_rules.visible(ctx, post_id)
    if post is None:
        return _error(UserErrorCode.NOT_FOUND, "No such post.", "input", "postId")
    if post.status != "PUBLISHED":
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
    comment = await documents.comments.add(post_id, viewer.user_id, body, parent_id)
    if not await post_rules.still_there(ctx, post_id):
        # The post was deleted while we wrote: take the comment back (see delete_everywhere).
        await documents.comments.delete_subtree(comment.id)
        return _error(UserErrorCode.NOT_FOUND, "No such post.", "input", "postId")
    _remember(ctx, comment)
    await announce(ctx.stores, comments_topic(post_id), {"comment_id": comment.id})
    if parent_comment is not None:
        await notify(ctx, parent_comment.author_id, "REPLIED", viewer.user_id, post_id, comment.id)
    if parent_comment is None or parent_comment.author_id != post.author_id:
        await notify(ctx, post.author_id, "COMMENTED", viewer.user_id, post_id, comment.id)
    return CommentResult(comment)


async def edit(ctx: Context, comment_id: str, body: str) -> CommentResult:
    viewer = ctx.require_viewer()
    comment = await visible(ctx, comment_id)
    if comment is None:
        return _error(UserErrorCode.NOT_FOUND, "No such comment.", "input", "id")
    if comment.author_id != viewer.user_id:
        raise Forbidden("only the author may edit this comment")
    if error := _check_body(body, ("input", "body")):
        return CommentResult(errors=[error])
    edited = await ctx.stores.documents.comments.edit(comment_id, body)
    if edited is None:
        return _error(UserErrorCode.NOT_FOUND, "No such comment.", "input", "id")
    _remember(ctx, edited)
    return CommentResult(edited)


async def delete(ctx: Context, comment_id: str) -> list[FieldError]:
    """The author, a moderator or an admin removes a comment and its replies."""
    viewer = ctx.require_viewer()
    comment = await visible(ctx, comment_id)
    if comment is None:
        return [FieldError(UserErrorCode.NOT_FOUND, "No such comment.", ("id",))]
    if comment.author_id != viewer.user_id and not viewer.is_staff:
        raise Forbidden("only the author, a moderator or an admin may delete this comment")
    documents = ctx.stores.documents
    removed = await documents.comments.delete_subtree(comment_id)
    await documents.notifications.delete_for_comments(removed)
    for removed_id in removed:
        ctx.loaders.comment_by_id.clear(removed_id)
    _forget_counts(ctx, comment)
    return []


def _remember(ctx: Context, comment: CommentRecord) -> None:
    ctx.loaders.comment_by_id.clear(comment.id).prime(comment.id, comment)
    _forget_counts(ctx, comment)


def _forget_counts(ctx: Context, comment: CommentRecord) -> None:
    """Counts and first pages cached earlier in this request are stale after a write."""
    loaders = ctx.loaders
    loaders.comment_count.clear(comment.post_id)
    loaders.top_level_comment_count.clear(comment.post_id)
    if comment.parent_id is not None:
        loaders.reply_count.clear(comment.parent_id)
    loaders.comments.clear_all()
    loaders.replies.clear_all()
