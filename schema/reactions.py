"""Reaction kinds, counts and the react/unreact mutations."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import reactions as rules
from resolvers.reactions import ReactionResult
from schema.errors import UserError, user_errors
from schema.global_ids import int_key

if TYPE_CHECKING:
    from schema.posts import Post

PostType = Annotated["Post", strawberry.lazy("schema.posts")]


@strawberry.enum
class ReactionKind(enum.Enum):
    LIKE = "LIKE"
    LOVE = "LOVE"
    INSIGHTFUL = "INSIGHTFUL"
    FUNNY = "FUNNY"


@strawberry.type
class ReactionCount:
    kind: ReactionKind
    count: int


@strawberry.type
class ReactionPayload:
    post: PostType | None
    errors: list[UserError]

    @classmethod
    def from_result(cls, result: ReactionResult) -> ReactionPayload:
        from schema.posts import post_or_none

        return cls(post=post_or_none(result.post), errors=user_errors(result.errors))


@strawberry.type
class ReactionMutations:
    @strawberry.mutation(description="React to a published post; once per kind.")
    async def react(
        self, info: strawberry.Info, post_id: strawberry.ID, kind: ReactionKind
    ) -> ReactionPayload:
        result = await rules.react(info.context, int_key(post_id, "Post"), kind.value)
        return ReactionPayload.from_result(result)

    @strawberry.mutation(description="Take a reaction back.")
    async def unreact(
        self, info: strawberry.Info, post_id: strawberry.ID, kind: ReactionKind
    ) -> ReactionPayload:
        result = await rules.unreact(info.context, int_key(post_id, "Post"), kind.value)
        return ReactionPayload.from_result(result)
