"""Account mutations: register, login, refreshToken, logout."""

from __future__ import annotations

from datetime import datetime

import strawberry

import resolvers.accounts
from resolvers.accounts import SignIn
from resolvers.errors import Outcome
from schema.info import Info
from schema.payloads import UserError, payload
from schema.users import User


# The fields are `resolvers.accounts.register`'s keyword arguments (passed as `**vars(input)`).
@strawberry.input
class RegisterInput:
    handle: str = strawberry.field(description="3 to 30 characters of a-z, 0-9 and _.")
    email: str
    password: str = strawberry.field(description="At least 10 characters.")
    display_name: str = strawberry.field(description="1 to 80 characters.")


# The fields are `resolvers.accounts.login`'s keyword arguments (passed as `**vars(input)`).
@strawberry.input
class LoginInput:
    handle_or_email: str
    password: str


@strawberry.type(
    description="The result of signing in; tokens are null when `errors` is not empty."
)
class AuthPayload:
    user: User | None
    access_token: str | None = strawberry.field(
        description="Send as `Authorization: Bearer <accessToken>`; short-lived."
    )
    refresh_token: str | None = strawberry.field(
        description="Exchange with `refreshToken` for new tokens; each one works once."
    )
    expires_at: datetime | None = strawberry.field(description="When the access token expires.")
    errors: list[UserError]


def _auth_payload(outcome: Outcome[SignIn]) -> AuthPayload:
    return payload(
        AuthPayload,
        outcome,
        user=lambda signed_in: User.from_record(signed_in.user),
        access_token=lambda signed_in: signed_in.access_token,
        refresh_token=lambda signed_in: signed_in.refresh_token,
        expires_at=lambda signed_in: signed_in.expires_at,
    )


@strawberry.type
class LogoutPayload:
    success: bool
    errors: list[UserError]


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Create an account and sign in.")
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        outcome = await resolvers.accounts.register(info.context, **vars(input))
        return _auth_payload(outcome)

    @strawberry.mutation(description="Sign in with a handle or email and a password.")
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        outcome = await resolvers.accounts.login(info.context, **vars(input))
        return _auth_payload(outcome)

    @strawberry.mutation(
        description="Exchange a refresh token for a new access token and refresh token. "
        "Presenting an already-used refresh token revokes its whole session."
    )
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthPayload:
        return _auth_payload(await resolvers.accounts.refresh(info.context, refresh_token))

    @strawberry.mutation(description="End the session that the refresh token belongs to.")
    async def logout(self, info: Info, refresh_token: str) -> LogoutPayload:
        success = await resolvers.accounts.logout(info.context, refresh_token)
        return LogoutPayload(success=success, errors=[])
