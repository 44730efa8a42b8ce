"""The react/unreact mutations."""

from __future__ import annotations

import strawberry

import resolvers.reactions
from schema.global_ids import int_key
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
        self, info: strawberry.Info, post_id: strawberry.ID, kind: ReactionKind
    ) -> ReactionPayload:
        outcome = await resolvers.reactions.react(info.context, int_key(post_id, "Post"), kind)
        return payload(ReactionPayload, outcome, post=Post.from_record)

    @strawberry.mutation(description="Take a reaction back.")
    async def unreact(
        self, info: strawberry.Info, post_id: strawberry.ID, kind: ReactionKind
    ) -> ReactionPayload:
        outcome = await resolvers.reactions.unreact(info.context, int_key(post_id, "Post"), kind)
        return payload(ReactionPayload, outcome, post=Post.from_record)
