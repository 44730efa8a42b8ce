"""The root Query type."""

from __future__ import annotations

import asyncio

import strawberry

import resolvers.notifications
import resolvers.posts
import resolvers.users
from resolvers.errors import BadUserInput
from resolvers.visibility import visible_comment, visible_notification, visible_post
from schema.comments import Comment
from schema.connections import Connection, connection
from schema.global_ids import DIGITS, DOCUMENT_ID, from_global_id, int_key
from schema.info import Info
from schema.lookahead import selects
from schema.node import Node
from schema.notifications import Notification
from schema.posts import Post, post_or_none
from schema.rate_limit import RateLimit, rate_limit
from schema.users import User, user_or_none

MAX_NODES = 100


async def _resolve_node(info: Info, global_id: str) -> Node | None:
    """Any node the viewer may see; null for what is absent or hidden (no leak of drafts)."""
    type_name, key = from_global_id(global_id)
    ctx = info.context
    if type_name in {"User", "Post"}:
        if not DIGITS.fullmatch(key):
            return None
        if type_name == "User":
            return user_or_none(await resolvers.users.by_id(ctx, int(key)))
        return post_or_none(await visible_post(ctx, int(key)))
    if not DOCUMENT_ID.fullmatch(key):
        return None
    if type_name == "Comment":
        comment = await visible_comment(ctx, key)
        return Comment.from_record(comment) if comment else None
    if type_name == "Notification":
        note = await visible_notification(ctx, key)
        return Notification.from_record(note) if note else None
    return None


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global ID; null when absent or not visible.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await _resolve_node(info, id)

    @strawberry.field(description="Objects by global ID, in order; null where absent or hidden.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"at most {MAX_NODES} ids per request", argument="ids")
        return list(await asyncio.gather(*(_resolve_node(info, i) for i in ids)))

    rate_limit: RateLimit = strawberry.field(
        resolver=rate_limit,
        description="The client's cost budget: cost, limit, remaining, resetAt. Costs nothing.",
    )

    @strawberry.field(description="The signed-in user; null when anonymous.")
    async def viewer(self, info: Info) -> User | None:
        return user_or_none(await resolvers.users.viewer(info.context))

    @strawberry.field(description="A user by handle (case-insensitive).")
    async def user(self, info: Info, handle: str) -> User | None:
        return user_or_none(await resolvers.users.by_handle(info.context, handle))

    @strawberry.field(description="Users by handle, optionally matching `search`.")
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[User]:
        listing = await resolvers.users.search(info.context, first, after, search)
        return connection(listing, User.from_record)

    @strawberry.field(description="A post by ID; null when absent or a draft of someone else.")
    async def post(self, info: Info, id: strawberry.ID) -> Post | None:
        return post_or_none(await visible_post(info.context, int_key(id, "Post")))

    @strawberry.field(description="Published posts, newest first.")
    async def posts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        author_id: strawberry.ID | None = None,
        tag: str | None = None,
        search: str | None = None,
    ) -> Connection[Post]:
        listing = await resolvers.posts.list_published(
            info.context,
            first,
            after,
            author_id=int_key(author_id, "User") if author_id is not None else None,
            tag=tag,
            search=search,
            with_authors=selects(info, "edges", "node", "author"),
        )
        return connection(listing, Post.from_record)

    @strawberry.field(description="Published posts of the people the viewer follows, newest first.")
    async def feed(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Post]:
        listing = await resolvers.posts.feed(
            info.context, first, after, with_authors=selects(info, "edges", "node", "author")
        )
        return connection(listing, Post.from_record)

    @strawberry.field(description="The viewer's notifications, newest first.")
    async def notifications(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        unread_only: bool = False,
    ) -> Connection[Notification]:
        listing = await resolvers.notifications.list_own(info.context, first, after, unread_only)
        return connection(listing, Notification.from_record)
