"""Registration, login, refresh-token rotation and logout."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from auth.passwords import hash_password, verify_password
from auth.tokens import hash_refresh_token, issue_access_token, new_refresh_token
from datasources.relational.records import UserRecord
from datasources.relational.refresh_tokens import RotationOutcome
from datasources.relational.users import DuplicateUser
from logs import get_logger
from resolvers.context import Context
from resolvers.errors import FieldError, RateLimited, Unauthenticated, UserErrorCode
from resolvers.validation import (
    check_display_name,
    check_handle,
    check_password,
    normalise_display_name,
    normalise_email,
    normalise_handle,
)

log = get_logger(__name__)

# Longer strings cannot be refresh tokens we issued; refuse before hashing them.
MAX_REFRESH_TOKEN_LENGTH = 256

REFUSALS = {
    RotationOutcome.UNKNOWN: "invalid refresh token",
    RotationOutcome.EXPIRED: "refresh token expired; log in again",
    RotationOutcome.REVOKED: "refresh token revoked; log in again",
    RotationOutcome.REUSED: "refresh token already used; this session has been revoked for "
    "safety, log in again",
}


@dataclass
class AuthResult:
    user: UserRecord | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    expires_at: datetime | None = None
    errors: list[FieldError] = field(default_factory=list)


def _one_costly_call(ctx: Context) -> None:
    """Password hashing is deliberately slow: one register/login/refresh per operation,
    so aliases cannot multiply it."""
    calls = ctx.extras.get("costly_auth_calls", 0) + 1
    ctx.extras["costly_auth_calls"] = calls
    if calls > 1:
        raise RateLimited("one register, login or refreshToken per operation")


def _handle_errors(handle: str) -> FieldError | None:
    return check_handle(handle, ("input", "handle"))


async def register(
    ctx: Context, *, handle: str, email: str, password: str, display_name: str
) -> AuthResult:
    _one_costly_call(ctx)
    handle = normalise_handle(handle)
    display_name = normalise_display_name(display_name)
    canonical_email = normalise_email(email)
    errors = [
        e
        for e in (
            _handle_errors(handle),
            None
            if canonical_email
            else FieldError(
                UserErrorCode.INVALID_EMAIL, "Email is not a valid address.", ("input", "email")
            ),
            check_password(password, ("input", "password")),
            check_display_name(display_name, ("input", "displayName")),
        )
        if e is not None
    ]
    if canonical_email and not errors:
        handle_taken, email_taken = await ctx.stores.relational.users.taken(handle, canonical_email)
        errors += _taken_errors(handle_taken, email_taken)
    if errors:
        return AuthResult(errors=errors)
    assert canonical_email is not None
    try:
        user = await ctx.stores.relational.users.create(
            handle=handle,
            email=canonical_email,
            display_name=display_name,
            password_hash=await hash_password(password),
        )
    except DuplicateUser as duplicate:
        errors = _taken_errors(duplicate.handle_taken, duplicate.email_taken)
        if not errors:
            raise  # a constraint other than handle/email: a fault, not the client's
        return AuthResult(errors=errors)
    log.info("user registered", user_id=user.id)
    return await _sign_in(ctx, user)


def _taken_errors(handle_taken: bool, email_taken: bool) -> list[FieldError]:
    errors = []
    if handle_taken:
        errors.append(
            FieldError(UserErrorCode.HANDLE_TAKEN, "Handle is already taken.", ("input", "handle"))
        )
    if email_taken:
        errors.append(
            FieldError(
                UserErrorCode.EMAIL_TAKEN, "Email is already registered.", ("input", "email")
            )
        )
    return errors


async def login(ctx: Context, *, handle_or_email: str, password: str) -> AuthResult:
    _one_costly_call(ctx)
    found = await ctx.stores.relational.users.credentials(handle_or_email)
    # Verify even when there is no such user, so timing does not reveal which.
    valid = await verify_password(found[1] if found else None, password)
    if found is None or not valid:
        return AuthResult(
            errors=[
                FieldError(
                    UserErrorCode.INVALID_CREDENTIALS,
                    "Incorrect handle/email or password.",
                    None,
                )
            ]
        )
    log.info("user logged in", user_id=found[0].id)
    return await _sign_in(ctx, found[0])


async def refresh(ctx: Context, refresh_token: str) -> AuthResult:
    _one_costly_call(ctx)
    if not 0 < len(refresh_token) <= MAX_REFRESH_TOKEN_LENGTH:
        raise Unauthenticated(REFUSALS[RotationOutcome.UNKNOWN])
    new_token = new_refresh_token()
    rotation = await ctx.stores.relational.refresh_tokens.rotate(
        hash_refresh_token(refresh_token), hash_refresh_token(new_token), _refresh_expiry(ctx)
    )
    if rotation.outcome is not RotationOutcome.ROTATED or rotation.user is None:
        if rotation.outcome is RotationOutcome.REUSED:
            log.warning("refresh token reuse detected; family revoked")
        raise Unauthenticated(REFUSALS[rotation.outcome], reason=rotation.outcome.name)
    user = rotation.user
    access = issue_access_token(
        ctx.settings.jwt_key(), user.id, user.role, ctx.settings.access_token_ttl_seconds
    )
    return AuthResult(user, access.token, new_token, access.expires_at)


async def logout(ctx: Context, refresh_token: str) -> bool:
    """Revokes the session the token belongs to; logging out twice is not an error."""
    if not 0 < len(refresh_token) <= MAX_REFRESH_TOKEN_LENGTH:
        raise Unauthenticated(REFUSALS[RotationOutcome.UNKNOWN])
    outcome = await ctx.stores.relational.refresh_tokens.revoke(hash_refresh_token(refresh_token))
    if outcome is RotationOutcome.UNKNOWN:
        raise Unauthenticated(REFUSALS[outcome])
    return True


def _refresh_expiry(ctx: Context) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=ctx.settings.refresh_token_ttl_seconds)


async def _sign_in(ctx: Context, user: UserRecord) -> AuthResult:
    refresh_token = new_refresh_token()
    await ctx.stores.relational.refresh_tokens.start_family(
        user.id, hash_refresh_token(refresh_token), _refresh_expiry(ctx)
    )
    access = issue_access_token(
        ctx.settings.jwt_key(), user.id, user.role, ctx.settings.access_token_ttl_seconds
    )
    return AuthResult(user, access.token, refresh_token, access.expires_at)
