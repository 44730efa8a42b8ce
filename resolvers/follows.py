"""Follows: who follows whom, counts, and the viewer's own edges."""

from __future__ import annotations

from typing import cast

from datasources.relational.records import UserRecord
from domain import Followed
from loaders.base import PagedLoader, single
from resolvers.context import Context
from resolvers.errors import FieldError, Outcome, UserErrorCode
from resolvers.notifications import notify
from resolvers.pagination import Listing, load_listings


async def followers(
    ctx: Context, user_id: int, first: int | None, after: str | None
) -> Listing[UserRecord]:
    return single(await followers_of(ctx, [user_id], first, after))


async def following(
    ctx: Context, user_id: int, first: int | None, after: str | None
) -> Listing[UserRecord]:
    return single(await following_of(ctx, [user_id], first, after))


async def followers_of(
    ctx: Context, user_ids: list[int], first: int | None, after: str | None
) -> list[Listing[UserRecord] | BaseException]:
    """`followers` for many users at once."""
    return await _listed_users(ctx, "followers", ctx.loaders.followers, user_ids, first, after)


async def following_of(
    ctx: Context, user_ids: list[int], first: int | None, after: str | None
) -> list[Listing[UserRecord] | BaseException]:
    """`following` for many users at once."""
    return await _listed_users(ctx, "following", ctx.loaders.following, user_ids, first, after)


async def _listed_users(
    ctx: Context,
    name: str,
    pages: PagedLoader[int, int],
    user_ids: list[int],
    first: int | None,
    after: str | None,
) -> list[Listing[UserRecord] | BaseException]:
    """Each user's listing of users, with one load of every user they list."""
    listings = await load_listings(name, [(pages, u) for u in user_ids], first, after)
    ids = [
        i for listing in listings if not isinstance(listing, BaseException) for i in listing.items
    ]
    found = iter(await ctx.loaders.user_by_id.load_each(ids))
    replaced: list[Listing[UserRecord] | BaseException] = []
    for listing in listings:
        if isinstance(listing, BaseException):
            replaced.append(listing)
            continue
        users = [next(found) for _ in listing.items]
        failed = next((user for user in users if isinstance(user, BaseException)), None)
        if failed is not None:
            replaced.append(failed)
            continue
        replaced.append(listing.replaced(cast(list[UserRecord | None], users)))
    return replaced


async def follower_count(ctx: Context, user_id: int) -> int:
    return await ctx.loaders.followers.count(user_id)


async def following_count(ctx: Context, user_id: int) -> int:
    return await ctx.loaders.following.count(user_id)


async def follow_counts(ctx: Context, user_ids: list[int]) -> list[tuple[int, int] | BaseException]:
    """(followers, following) of each user."""
    return await ctx.loaders.follow_counts.load_each(user_ids)


async def viewer_follows(ctx: Context, user_id: int) -> bool:
    return single(await viewer_follows_each(ctx, [user_id]))


async def viewer_follows_each(ctx: Context, user_ids: list[int]) -> list[bool | BaseException]:
    """`viewer_follows` for many users at once."""
    reader = ctx.lenient_viewer()
    if reader is None:
        return [False for _ in user_ids]
    others = [user_id for user_id in user_ids if user_id != reader.user_id]
    keys = [(reader.user_id, user_id) for user_id in others]
    found = dict(zip(others, await ctx.loaders.viewer_follows.load_each(keys), strict=True))
    return [False if user_id == reader.user_id else _flag(found[user_id]) for user_id in user_ids]


def _flag(value: bool | BaseException) -> bool | BaseException:
    return value if isinstance(value, BaseException) else bool(value)


def _error(code: UserErrorCode, message: str) -> list[FieldError]:
    return [FieldError(code, message, ("userId",))]


async def follow(ctx: Context, user_id: int) -> Outcome[UserRecord]:
    viewer = ctx.require_viewer()
    if user_id == viewer.user_id:
        return Outcome(
            errors=_error(UserErrorCode.CANNOT_FOLLOW_SELF, "You cannot follow yourself.")
        )
    target = await ctx.loaders.user_by_id.load(user_id)
    if target is None:
        return Outcome(errors=_error(UserErrorCode.NOT_FOUND, "No such user."))
    if not await ctx.stores.relational.follows.follow(viewer.user_id, user_id):
        return Outcome(
            target, _error(UserErrorCode.ALREADY_FOLLOWING, "You already follow this user.")
        )
    await notify(ctx, Followed(viewer.user_id, user_id))
    _forget(ctx, viewer.user_id, user_id)
    return Outcome(target)


async def unfollow(ctx: Context, user_id: int) -> Outcome[UserRecord]:
    viewer = ctx.require_viewer()
    target = await ctx.loaders.user_by_id.load(user_id)
    if target is None:
        return Outcome(errors=_error(UserErrorCode.NOT_FOUND, "No such user."))
    if not await ctx.stores.relational.follows.unfollow(viewer.user_id, user_id):
        return Outcome(target, _error(UserErrorCode.NOT_FOLLOWING, "You do not follow this user."))
    _forget(ctx, viewer.user_id, user_id)
    return Outcome(target)


def _forget(ctx: Context, follower_id: int, followee_id: int) -> None:
    loaders = ctx.loaders
    loaders.follow_counts.clear(follower_id).clear(followee_id)
    loaders.viewer_follows.clear((follower_id, followee_id))
    loaders.followers.clear_all()
    loaders.following.clear_all()
