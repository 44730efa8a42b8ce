"""The per-request context every resolver receives as `info.context`."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from auth.tokens import (
    LEEWAY_SECONDS,
    AccessClaims,
    InvalidAccessToken,
    bearer_token,
    decode_access_token,
)
from datasources.relational.refresh_tokens import SessionState
from datasources.stores import Datastores
from domain import STAFF_ROLES, Role
from loaders import Loaders, build_loaders
from resolvers.errors import Unauthenticated
from settings import Settings

# A subscription resolves each event with loaders of its own. A WebSocket
# connection shares one Context between its operations, and each operation runs
# in its own task, so the per-event loaders live in a context variable.
_event_loaders: ContextVar[Loaders | _Later | None] = ContextVar("event_loaders", default=None)


class _Later:
    """One operation's loaders, built when first used: a subscription reads each event
    through that event's loaders and may never use its own."""

    __slots__ = ("loaders",)

    def __init__(self) -> None:
        self.loaders: Loaders | None = None


# Every local subscriber of one event shares that event's loaders: the data is
# loaded once per event, not once per subscriber (authorization stays per
# subscriber; viewer-specific loaders are keyed by viewer). Recent events only.
SHARED_EVENT_LOADERS = 256
_shared: OrderedDict[tuple[int, str, str], Loaders] = OrderedDict()

# A signed access token is checked against reality too: its user must still exist
# and its session (refresh-token family, claim `sid`) must not have ended, and the
# user's current role applies rather than the one in the token. The answer is kept
# per process for TOKEN_CHECK_TTL_SECONDS, so a token used again and again costs one
# SQL statement per that interval, not one per request; a logout, a deleted user or
# a role change made elsewhere (another process, `agora set-role`) takes effect
# within it. A logout in this process takes effect at once (`forget_session`).
# Read at call time, so tests may shorten it.
TOKEN_CHECK_TTL_SECONDS = 5.0
# Most recently used entries kept (LRU); about 200 bytes each.
TOKEN_CHECK_CACHE_SIZE = 10_000
GONE_USER = "access token's user no longer exists"
SESSION_ENDED = "session ended; log in again"

_TokenKey = tuple[int, int, int | None]  # (the relational store, user id, session id)
_token_checks: OrderedDict[_TokenKey, tuple[float, SessionState]] = OrderedDict()
# Bumped by every `forget_session`: a lookup that a forget overtook is not cached, or
# a session ended while its check was under way would be remembered as active.
_forgets = 0


def _token_key(stores: Datastores, user_id: int, session_id: int | None) -> _TokenKey:
    # Keyed by store too: tests run several apps (databases) in one process.
    return (id(stores.relational), user_id, session_id)


async def _session_state(stores: Datastores, claims: AccessClaims) -> SessionState:
    key = _token_key(stores, claims.user_id, claims.session_id)
    now = time.monotonic()
    cached = _token_checks.get(key)
    if cached is not None and now - cached[0] < TOKEN_CHECK_TTL_SECONDS:
        _token_checks.move_to_end(key)
        return cached[1]
    forgets = _forgets
    state = await stores.relational.refresh_tokens.session_state(claims.user_id, claims.session_id)
    if forgets == _forgets:
        _token_checks[key] = (now, state)
        _token_checks.move_to_end(key)
        while len(_token_checks) > TOKEN_CHECK_CACHE_SIZE:
            _token_checks.popitem(last=False)
    return state


def forget_session(stores: Datastores, user_id: int, session_id: int | None) -> None:
    """Drops what this process remembers of a session that was just ended, so its
    access tokens are refused at once here (other processes: within the TTL)."""
    global _forgets
    _forgets += 1
    _token_checks.pop(_token_key(stores, user_id, session_id), None)


def _refusal(claims: AccessClaims, state: SessionState) -> str | None:
    """Why a validly signed token is refused now, or None when it is accepted."""
    # Ids can be reused (SQLite reuses the largest rowid once its row is deleted), so a
    # user or session created after the token was issued is not the token's.
    issued = claims.issued_at + timedelta(seconds=LEEWAY_SECONDS)
    if state.role is None:
        return GONE_USER
    if claims.session_id is None:
        # Minted without a session: the user's existence and role are all there is.
        if state.user_created_at is not None and state.user_created_at > issued:
            return GONE_USER
        return None
    if (
        state.session_started_at is None
        or state.session_revoked
        or state.session_started_at > issued
    ):
        return SESSION_ENDED
    return None


@dataclass(frozen=True)
class Viewer:
    user_id: int
    role: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


