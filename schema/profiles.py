"""The updateProfile mutation."""

from __future__ import annotations

import strawberry

import resolvers.profiles
from schema.info import Info
from schema.payloads import UserError, payload
from schema.users import Profile


# The fields are `resolvers.profiles.update`'s keyword arguments (passed as `**vars(input)`).
@strawberry.input
class UpdateProfileInput:
    bio: str | None = None
    avatar_url: str | None = strawberry.field(default=None, description='"" clears it.')
    location: str | None = strawberry.field(default=None, description='"" clears it.')
    links: list[str] | None = None


@strawberry.type
class ProfilePayload:
    profile: Profile | None
    errors: list[UserError]


@strawberry.type
class ProfileMutations:
    @strawberry.mutation(description="Change the signed-in user's profile; omitted fields stay.")
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> ProfilePayload:
        outcome = await resolvers.profiles.update(info.context, **vars(input))
        return payload(ProfilePayload, outcome, profile=Profile.from_record)
