"""Registration, login, refresh-token rotation and logout."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from auth.passwords import hash_password, verify_password
from auth.tokens import hash_refresh_token, issue_access_token, new_refresh_token
from datasources.relational.records import UserRecord
from datasources.relational.refresh_tokens import Rotation, RotationOutcome
from datasources.relational.users import DuplicateUser
from logs import get_logger
from resolvers.context import Context, forget_session
from resolvers.errors import FieldError, Outcome, RateLimited, Unauthenticated, UserErrorCode
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

# login, register and refreshToken are limited per window of this length, per client
# address (settings.auth_rate_limit_per_address, for each operation separately) and
# per account (settings.auth_rate_limit_per_account).
AUTH_RATE_LIMIT_WINDOW_SECONDS = 15 * 60

REFUSALS = {
    RotationOutcome.UNKNOWN: "invalid refresh token",
    RotationOutcome.EXPIRED: "refresh token expired; log in again",
    RotationOutcome.REVOKED: "refresh token revoked; log in again",
    RotationOutcome.REUSED: "refresh token already used; this session has been revoked for "
    "safety, log in again",
}


@dataclass(frozen=True)
class SignIn:
    """A signed-in session: the user, a short-lived access token and its refresh token."""

    user: UserRecord
    access_token: str
    refresh_token: str
    expires_at: datetime


def _one_costly_call(ctx: Context) -> None:
    """Password hashing is deliberately slow: one register/login/refresh per operation,
    so aliases cannot multiply it."""
    calls = ctx.extras.get("costly_auth_calls", 0) + 1
    ctx.extras["costly_auth_calls"] = calls
    if calls > 1:
        raise RateLimited("one register, login or refreshToken per operation")


def _client_address(ctx: Context) -> str:
    """The address the limits key on: the one the web layer resolved (trusted proxies),
    else the connection's peer; '' when there is neither (a context outside a request)."""
    if ctx.client_address:
        return ctx.client_address
    client = getattr(ctx.request, "client", None)
    return getattr(client, "host", None) or ""


def _account_key(operation: str, kind: str, value: str) -> str:
    # Hashed: rate-limit keys (in Redis) carry no handles or emails, and are short
    # whatever the client sent.
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"auth:{operation}:{kind}:{digest}"


async def _limit(ctx: Context, key: str, limit: int, message: str) -> None:
    """Counts one attempt against `key`; RateLimited (with retryAfter) once over `limit`."""
    window = await ctx.stores.limits.hit(key, limit, AUTH_RATE_LIMIT_WINDOW_SECONDS)
    if not window.allowed:
        log.warning("auth rate limit reached", limit=":".join(key.split(":", 3)[:3]))
        raise RateLimited(
            f"{message}; try again in {window.retry_after} seconds",
            retryAfter=window.retry_after,
        )


async def _limit_address(ctx: Context, operation: str) -> str | None:
    """Counts the attempt against the client's address; returns the key (None if none)."""
    address = _client_address(ctx)
    if not address:
        return None
    key = f"auth:{operation}:address:{address}"
    await _limit(
        ctx,
        key,
        ctx.settings.auth_rate_limit_per_address,
        f"too many {operation} attempts from this address",
    )
    return key


def _handle_errors(handle: str) -> FieldError | None:
    return check_handle(handle, ("input", "handle"))


async def register(
    ctx: Context, *, handle: str, email: str, password: str, display_name: str
) -> Outcome[SignIn]:
    """Every attempt, valid or not, counts against the client's address and against the
    (normalised) handle and email it asks for; the limits are checked before any
    lookup or hashing. Per handle and email, so nobody probes one address or handle
    over and over (HANDLE_TAKEN / EMAIL_TAKEN answers tell whether it is registered)."""
    _one_costly_call(ctx)
    await _limit_address(ctx, "register")
    handle = normalise_handle(handle)
    display_name = normalise_display_name(display_name)
    canonical_email = normalise_email(email)
    per_account = ctx.settings.auth_rate_limit_per_account
    message = "too many registration attempts for this handle or email"
    await _limit(ctx, _account_key("register", "handle", handle), per_account, message)
    if canonical_email:
        await _limit(ctx, _account_key("register", "email", canonical_email), per_account, message)
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
        return Outcome(errors=errors)
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
        return Outcome(errors=errors)
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


