"""Follows: who follows whom, counts, and the viewer's own edges."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasources.relational.records import UserRecord
from resolvers.context import Context
from resolvers.errors import FieldError, UserErrorCode
from resolvers.notify import notify
from resolvers.pagination import Connection, page_request


@dataclass
class FollowResult:
    user: UserRecord | None = None
    errors: list[FieldError] = field(default_factory=list)


async def _users(ctx: Context, connection: Connection[int]) -> Connection[UserRecord]:
    return connection.replaced(await ctx.loaders.user_by_id.load_many(connection.items))


async def followers(
    ctx: Context, user_id: int, first: int | None, after: str | None
) -> Connection[UserRecord]:
    request = page_request("followers", first, after)
    page = await ctx.loaders.followers.load((user_id, request.first, request.after))
    return await _users(ctx, Connection.of("followers", page, lambda: follower_count(ctx, user_id)))


async def following(
    ctx: Context, user_id: int, first: int | None, after: str | None
) -> Connection[UserRecord]:
    request = page_request("following", first, after)
    page = await ctx.loaders.following.load((user_id, request.first, request.after))
    return await _users(
        ctx, Connection.of("following", page, lambda: following_count(ctx, user_id))
    )


async def follower_count(ctx: Context, user_id: int) -> int:
    return int((await ctx.loaders.follow_counts.load(user_id))[0])


async def following_count(ctx: Context, user_id: int) -> int:
    return int((await ctx.loaders.follow_counts.load(user_id))[1])


async def viewer_follows(ctx: Context, user_id: int) -> bool:
    reader = ctx.reader()
    if reader is None or reader.user_id == user_id:
        return False
    return bool(await ctx.loaders.viewer_follows.load((reader.user_id, user_id)))


def _error(code: UserErrorCode, message: str) -> FollowResult:
    return FollowResult(errors=[FieldError(code, message, ("userId",))])


async def follow(ctx: Context, user_id: int) -> FollowResult:
    viewer = ctx.require_viewer()
    if user_id == viewer.user_id:
        return _error(UserErrorCode.CANNOT_FOLLOW_SELF, "You cannot follow yourself.")
    target = await ctx.loaders.user_by_id.load(user_id)
    if target is None:
        return _error(UserErrorCode.NOT_FOUND, "No such user.")
    if not await ctx.stores.relational.follows.follow(viewer.user_id, user_id):
        return FollowResult(
            target, _error(UserErrorCode.ALREADY_FOLLOWING, "You already follow this user.").errors
        )
    await notify(ctx, user_id, "FOLLOWED", viewer.user_id)
    _forget(ctx, viewer.user_id, user_id)
    return FollowResult(target)


async def unfollow(ctx: Context, user_id: int) -> FollowResult:
    viewer = ctx.require_viewer()
    target = await ctx.loaders.user_by_id.load(user_id)
    if target is None:
        return _error(UserErrorCode.NOT_FOUND, "No such user.")
    if not await ctx.stores.relational.follows.unfollow(viewer.user_id, user_id):
        return FollowResult(
            target, _error(UserErrorCode.NOT_FOLLOWING, "You do not follow this user.").errors
        )
    _forget(ctx, viewer.user_id, user_id)
    return FollowResult(target)


def _forget(ctx: Context, follower_id: int, followee_id: int) -> None:
    loaders = ctx.loaders
    loaders.follow_counts.clear(follower_id).clear(followee_id)
    loaders.viewer_follows.clear((follower_id, followee_id))
    loaders.followers.clear_all()
    loaders.following.clear_all()
