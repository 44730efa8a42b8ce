"""Reactions: one of each kind per user per post, on published posts."""

from __future__ import annotations

from datasources.relational.posts import PostRecord
from domain import PostStatus, Reacted, ReactionKind
from loaders.base import single
from resolvers import posts
from resolvers.context import Context
from resolvers.errors import FieldError, Outcome, UserErrorCode
from resolvers.events import ReactionsChanged, announce
from resolvers.notifications import notify
from resolvers.visibility import visible_post


async def counts(ctx: Context, post_id: int) -> list[tuple[ReactionKind, int]]:
    return kinds_counted(await ctx.loaders.reaction_counts.load(post_id))


async def counts_of(ctx: Context, post_ids: list[int]) -> list[dict[str, int] | BaseException]:
    """Each post's reaction counts by kind (`kinds_counted` presents one)."""
    return await ctx.loaders.reaction_counts.load_each(post_ids)


def kinds_counted(found: dict[str, int]) -> list[tuple[ReactionKind, int]]:
    """The kinds with reactions and their counts, in ReactionKind order."""
    return [(kind, found[kind]) for kind in ReactionKind if found.get(kind)]


async def of_viewer(ctx: Context, post_id: int) -> list[ReactionKind]:
    return single(await of_viewer_each(ctx, [post_id]))


async def of_viewer_each(
    ctx: Context, post_ids: list[int]
) -> list[list[ReactionKind] | BaseException]:
    """`of_viewer` for many posts at once."""
    reader = ctx.lenient_viewer()
    if reader is None:
        return [[] for _ in post_ids]
    keys = [(reader.user_id, post_id) for post_id in post_ids]
    found = await ctx.loaders.viewer_reactions.load_each(keys)
    return [
        kinds
        if isinstance(kinds, BaseException)
        else [kind for kind in ReactionKind if kind in kinds]
        for kinds in found
    ]


async def _reactable(ctx: Context, post_id: int) -> Outcome[PostRecord]:
    post = await visible_post(ctx, post_id)
    if post is None:
        return Outcome.refused(UserErrorCode.NOT_FOUND, "No such post.", "postId")
    if post.status != PostStatus.PUBLISHED:
        return Outcome.refused(
            UserErrorCode.NOT_PUBLISHED, "Drafts cannot be reacted to.", "postId"
        )
    return Outcome(post)


async def react(ctx: Context, post_id: int, kind: ReactionKind) -> Outcome[PostRecord]:
    return await _change(ctx, post_id, kind, adding=True)


async def unreact(ctx: Context, post_id: int, kind: ReactionKind) -> Outcome[PostRecord]:
    return await _change(ctx, post_id, kind, adding=False)


async def _change(
    ctx: Context, post_id: int, kind: ReactionKind, *, adding: bool
) -> Outcome[PostRecord]:
    viewer = ctx.require_viewer()
    reactable = await _reactable(ctx, post_id)
    post = reactable.value
    if post is None:
        return reactable
    store = ctx.stores.documents.reactions
    event = ReactionsChanged(post_id)
    entry = event.recorded(
        ReactionsChanged.topic(post_id), ctx.stores.documents.post_counts.COLLECTION
    )
    change = store.add if adding else store.remove
    if not await change(post_id, viewer.user_id, kind.value, entry):
        refusal = (
            FieldError(UserErrorCode.ALREADY_REACTED, f"You already reacted {kind}.", ("kind",))
            if adding
            else FieldError(UserErrorCode.NOT_REACTED, f"You have not reacted {kind}.", ("kind",))
        )
        return Outcome(post, [refusal])
    if adding and not await posts.still_there(ctx, post_id):
        # The post was deleted while we wrote: take the reaction back (see delete_everywhere).
        await store.remove(post_id, viewer.user_id, kind.value)
        return Outcome.refused(UserErrorCode.NOT_FOUND, "No such post.", "postId")
    _forget(ctx, post_id, viewer.user_id)
    await announce(ctx, event, entry)
    if adding:
        await notify(ctx, Reacted(viewer.user_id, post.author_id), post_id)
    return Outcome(post)


def _forget(ctx: Context, post_id: int, viewer_id: int) -> None:
    ctx.loaders.post_counts.clear(post_id)
    ctx.loaders.reaction_counts.clear(post_id)
    ctx.loaders.viewer_reactions.clear((viewer_id, post_id))
