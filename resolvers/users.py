"""Reading users: who may see what."""

from __future__ import annotations

from datasources.documents.profiles import ProfileRecord
from datasources.relational.records import UserRecord
from resolvers.context import Context
from resolvers.pagination import Listing, page_request
from resolvers.validation import normalise_handle, search_term


async def viewer(ctx: Context) -> UserRecord | None:
    current = ctx.strict_viewer()
    if current is None:
        return None
    return await ctx.loaders.user_by_id.load(current.user_id)


async def by_handle(ctx: Context, handle: str) -> UserRecord | None:
    return await ctx.stores.relational.users.get_by_handle(normalise_handle(handle))


async def by_id(ctx: Context, user_id: int) -> UserRecord | None:
    return await ctx.loaders.user_by_id.load(user_id)


async def search(
    ctx: Context, first: int | None, after: str | None, query: str | None
) -> Listing[UserRecord]:
    request = page_request("users", first, after)
    term = search_term(query)
    users = ctx.stores.relational.users
    page = await users.search(request, term)
    return Listing.of("users", page, lambda: users.count(term))


def visible_email(ctx: Context, user: UserRecord) -> str | None:
    """The user themself and admins see the address; everyone else sees null."""
    current = ctx.lenient_viewer()
    if current is not None and (current.user_id == user.id or current.is_admin):
        return user.email
    return None


async def profile(ctx: Context, user: UserRecord) -> ProfileRecord:
    return await ctx.loaders.profile_by_user_id.load(user.id)


async def profiles(ctx: Context, users: list[UserRecord]) -> list[ProfileRecord | BaseException]:
    return await ctx.loaders.profile_by_user_id.load_each([user.id for user in users])
