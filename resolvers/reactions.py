"""Reactions: one of each kind per user per post."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasources.relational.posts import PostRecord
from resolvers import posts as post_rules
from resolvers.context import Context
from resolvers.errors import FieldError, UserErrorCode
from resolvers.events import announce, reactions_topic
from resolvers.notify import notify

KIND_ORDER = ("LIKE", "LOVE", "INSIGHTFUL", "FUNNY")


@dataclass
class ReactionResult:
    post: PostRecord | None = None
    errors: list[FieldError] = field(default_factory=list)


async def counts(ctx: Context, post_id: int) -> list[tuple[str, int]]:
    found: dict[str, int] = await ctx.loaders.reaction_counts.load(post_id)
    return [(kind, found[kind]) for kind in KIND_ORDER if found.get(kind)]


async def of_viewer(ctx: Context, post_id: int) -> list[str]:
    reader = ctx.reader()
    if reader is None:
        return []
    kinds: list[str] = await ctx.loaders.viewer_reactions.load((reader.user_id, post_id))
    return [kind for kind in KIND_ORDER if kind in kinds]


async def _reactable(ctx: Context, post_id: int) -> tuple[PostRecord | None, list[FieldError]]:
    post = await post_rules.visible(ctx, post_id)
    if post is None:
        return None, [FieldError(UserErrorCode.NOT_FOUND, "No such post.", ("postId",))]
    if post.status != "PUBLISHED":
        return None, [
            FieldError(UserErrorCode.NOT_PUBLISHED, "Drafts cannot be reacted to.", ("postId",))
        ]
    return post, []


async def react(ctx: Context, post_id: int, kind: str) -> ReactionResult:
    viewer = ctx.require_viewer()
    post, errors = await _reactable(ctx, post_id)
    if post is None:
        return ReactionResult(errors=errors)
    documents = ctx.stores.documents
    if not await documents.reactions.add(post_id, viewer.user_id, kind):
        return ReactionResult(
            post,
            [FieldError(UserErrorCode.ALREADY_REACTED, f"You already reacted {kind}.", ("kind",))],
        )
    if not await post_rules.still_there(ctx, post_id):
        # The post was deleted while we wrote: take the reaction back (see delete_everywhere).
        await documents.reactions.remove(post_id, viewer.user_id, kind)
        return ReactionResult(errors=[FieldError(UserErrorCode.NOT_FOUND, "No such post.",
                                                 ("postId",))])  # fmt: skip
    _forget(ctx, post_id, viewer.user_id)
    await announce(ctx.stores, reactions_topic(post_id), {"post_id": post_id})
    await notify(ctx, post.author_id, "REACTED", viewer.user_id, post_id)
    return ReactionResult(post)


async def unreact(ctx: Context, post_id: int, kind: str) -> ReactionResult:
    viewer = ctx.require_viewer()
    post, errors = await _reactable(ctx, post_id)
    if post is None:
        return ReactionResult(errors=errors)
    if not await ctx.stores.documents.reactions.remove(post_id, viewer.user_id, kind):
        return ReactionResult(
            post,
            [FieldError(UserErrorCode.NOT_REACTED, f"You have not reacted {kind}.", ("kind",))],
        )
    _forget(ctx, post_id, viewer.user_id)
    await announce(ctx.stores, reactions_topic(post_id), {"post_id": post_id})
    return ReactionResult(post)


def _forget(ctx: Context, post_id: int, viewer_id: int) -> None:
    ctx.loaders.reaction_counts.clear(post_id)
    ctx.loaders.viewer_reactions.clear((viewer_id, post_id))
