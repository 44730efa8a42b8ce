"""The react/unreact mutations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

import resolvers.reactions
from datasources.relational.posts import PostRecord
from resolvers.context import Context
from resolvers.errors import Outcome
from schema.global_ids import int_key
from schema.info import Info
from schema.payloads import UserError, payload
from schema.posts import Post, ReactionKind


@strawberry.type
class ReactionPayload:
    post: Post | None
    errors: list[UserError]


@strawberry.type
class ReactionMutations:
    @strawberry.mutation(description="React to a published post; once per kind.")
    async def react(
        self, info: Info, post_id: strawberry.ID, kind: ReactionKind
    ) -> ReactionPayload:
        return await _changed(resolvers.reactions.react, info, post_id, kind)

    @strawberry.mutation(description="Take a reaction back.")
    async def unreact(
        self, info: Info, post_id: strawberry.ID, kind: ReactionKind
    ) -> ReactionPayload:
        return await _changed(resolvers.reactions.unreact, info, post_id, kind)


async def _changed(
    change: Callable[[Context, int, ReactionKind], Awaitable[Outcome[PostRecord]]],
    info: Info,
    post_id: strawberry.ID,
    kind: ReactionKind,
) -> ReactionPayload:
    outcome = await change(info.context, int_key(post_id, "Post"), kind)
    return payload(ReactionPayload, outcome, post=Post.from_record)