@dataclass
class Context:
    settings: Settings
    stores: Datastores
    request_id: str
    viewer: Viewer | None = None
    # When the access token stops being valid (WebSocket connections outlive it).
    viewer_expires_at: datetime | None = None
    # Why the presented credentials were refused; raised only by fields that need them.
    auth_error: str | None = None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    # The client's address (X-Forwarded-For only from a trusted proxy): rate limits key on it.
    client_address: str = ""
    # The accepted token's claims, to check its session again later (WebSocket).
    claims: AccessClaims | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # Set when this context runs one subscription for many subscribers (web.cohorts):
    # how many there are now.
    audience: Callable[[], int] | None = None
    # Built on first use: many requests (`{ __typename }`, a login) need none.
    _request_loaders: Loaders | None = field(default=None, repr=False)

    @property
    def loaders(self) -> Loaders:
        loaders = _event_loaders.get()
        if isinstance(loaders, _Later):
            if loaders.loaders is None:
                loaders.loaders = build_loaders(self.stores)
            return loaders.loaders
        if loaders is not None:
            return loaders
        if self._request_loaders is None:
            self._request_loaders = build_loaders(self.stores)
        return self._request_loaders

    def fresh_loaders(self) -> None:
        """New loaders (built on first use) for the current task only (one operation)."""
        _event_loaders.set(_Later())

    def event_loaders(self, topic: str, cursor: str) -> Loaders:
        """The loaders of one event, for the current task, shared by its subscribers."""
        key = (id(self.stores), topic, cursor)
        loaders = _shared.get(key)
        if loaders is None:
            loaders = _shared[key] = build_loaders(self.stores)
            while len(_shared) > SHARED_EVENT_LOADERS:
                _shared.popitem(last=False)
        _event_loaders.set(loaders)
        return loaders

    async def authenticate(self, authorization: str | None) -> None:
        """Sets `viewer` (or `auth_error`) from an `Authorization` header value.

        A validly signed token is refused when its user no longer exists or its session
        has ended; the viewer gets the user's current role, not the token's. Both are
        checked through a per-process cache (TOKEN_CHECK_TTL_SECONDS)."""
        self.viewer, self.viewer_expires_at, self.auth_error = None, None, None
        self.claims = None
        token = bearer_token(authorization)
        if token is None:
            return
        if not token:
            self.auth_error = "malformed Authorization header (expected: Bearer <token>)"
            return
        try:
            claims = decode_access_token(self.settings.jwt_key(), token)
        except InvalidAccessToken as error:
            self.auth_error = str(error)
            return
        # One SQL statement per user session per TOKEN_CHECK_TTL_SECONDS, at most.
        state = await _session_state(self.stores, claims)
        refusal = _refusal(claims, state)
        if refusal is not None:
            self.auth_error = refusal
            return
        assert state.role is not None
        self.viewer = Viewer(claims.user_id, state.role)
        self.viewer_expires_at = claims.expires_at
        self.claims = claims

    async def recheck(self) -> None:
        """Checks the accepted token's session again (a WebSocket connection outlives
        logouts and role changes): the same cached check as `authenticate`."""
        claims = self.claims
        if claims is None or self.auth_error:
            return
        state = await _session_state(self.stores, claims)
        refusal = _refusal(claims, state)
        if refusal is not None:
            self.viewer, self.viewer_expires_at, self.auth_error = None, None, refusal
            self.claims = None
        elif state.role is not None and self.viewer is not None:
            self.viewer = Viewer(claims.user_id, state.role)

    def _check_expiry(self) -> None:
        # A WebSocket connection outlives its access token; from then on it is refused.
        if self.viewer_expires_at is not None and self.viewer_expires_at <= datetime.now(UTC):
            self.viewer, self.viewer_expires_at = None, None
            self.auth_error = "access token expired"

    # Three ways to ask who the viewer is; they differ only in what a refused token
    # (bad, expired, revoked) and anonymity do:
    #
    #                     anonymous          refused token
    #   lenient_viewer    None               None (reads as anonymous)
    #   strict_viewer     None               UNAUTHENTICATED
    #   require_viewer    UNAUTHENTICATED    UNAUTHENTICATED

    def lenient_viewer(self) -> Viewer | None:
        """For visibility and viewer-specific extras: a refused token reads as
        anonymous, so a public read never fails for a stale token."""
        self._check_expiry()
        return None if self.auth_error else self.viewer

    def strict_viewer(self) -> Viewer | None:
        """For `viewer`: None when anonymous, but a refused token is an error."""
        self._check_expiry()
        if self.auth_error:
            raise Unauthenticated(self.auth_error)
        return self.viewer

    def require_viewer(self) -> Viewer:
        """For writes and private reads: anonymity and refused tokens are errors."""
        viewer = self.strict_viewer()
        if viewer is None:
            raise Unauthenticated("authentication required")
        return viewer


def new_context(settings: Settings, stores: Datastores, request_id: str, **kwargs: Any) -> Context:
    return Context(settings, stores, request_id, **kwargs)
