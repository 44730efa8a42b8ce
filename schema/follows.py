"""The follow/unfollow mutations."""

from __future__ import annotations

import strawberry

from resolvers import follows as rules
from resolvers.follows import FollowResult
from schema.errors import UserError, user_errors
from schema.global_ids import int_key
from schema.users import User, user_or_none


@strawberry.type
class FollowPayload:
    user: User | None = strawberry.field(description="The user followed or unfollowed.")
    errors: list[UserError]

    @classmethod
    def from_result(cls, result: FollowResult) -> FollowPayload:
        return cls(user=user_or_none(result.user), errors=user_errors(result.errors))


@strawberry.type
class FollowMutations:
    @strawberry.mutation
    async def follow(self, info: strawberry.Info, user_id: strawberry.ID) -> FollowPayload:
        return FollowPayload.from_result(await rules.follow(info.context, int_key(user_id, "User")))

    @strawberry.mutation
    async def unfollow(self, info: strawberry.Info, user_id: strawberry.ID) -> FollowPayload:
        result = await rules.unfollow(info.context, int_key(user_id, "User"))
        return FollowPayload.from_result(result)
