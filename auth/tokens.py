"""Access tokens (short-lived JWTs) and refresh tokens (opaque, stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "agora"
ACCESS_TYPE = "access"
# Small clock skew between processes must not reject a fresh token.
LEEWAY_SECONDS = 5


class InvalidAccessToken(Exception):
    """The token is missing, malformed, forged or expired; the message says which."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    # The role when the token was issued; the server uses the user's current role.
    role: str
    expires_at: datetime
    issued_at: datetime
    # The refresh-token family (the session) the token was issued for: claim `sid`.
    # None only for tokens minted without one (before sessions were checked, or by tools).
    session_id: int | None = None


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_at: datetime


def issue_access_token(
    key: str,
    user_id: int,
    role: str,
    ttl_seconds: int,
    now: datetime | None = None,
    *,
    session_id: int | None = None,
) -> IssuedAccessToken:
    """A signed access token; `session_id` (claim `sid`) is the refresh-token family it
    belongs to, so ending that session (logout, reuse detection) ends the token too."""
    issued_at = now or datetime.now(UTC)
    expires_at = issued_at + timedelta(seconds=ttl_seconds)
    claims: dict[str, object] = {
        "sub": str(user_id),
        "role": role,
        "typ": ACCESS_TYPE,
        "iss": ISSUER,
        "iat": issued_at,
        "exp": expires_at,
        "jti": secrets.token_hex(8),
    }
    if session_id is not None:
        claims["sid"] = session_id
    return IssuedAccessToken(jwt.encode(claims, key, algorithm=ALGORITHM), expires_at)


def decode_access_token(key: str, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidAccessToken("access token expired") from None
    except jwt.PyJWTError:
        raise InvalidAccessToken("invalid access token") from None
    subject, role, session = claims.get("sub"), claims.get("role"), claims.get("sid")
    if claims.get("typ") != ACCESS_TYPE or not isinstance(role, str):
        raise InvalidAccessToken("invalid access token")
    if not isinstance(subject, str) or not subject.isdigit():
        raise InvalidAccessToken("invalid access token")
    if session is not None and (type(session) is not int or session <= 0):
        raise InvalidAccessToken("invalid access token")
    return AccessClaims(
        int(subject),
        role,
        datetime.fromtimestamp(claims["exp"], UTC),
        datetime.fromtimestamp(claims["iat"], UTC),
        session,
    )


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header; '' when the header is malformed."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    return token.strip()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    # Refresh tokens carry 256 random bits, so a fast hash is enough to keep a
    # database leak from yielding usable tokens.
    return hashlib.sha256(token.encode()).hexdigest()