async def login(ctx: Context, *, handle_or_email: str, password: str) -> Outcome[SignIn]:
    """Rate limits, both checked before the password is hashed:

    - per client address: every attempt counts, successful or not (each one costs a
      password hash), so spraying passwords across many accounts stops;
    - per account: failed attempts count. A successful login gives its own point back
      but does not reset earlier failures, so a user signing in now and then does not
      hand a guesser a fresh allowance. Once the limit is reached even the right
      password is refused until the window ends: that is what stops brute force.
      The account is the user (by handle and by email alike) when one matches, else
      the normalised name, so an unknown name is limited the same way and the limits
      do not reveal which names exist.
    """
    _one_costly_call(ctx)
    await _limit_address(ctx, "login")
    found = await ctx.stores.relational.users.credentials(handle_or_email)
    account = f"user:{found[0].id}" if found else f"name:{handle_or_email.strip().lower()}"
    account_key = _account_key("login", "account", account)
    await _limit(
        ctx,
        account_key,
        ctx.settings.auth_rate_limit_per_account,
        "too many failed sign-in attempts for this account",
    )
    # Verify even when there is no such user, so timing does not reveal which.
    valid = await verify_password(found[1] if found else None, password)
    if found is None or not valid:
        return Outcome.refused(
            UserErrorCode.INVALID_CREDENTIALS, "Incorrect handle/email or password."
        )
    await ctx.stores.limits.refund(account_key, 1)
    log.info("user logged in", user_id=found[0].id)
    return await _sign_in(ctx, found[0])


async def refresh(ctx: Context, refresh_token: str) -> Outcome[SignIn]:
    """Limited per client address only (a refresh token is 256 random bits: there is no
    account to guess at). A successful refresh gives its point back, so clients
    behind one address that refresh as they should are never stopped; refused
    (unknown, expired, revoked, reused) tokens use the allowance up."""
    _one_costly_call(ctx)
    address_key = await _limit_address(ctx, "refreshToken")
    if not 0 < len(refresh_token) <= MAX_REFRESH_TOKEN_LENGTH:
        raise Unauthenticated(REFUSALS[RotationOutcome.UNKNOWN])
    new_token = new_refresh_token()
    rotation = await ctx.stores.relational.refresh_tokens.rotate(
        hash_refresh_token(refresh_token), hash_refresh_token(new_token), _refresh_expiry(ctx)
    )
    if rotation.outcome is not RotationOutcome.ROTATED or rotation.user is None:
        if rotation.outcome is RotationOutcome.REUSED:
            log.warning("refresh token reuse detected; family revoked")
            _forget(ctx, rotation)
        raise Unauthenticated(REFUSALS[rotation.outcome], reason=rotation.outcome.name)
    if address_key is not None:
        await ctx.stores.limits.refund(address_key, 1)
    user = rotation.user
    access = issue_access_token(
        ctx.settings.jwt_key(),
        user.id,
        user.role,
        ctx.settings.access_token_ttl_seconds,
        session_id=rotation.family_id,
    )
    return Outcome(SignIn(user, access.token, new_token, access.expires_at))


async def logout(ctx: Context, refresh_token: str) -> bool:
    """Revokes the session the token belongs to, and with it the session's access
    tokens (at once in this process, within the token-check TTL in the others);
    logging out twice is not an error."""
    if not 0 < len(refresh_token) <= MAX_REFRESH_TOKEN_LENGTH:
        raise Unauthenticated(REFUSALS[RotationOutcome.UNKNOWN])
    revocation = await ctx.stores.relational.refresh_tokens.revoke(
        hash_refresh_token(refresh_token)
    )
    if revocation.outcome is RotationOutcome.UNKNOWN:
        raise Unauthenticated(REFUSALS[revocation.outcome])
    _forget(ctx, revocation)
    return True


def _forget(ctx: Context, ended: Rotation) -> None:
    if ended.user_id is not None and ended.family_id is not None:
        forget_session(ctx.stores, ended.user_id, ended.family_id)


def _refresh_expiry(ctx: Context) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=ctx.settings.refresh_token_ttl_seconds)


async def _sign_in(ctx: Context, user: UserRecord) -> Outcome[SignIn]:
    refresh_token = new_refresh_token()
    session_id = await ctx.stores.relational.refresh_tokens.start_family(
        user.id, hash_refresh_token(refresh_token), _refresh_expiry(ctx)
    )
    # SQLite reuses the ids of deleted rows: nothing remembered of an earlier user or
    # session with these ids may apply to this one.
    forget_session(ctx.stores, user.id, session_id)
    forget_session(ctx.stores, user.id, None)
    access = issue_access_token(
        ctx.settings.jwt_key(),
        user.id,
        user.role,
        ctx.settings.access_token_ttl_seconds,
        session_id=session_id,
    )
    return Outcome(SignIn(user, access.token, refresh_token, access.expires_at))
