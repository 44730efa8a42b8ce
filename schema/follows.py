"""The follow/unfollow mutations."""

from __future__ import annotations

import strawberry

import resolvers.follows
from schema.global_ids import int_key
from schema.info import Info
from schema.payloads import UserError, payload
from schema.users import User


@strawberry.type
class FollowPayload:
    user: User | None = strawberry.field(description="The user followed or unfollowed.")
    errors: list[UserError]


@strawberry.type
class FollowMutations:
    @strawberry.mutation
    async def follow(self, info: Info, user_id: strawberry.ID) -> FollowPayload:
        outcome = await resolvers.follows.follow(info.context, int_key(user_id, "User"))
        return payload(FollowPayload, outcome, user=User.from_record)

    @strawberry.mutation
    async def unfollow(self, info: Info, user_id: strawberry.ID) -> FollowPayload:
        outcome = await resolvers.follows.unfollow(info.context, int_key(user_id, "User"))
        return payload(FollowPayload, outcome, user=User.from_record)
