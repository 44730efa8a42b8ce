"""The updateProfile mutation."""

from __future__ import annotations

import strawberry

import resolvers.profiles
from schema.payloads import UserError, payload
from schema.users import Profile


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
    async def update_profile(
        self, info: strawberry.Info, input: UpdateProfileInput
    ) -> ProfilePayload:
        outcome = await resolvers.profiles.update(
            info.context,
            bio=input.bio,
            avatar_url=input.avatar_url,
            location=input.location,
            links=input.links,
        )
        return payload(ProfilePayload, outcome, profile=Profile.from_record)
